"""The do-not-call list at /dnc/: add, remove, search, import; who may change it."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from voxdash.directory.models import DoNotCallChange, DoNotCallEntry

LIST = reverse("dnc:list")
ADD = reverse("dnc:add")
IMPORT = reverse("dnc:import")
REMOVE = reverse("dnc:remove")


@pytest.fixture
def caller_client(client, caller, vox_settings):
    client.force_login(caller)
    return client


def csv_file(text: str, name: str = "opt-outs.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def test_national_and_international_forms_are_one_entry(caller_client, caller):
    first = caller_client.post(
        ADD, {"phone": "0801 234 5678", "reason": "Asked on the phone, 1 Dec"}, follow=True
    )
    assert "Added +234 801 234 5678 to the do-not-call list" in first.content.decode()
    again = caller_client.post(ADD, {"phone": "+234 801 234 5678", "reason": "another reason"}, follow=True)
    body = again.content.decode()
    assert "was already on the do-not-call list" in body and "nothing changed" in body
    entry = DoNotCallEntry.objects.get()
    assert entry.phone == "+2348012345678" and entry.reason == "Asked on the phone, 1 Dec"
    assert entry.added_by == caller and entry.added_by_name == "cal"
    # One addition recorded; the repeat changed nothing and recorded nothing.
    assert list(DoNotCallChange.objects.values_list("phone", "action", "username")) == [
        ("+2348012345678", "added", "cal")
    ]


def test_a_bad_number_is_refused_with_what_was_typed_kept(caller_client):
    response = caller_client.post(ADD, {"phone": "0801 23", "reason": "keep me"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "This is not a valid phone number" in body
    form = response.context["add_form"]
    assert form["phone"].value() == "0801 23" and form["reason"].value() == "keep me"
    assert not DoNotCallEntry.objects.exists() and not DoNotCallChange.objects.exists()


def test_removing_is_recorded_with_who_and_when(caller_client, caller):
    caller_client.post(ADD, {"phone": "+2348012345678", "reason": "complaint"})
    entry = DoNotCallEntry.objects.get()
    response = caller_client.post(REMOVE, {"entry": entry.pk}, follow=True)
    assert "+234 801 234 5678 is off the do-not-call list" in response.content.decode()
    assert not DoNotCallEntry.objects.exists()
    removal = DoNotCallChange.objects.filter(action="removed").get()
    assert removal.phone == "+2348012345678" and removal.user == caller and removal.reason == "complaint"
    assert removal.at >= entry.added_at
    # The page's recent changes show both, newest first.
    changes = [(c.action, c.username) for c in response.context["changes"]]
    assert changes == [("removed", "cal"), ("added", "cal")]
    # Removing it again (a second tab) says so and records nothing more.
    again = caller_client.post(REMOVE, {"entry": entry.pk}, follow=True)
    assert "no longer on the list" in again.content.decode()
    assert DoNotCallChange.objects.count() == 2


def test_search_by_number_in_any_form_or_by_reason(caller_client):
    for phone, reason in [
        ("+2348012345678", "asked not to be called"),
        ("+2348039876543", "deceased"),
        ("+447911123456", "wrong number"),
    ]:
        caller_client.post(ADD, {"phone": phone, "reason": reason})

    def found(q):
        return sorted(e.phone for e in caller_client.get(LIST, {"q": q}).context["page"].object_list)

    assert found("0801 234") == ["+2348012345678"]  # the national form
    assert found("+234 803") == ["+2348039876543"]
    assert found("7911 123") == ["+447911123456"]
    assert found("DECEASED") == ["+2348039876543"]
    assert found("") == ["+2348012345678", "+2348039876543", "+447911123456"]
    assert "No number on the list matches" in caller_client.get(LIST, {"q": "nobody"}).content.decode()


def test_the_list_is_paged(caller_client):
    DoNotCallEntry.objects.bulk_create(DoNotCallEntry(phone=f"+23480100000{n:02d}") for n in range(60))
    first = caller_client.get(LIST)
    assert len(first.context["page"].object_list) == 50 and "page 1 of 2" in first.content.decode()
    second = caller_client.get(LIST, {"page": 2})
    assert len(second.context["page"].object_list) == 10


def test_import_reports_added_already_listed_and_invalid_rows(caller_client, caller):
    caller_client.post(ADD, {"phone": "+2348012345678"})
    # As Excel writes it in many locales: a BOM, semicolons, CRLF, quotes, a blank line.
    text = (
        "\ufeffName;Phone;Reason\r\n"
        "Ada;0801 234 5678;already there\r\n"  # row 2: listed before
        '"Okafor; Ngozi";+234 803 987 6543;"said ""stop"""\r\n'  # row 3: added
        "\r\n"  # row 4: blank
        "Bola;12345;typo\r\n"  # row 5: invalid
        "Chidi;;\r\n"  # row 6: no number
        "Dayo;08039876543;twice\r\n"  # row 7: the same number as row 3
        "Zoë;+44 7911 123456;\r\n"  # row 8: added
    )
    response = caller_client.post(IMPORT, {"file": csv_file(text)})
    assert response.status_code == 200
    result = response.context["import_result"]
    assert [(r.row, r.phone) for r in result.added] == [(3, "+2348039876543"), (8, "+447911123456")]
    assert [(r.row, r.note) for r in result.already] == [
        (2, "already on the list"),
        (7, "also on row 3 of this file"),
    ]
    assert [(r.row, r.value, r.note) for r in result.invalid] == [
        (5, "12345", "not a valid phone number"),
        (6, "", "no number"),
    ]
    assert "2 added" in response.content.decode()
    assert DoNotCallEntry.objects.get(phone="+2348039876543").reason == 'said "stop"'
    assert DoNotCallEntry.objects.count() == 3
    added = DoNotCallChange.objects.filter(action="added").exclude(phone="+2348012345678")
    assert sorted(added.values_list("phone", "username")) == [
        ("+2348039876543", "cal"),
        ("+447911123456", "cal"),
    ]


