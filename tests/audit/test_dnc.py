"""The do-not-call list: entries added and removed, one at a time; a file imported, as one entry."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from voxdash.audit.log import Action
from voxdash.directory.models import DoNotCallEntry

from .conftest import ADDRESS, entries, rows_of

ADD, REMOVE, IMPORT = reverse("dnc:add"), reverse("dnc:remove"), reverse("dnc:import")


@pytest.fixture
def caller_in(caller, vox_settings) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(caller)
    return client


def test_adding_is_recorded_once_and_a_refused_or_repeated_add_is_not(caller_in, auditor):
    assert (
        caller_in.post(ADD, {"phone": "0801 23", "reason": "typo"}).status_code == 200
    )  # refused on the form
    assert caller_in.post(ADD, {"phone": "0801 234 5678", "reason": "asked us to stop"}).status_code == 302
    assert caller_in.post(ADD, {"phone": "+234 801 234 5678"}).status_code == 302  # already listed: no change
    [added] = entries(Action.DNC_ADDED)
    assert (added.username, added.remote_addr, added.object_id) == ("cal", ADDRESS, "+2348012345678")
    assert added.object_url == reverse("dnc:list") + "?q=%2B2348012345678"
    assert rows_of(auditor, Action.DNC_ADDED) == [
        [
            "cal",
            ADDRESS,
            "Added to the do-not-call list",
            "+234 801 234 5678 do-not-call entry",
            "reason: asked us to stop",
        ]
    ]


def test_removing_is_recorded_once(caller_in, auditor):
    caller_in.post(ADD, {"phone": "+2348012345678", "reason": "complaint"})
    entry = DoNotCallEntry.objects.get()
    assert caller_in.post(REMOVE, {"entry": entry.pk}).status_code == 302
    assert caller_in.post(REMOVE, {"entry": entry.pk}).status_code == 302  # someone else was first: nothing
    assert caller_in.post(REMOVE, {"entry": "not-a-number"}).status_code == 302
    [removed] = entries(Action.DNC_REMOVED)
    assert (removed.username, removed.object_id) == ("cal", "+2348012345678")
    assert rows_of(auditor, Action.DNC_REMOVED)[0][2:] == [
        "Removed from the do-not-call list",
        "+234 801 234 5678 do-not-call entry",
        "listed for: complaint",
    ]


def csv_file(text: str, name: str = "opt-outs.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_an_import_is_one_entry_with_its_counts_not_one_per_number(caller_in, auditor):
    caller_in.post(ADD, {"phone": "+2348012345678"})
    text = "phone,reason\n0801 234 5678,again\n+2348039876543,stop\n+447911123456,\n12345,typo\n+2348039876543,twice\n"
    assert caller_in.post(IMPORT, {"file": csv_file(text)}).status_code == 200
    assert DoNotCallEntry.objects.count() == 3
    assert len(entries(Action.DNC_ADDED)) == 1  # the one added by hand; the file's are in its entry
    [imported] = entries(Action.DNC_IMPORTED)
    assert imported.detail == {"added": 2, "already": 2, "invalid": 1}
    assert (imported.username, imported.remote_addr, imported.object_label) == (
        "cal",
        ADDRESS,
        "opt-outs.csv",
    )
    assert rows_of(auditor, Action.DNC_IMPORTED) == [
        [
            "cal",
            ADDRESS,
            "Imported into the do-not-call list",
            "opt-outs.csv file",
            "2 added; 2 already listed; 1 invalid",
        ]
    ]


def test_a_file_that_cannot_be_read_records_nothing(caller_in):
    assert caller_in.post(IMPORT, {"file": csv_file("name,mobile\nAda,+2348012345678\n")}).status_code == 200
    assert entries(Action.DNC_IMPORTED) == [] and not DoNotCallEntry.objects.exists()
