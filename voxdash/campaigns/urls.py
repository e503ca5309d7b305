app_name = "campaigns"
urlpatterns: list = [
    # list, new, detail, rows.csv: voxdash.campaigns.views
]
