app_name = "dnc"
urlpatterns: list = [
    # /dnc/: voxdash.directory.views_dnc
]