def test_import_of_a_comma_file_with_customer_phone(caller_client):
    text = "customer_phone,customer_name\n+2348012345678,Ada\n+2348039876543,Ngozi\n"
    response = caller_client.post(IMPORT, {"file": csv_file(text)})
    assert len(response.context["import_result"].added) == 2
    assert DoNotCallEntry.objects.count() == 2


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "name,mobile\nAda,+2348012345678\n",
            "The file has no phone column: name one column customer_phone or phone. Its header has “name”, “mobile”.",
        ),
        ("", "The submitted file is empty"),
        ("\n\n", "The file has no header row"),
        (b"PK\x03\x04\x00\x00binary", "an Excel workbook or another zip file, not a CSV"),
    ],
)
def test_an_unreadable_file_changes_nothing_and_says_why(caller_client, content, message):
    raw = content.encode() if isinstance(content, str) else content
    upload = SimpleUploadedFile("list.csv", raw, content_type="text/csv")
    response = caller_client.post(IMPORT, {"file": upload})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not DoNotCallEntry.objects.exists() and not DoNotCallChange.objects.exists()


def test_an_oversized_file_is_refused_with_the_limit(caller_client, monkeypatch):
    monkeypatch.setattr("voxdash.lib.sheets.MAX_FILE_BYTES", 1024)
    upload = csv_file("phone\n" + "+2348012345678\n" * 100)
    response = caller_client.post(IMPORT, {"file": upload})
    assert "The file is 0.1 MB; the limit is 0 MB." in response.content.decode()
    assert not DoNotCallEntry.objects.exists()


def test_import_reads_what_campaign_lists_are_read_from_utf16_text_and_a_workbook(caller_client):
    """The list is read by the campaigns' reader: Excel's "Unicode Text" and an .xlsx work too."""
    from openpyxl import Workbook

    utf16 = SimpleUploadedFile("list.csv", "phone\tReason\n+2348012345678\tasked\n".encode("utf-16"))
    response = caller_client.post(IMPORT, {"file": utf16})
    assert [row.phone for row in response.context["import_result"].added] == ["+2348012345678"]
    workbook = Workbook()
    workbook.active.append(["Phone", "reason"])
    workbook.active.append([8039876543, "complaint"])  # a national number Excel stored as a number
    data = io.BytesIO()
    workbook.save(data)
    xlsx = SimpleUploadedFile("list.xlsx", data.getvalue())
    response = caller_client.post(IMPORT, {"file": xlsx})
    assert [row.phone for row in response.context["import_result"].added] == ["+2348039876543"]
    assert dict(DoNotCallEntry.objects.values_list("phone", "reason")) == {
        "+2348012345678": "asked",
        "+2348039876543": "complaint",
    }


def test_viewers_see_the_list_but_no_forms_and_may_change_nothing(client, viewer, caller, vox_settings):
    client.force_login(caller)
    client.post(ADD, {"phone": "+2348012345678", "reason": "complaint"})
    entry = DoNotCallEntry.objects.get()
    client.force_login(viewer)
    page = client.get(LIST)
    body = page.content.decode()
    assert page.status_code == 200 and "+234 801 234 5678" in body and "complaint" in body
    assert 'action="/dnc/add/"' not in body and 'action="/dnc/import/"' not in body
    assert 'action="/dnc/remove/"' not in body and "Remove" not in body
    assert client.post(ADD, {"phone": "+2348039876543"}).status_code == 403
    assert client.post(IMPORT, {"file": csv_file("phone\n+2348039876543\n")}).status_code == 403
    assert client.post(REMOVE, {"entry": entry.pk}).status_code == 403
    assert list(DoNotCallEntry.objects.values_list("phone", flat=True)) == ["+2348012345678"]
    assert DoNotCallChange.objects.count() == 1


def test_callers_see_the_forms(caller_client):
    caller_client.post(ADD, {"phone": "+2348012345678"})
    body = caller_client.get(LIST).content.decode()
    assert (
        'action="/dnc/add/"' in body and 'action="/dnc/import/"' in body and 'action="/dnc/remove/"' in body
    )


def test_the_admin_shows_the_list_and_its_changes_read_only(admin_client, caller_client):
    caller_client.post(ADD, {"phone": "+2348012345678"})
    entry = DoNotCallEntry.objects.get()
    change = DoNotCallChange.objects.get()
    assert b"+2348012345678" in admin_client.get(reverse("admin:directory_donotcallentry_changelist")).content
    assert (
        b"+2348012345678" in admin_client.get(reverse("admin:directory_donotcallchange_changelist")).content
    )
    page = admin_client.get(reverse("admin:directory_donotcallchange_change", args=[change.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.get(reverse("admin:directory_donotcallentry_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:directory_donotcallentry_delete", args=[entry.pk])).status_code
        == 403
    )
    assert DoNotCallEntry.objects.exists()
