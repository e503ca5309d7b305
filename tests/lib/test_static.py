"""Production's static storage (voxdash.lib.static): each file's URL worked out once a process."""

import json

import pytest

from voxdash.lib.static import StaticStorage


@pytest.fixture
def storage(tmp_path):
    # What collectstatic leaves: the hashed copy and the manifest naming it.
    (tmp_path / "voxdash").mkdir()
    (tmp_path / "voxdash" / "voxdash.0123456789ab.css").write_text("body {}")
    manifest = {
        "version": "1.1",
        "hash": "x",
        "paths": {"voxdash/voxdash.css": "voxdash/voxdash.0123456789ab.css"},
    }
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    return StaticStorage(location=str(tmp_path), base_url="/static/")


def test_a_url_is_the_manifest_s_and_looked_up_once(storage, monkeypatch):
    lookups = []
    stored_name = StaticStorage.stored_name
    monkeypatch.setattr(
        StaticStorage, "stored_name", lambda self, name: lookups.append(name) or stored_name(self, name)
    )
    urls = {storage.url("voxdash/voxdash.css") for _ in range(5)}
    assert urls == {"/static/voxdash/voxdash.0123456789ab.css"}
    assert lookups == ["voxdash/voxdash.css"]


def test_a_file_missing_from_the_manifest_still_raises_every_time(storage):
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("voxdash/nowhere.css")
