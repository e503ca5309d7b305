"""/api/v1/campaigns/upload: a draft from an uploaded CSV or .xlsx, read by the upload page's reader
and judged by its draft service, so a file makes the same rows as the same list sent as JSON; a
file too big is 413, one of another kind 415, one that cannot be used 422, and nothing is made."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.campaigns.files import excel_csv, google_sheets_csv, xlsx
from voxdash.api.scopes import CAMPAIGNS
from voxdash.campaigns.models import Campaign, CampaignRow
from voxdash.directory.do_not_call import dnc_add
from voxdash.lib import sheets

from .test_auth import assert_error
from .test_campaigns import LISTED, settings_for

pytestmark = pytest.mark.django_db
RowState = CampaignRow.State
HEADER = ["customer_phone", "customer_name", "invoice"]
# The spreadsheet's rows (the header is row 1): one of each kind the preview names.
CELLS = [
    ["0801 234 5678", "Adaeze Okonkwo", "INV-1"],
    ["+234 801 234 5678", "Adaeze again", "INV-2"],
    [LISTED, "Listed", "INV-3"],
    ["not a phone", "Wrong", "INV-4"],
    ["08051234562", "Zoë Müller", ""],
]
EXPECTED = [
    (2, "+2348012345678", RowState.PENDING, ""),
    (3, "+2348012345678", RowState.DUPLICATE, "same number as row 2"),
    (4, LISTED, RowState.DO_NOT_CALL, "on the do-not-call list"),
    (5, "not a phone", RowState.INVALID, "not a valid phone number: 'not a phone'"),
    (6, "+2348051234562", RowState.INVALID, "no value for invoice"),
]


@pytest.fixture
def campaigns_api(api_for, vox_settings, admin_user):
    vox_settings.VOX_DEFAULT_REGION = "NG"
    dnc_add(phone=LISTED, reason="asked", user=admin_user)
    return api_for(scopes=[CAMPAIGNS], name="CRM")


def upload(api, simulator, content: bytes, name: str, **overrides):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return api.post("/campaigns/upload", data={**settings_for(simulator, **overrides), "file": file})


def rows_of(campaign_id: int) -> list[tuple]:
    rows = CampaignRow.objects.filter(campaign_id=campaign_id).order_by("number")
    return list(rows.values_list("number", "customer_phone", "state", "reason"))


@pytest.mark.parametrize(
    "content, name",
    [(google_sheets_csv(CELLS, header=HEADER), "customers.csv"),
     (excel_csv(CELLS, header=HEADER), "customers.csv"),
     (xlsx(CELLS, header=HEADER), "customers.xlsx")],
    ids=["csv", "excel-csv", "xlsx"],
)  # fmt: skip
def test_a_file_makes_the_draft_the_upload_page_makes(campaigns_api, simulator, content, name):
    response = upload(campaigns_api, simulator, content, name)
    assert response.status_code == 201, response.content
    body = response.json()
    assert rows_of(body["id"]) == EXPECTED
    assert body["file_name"] == name and body["state"] == "draft"
    assert [(p["row"], p["state"]) for p in body["preview"]["problems"]] == [
        (n, state) for n, _, state, _ in EXPECTED[1:]
    ]
    assert Campaign.objects.get().created_by_name == "api:CRM"


def test_a_file_and_the_same_rows_as_json_make_the_same_rows(campaigns_api, simulator):
    from_file = upload(campaigns_api, simulator, xlsx(CELLS, header=HEADER), "customers.xlsx").json()
    as_json = campaigns_api.post(
        "/campaigns",
        json={**settings_for(simulator), "rows": [dict(zip(HEADER, cells, strict=True)) for cells in CELLS]},
    ).json()
    file_rows, json_rows = rows_of(from_file["id"]), rows_of(as_json["id"])
    # a file's row n is the JSON list's (n - 1)th: the header is the file's row 1
    shifted = [
        (n + 1, phone, state, reason.replace("row 1", "row 2") if state == RowState.DUPLICATE else reason)
        for n, phone, state, reason in json_rows
    ]
    assert file_rows == shifted == EXPECTED


def test_the_days_may_be_sent_as_one_comma_separated_field(campaigns_api, simulator):
    content = google_sheets_csv(CELLS[:1], header=HEADER)
    response = upload(campaigns_api, simulator, content, "c.csv", window_days="sat,sun")
    assert response.status_code == 201, response.content
    assert response.json()["window"]["days"] == ["sat", "sun"]


def test_a_file_over_the_limit_is_413_and_unread(campaigns_api, simulator, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_FILE_BYTES", 100)
    content = google_sheets_csv(CELLS * 3, header=HEADER)
    refused = assert_error(upload(campaigns_api, simulator, content, "big.csv"), 413, "too_large")
    assert "the limit is" in refused["message"] and refused["details"][0]["field"] == "file"
    assert not Campaign.objects.exists()


def test_more_rows_than_the_limit_is_413(campaigns_api, simulator, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_ROWS", 3)
    content = google_sheets_csv(CELLS, header=HEADER)
    refused = assert_error(upload(campaigns_api, simulator, content, "many.csv"), 413, "too_large")
    assert "more than 3 rows" in refused["message"]
    assert not Campaign.objects.exists() and not CampaignRow.objects.exists()


@pytest.mark.parametrize(
    "content, name",
    [(b"%PDF-1.7 ...", "customers.csv"), (b"customer_phone\n0801\n", "customers.txt"),
     (b"\xd0\xcf\x11\xe0 old excel", "customers.csv")],
    ids=["pdf-named-csv", "txt", "xls-named-csv"],
)  # fmt: skip
def test_a_file_of_another_kind_is_415(campaigns_api, simulator, content, name):
    assert_error(upload(campaigns_api, simulator, content, name), 415, "not_a_sheet")
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    "content, name, words",
    [(b"name,invoice\nAda,INV-1\n", "c.csv", "no phone column"),
     (b"", "c.csv", "empty"),
     (b"PK\x03\x04 not really a workbook", "c.xlsx", "could not be read as an Excel workbook")],
)  # fmt: skip
def test_a_file_that_cannot_be_used_is_422_and_makes_nothing(campaigns_api, simulator, content, name, words):
    refused = assert_error(upload(campaigns_api, simulator, content, name), 422, "invalid_list")
    assert words in refused["message"]
    assert not Campaign.objects.exists()


def test_no_file_or_bad_settings_is_422_naming_the_field(campaigns_api, simulator):
    refused = assert_error(
        campaigns_api.post("/campaigns/upload", data=settings_for(simulator)), 422, "validation_error"
    )
    assert [d["field"] for d in refused["details"]] == ["file"]
    content = google_sheets_csv(CELLS, header=HEADER)
    refused = assert_error(
        upload(campaigns_api, simulator, content, "c.csv", max_attempts=9), 422, "validation_error"
    )
    assert [d["field"] for d in refused["details"]] == ["max_attempts"]
    assert not Campaign.objects.exists()


def test_a_multipart_body_that_cannot_be_read_is_400_not_a_500(campaigns_api):
    response = campaigns_api.client.post(
        "/api/v1/campaigns/upload",
        b"--x\r\nnonsense",
        content_type="multipart/form-data",  # no boundary
        headers={"Authorization": f"Bearer {campaigns_api.raw}"},
    )
    assert_error(response, 400, "bad_request")
    assert not Campaign.objects.exists()


def test_more_fields_than_django_reads_is_400_not_a_500(campaigns_api, simulator, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    fields = {**settings_for(simulator), **{f"extra{n}": "x" for n in range(60)}}
    file = SimpleUploadedFile(
        "customers.csv", google_sheets_csv(CELLS, header=HEADER), content_type="text/csv"
    )
    response = campaigns_api.post("/campaigns/upload", data={**fields, "file": file})
    refused = assert_error(response, 400, "bad_request")
    assert "does not read" in refused["message"]
    assert not Campaign.objects.exists()


def test_the_same_file_again_under_one_key_makes_one_draft_another_file_is_409(campaigns_api, simulator):
    content = google_sheets_csv(CELLS, header=HEADER)

    def send(data: bytes):
        file = SimpleUploadedFile("customers.csv", data, content_type="text/csv")
        return campaigns_api.post(
            "/campaigns/upload",
            data={**settings_for(simulator), "file": file},
            headers={"Idempotency-Key": "upload-1"},
        )

    first = send(content)
    assert first.status_code == 201
    again = send(content)
    assert again.headers["Idempotency-Replayed"] == "true" and again.json() == first.json()
    assert Campaign.objects.count() == 1
    assert_error(send(google_sheets_csv(CELLS[:1], header=HEADER)), 409, "idempotency_key_reused")
    assert Campaign.objects.count() == 1
