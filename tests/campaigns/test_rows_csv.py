"""/campaigns/<id>/rows.csv: every row, the issue's columns exactly, formula-safe, streamed."""

import csv
import io
import tracemalloc

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from voxdash.campaigns import progress
from voxdash.campaigns.models import CampaignRow

from .pages import State, make_campaign, phone


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """The header asks Vox who it is on every page: the simulator answers."""


HEADER = [
    "row",
    "customer_phone",
    "customer_name",
    "state",
    "attempts",
    "last_call_id",
    "last_status",
    "reason",
]


def csv_url(campaign) -> str:
    return reverse("campaigns:rows_csv", kwargs={"pk": campaign.pk})


def read(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_every_row_with_the_exact_columns_formula_safe(client, viewer):
    client.force_login(viewer)
    campaign = make_campaign(
        name="Invoices: December (final)",
        rows=[
            (
                phone(1, 9),
                "Ada Obi",
                State.NO_ANSWER,
                {"attempts": 2, "last_call_id": "call_1", "last_status": "no_answer"},
            ),
            (
                phone(2),
                '=HYPERLINK("http://evil.example","Click")',
                State.COMPLETED,
                {"attempts": 1, "last_status": "completed"},
            ),
            ("=1+2", "@SUM(A1)", State.INVALID, {"reason": "not a valid phone number: '=1+2'"}),
            ("0803 000 0004", "Bola", State.DUPLICATE, {"reason": "same number as row 2"}),
        ],
    )
    response = client.get(csv_url(campaign))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition == f'attachment; filename="voxdash-campaign-{campaign.pk}-invoices-december-final.csv"'
    rows = read(response)
    assert rows[0] == HEADER
    assert rows[1] == ["2", phone(1, 9), "Ada Obi", "no_answer", "2", "call_1", "no_answer", ""]
    # A name that looks like a formula is text; the E.164 phone keeps its "+".
    assert rows[2][1] == phone(2) and rows[2][2] == '\'=HYPERLINK("http://evil.example","Click")'
    assert rows[3][:3] == ["4", "'=1+2", "'@SUM(A1)"] and rows[3][3] == "invalid"
    # A national number as written is exported in E.164, as the call export does.
    assert rows[4][1] == "+2348030000004" and rows[4][7] == "same number as row 2"
    assert len(rows) == 5


def test_only_this_campaigns_rows_and_a_viewer_may_download(client, viewer):
    client.force_login(viewer)
    mine = make_campaign(rows=[(phone(1), "Mine", State.PENDING)])
    make_campaign(rows=[(phone(2), "Theirs", State.PENDING)])
    rows = read(client.get(csv_url(mine)))
    assert [r[2] for r in rows[1:]] == ["Mine"]


def test_an_unknown_campaign_is_404(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("campaigns:rows_csv", kwargs={"pk": 404})).status_code == 404


def _export_peak(client, campaign) -> tuple[int, int]:
    tracemalloc.start()
    try:
        response = client.get(csv_url(campaign))
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        return lines, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _fill(campaign, start: int, count: int) -> None:
    CampaignRow.objects.bulk_create(
        [
            CampaignRow(
                campaign=campaign,
                number=n,
                customer_phone=phone(n),
                customer_name=f"Customer {n}",
                state=State.COMPLETED,
            )
            for n in range(start, start + count)
        ],
        batch_size=5000,
    )


def test_memory_stays_flat_from_a_thousand_to_ten_thousand_rows(client, viewer, monkeypatch):
    # Memory is flat when it depends on the size of a piece, not on the number of rows. The export
    # sends pieces of CSV_CHUNK_ROWS (2,000) rows; pieces of 100 show the same at a tenth of the
    # rows (1,000 and 10,000 instead of 10,000 and 100,000: seconds instead of most of a minute).
    monkeypatch.setattr(progress, "CSV_CHUNK_ROWS", 100)
    client.force_login(viewer)
    small, big = make_campaign(name="small"), make_campaign(name="big")
    _fill(small, 2, 1_000)
    _fill(big, 2, 10_000)
    # The first export also pays for what is loaded once (modules, translations, URL patterns),
    # megabytes that would hide what the rows cost: an export before the two measured.
    read(client.get(csv_url(small)))
    small_lines, small_peak = _export_peak(client, small)
    big_lines, big_peak = _export_peak(client, big)
    assert (small_lines, big_lines) == (1_001, 10_001)
    # Ten times the rows, not ten times the memory: the rows are read in chunks and sent in pieces.
    assert big_peak < 2 * small_peak + 100_000, (small_peak, big_peak)


def test_the_export_is_one_query_for_the_rows_whatever_their_number(client, viewer):
    client.force_login(viewer)
    campaign = make_campaign()
    _fill(campaign, 2, 5000)
    with CaptureQueriesContext(connection) as queries:
        read(client.get(csv_url(campaign)))
    row_queries = [q for q in queries if "campaigns_campaignrow" in q["sql"]]
    # SQLite fetches in chunks inside one query; PostgreSQL uses a server-side cursor.
    assert len(row_queries) == 1, [q["sql"][:80] for q in row_queries]
