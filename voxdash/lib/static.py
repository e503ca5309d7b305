"""The static files' storage in production: whitenoise's, each file's URL worked out once a process.

Every page's header names about ten static files (the admin's and voxdash's CSS, the scripts, the
icon), and the manifest storage works each URL out anew: the manifest lookup, then quoting and
joining the URL, ~0.1 ms a page in all. The manifest cannot change under a running process
(collectstatic runs before it starts, and a new one means a restart), so a name's URL is the
same until then: kept in a dict. A name missing from the manifest still raises, every time.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:  # collectstatic's own post-processing: the hashes are being made
            return super().url(name, force)
        url = self._urls.get(name)
        if url is None:
            url = self._urls[name] = super().url(name)
        return url
