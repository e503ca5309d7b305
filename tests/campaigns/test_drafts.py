"""Creating a draft campaign from its file, and its preview (campaigns.drafts)."""

import tracemalloc
from datetime import time

import pytest

from voxdash.campaigns.drafts import campaign_create, campaign_preview, context_render, template_columns
from voxdash.campaigns.models import Campaign, CampaignEvent, CampaignRow
from voxdash.directory.models import DoNotCallEntry
from voxdash.lib.sheets import SheetError
from voxdash.placements.models import PlacedCall

from . import files

pytestmark = pytest.mark.django_db
TEMPLATE = "Remind {customer_name} about invoice {invoice} for NGN {amount}."


def fields(**changes) -> dict:
    """What CampaignForm.campaign_fields() hands the service."""
    return {
        "name": "December reminders",
        "business_voice_number_id": "num_1",
        "ai_agent_id": "agt_1",
        "purpose": "payment_reminder",
        "context_template": TEMPLATE,
        "max_attempts": 2,
        "retry_after_minutes": 30,
        "window_start": time(9),
        "window_end": time(17),
        "window_days": "mon,tue,wed,thu,fri",
        "time_zone": "Africa/Lagos",
        "max_in_flight": 5,
        **changes,
    }


def create(user, content: bytes, name="customers.csv", **changes) -> Campaign:
    return campaign_create(
        user=user, fields=fields(**changes), upload=files.upload(content, name), filename=name
    )


def states(campaign) -> dict[int, tuple[str, str, str]]:
    return {r.number: (r.state, r.customer_phone, r.reason) for r in campaign.rows.all()}


S = CampaignRow.State


def test_a_realistic_list_gives_a_draft_whose_preview_counts_every_kind_of_row(caller):
    DoNotCallEntry.objects.create(phone="+2348071234567", reason="asked us to stop")
    content = files.excel_csv(
        [
            ["0801 234 5678", "Adaeze Okonkwo", "INV-001", "15,000"],  # 2 valid
            ["0803 123 4561", "Emeka Eze", "", "7,500"],  # 3 no invoice
            ["12345", "Aisha Bello", "INV-003", "1,250"],  # 4 not a number
            ["", "Nobody", "INV-004", "1"],  # 5 no phone
            ["+234 801 234 5678", "Adaeze again", "INV-005", "2"],  # 6 same as row 2
            ["0807 123 4567", "Opted Out", "INV-006", "3"],  # 7 on the list
            ["0805 123 4562", "Zoë Müller", "INV-007", "4"],  # 8 valid
            ["0809 123 4569", "José Álvarez", "INV-008", "5"],  # 9 valid
        ]
    )
    campaign = create(caller, content)

    assert campaign.state == Campaign.State.DRAFT and campaign.rows_read == 8
    assert campaign.columns == files.HEADER and campaign.file_name == "customers.csv"
    assert campaign.created_by == caller and campaign.created_by_name == "cal"
    assert states(campaign) == {
        2: (S.PENDING, "+2348012345678", ""),
        3: (S.INVALID, "+2348031234561", "no value for invoice"),
        4: (S.INVALID, "12345", "not a valid phone number: '12345'"),
        5: (S.INVALID, "", "no phone number"),
        6: (S.DUPLICATE, "+2348012345678", "same number as row 2"),
        7: (S.DO_NOT_CALL, "+2348071234567", "on the do-not-call list"),
        8: (S.PENDING, "+2348051234562", ""),
        9: (S.PENDING, "+2348091234569", ""),
    }
    preview = campaign_preview(campaign=campaign)
    assert (preview.rows_read, preview.valid, preview.invalid) == (8, 3, 3)
    assert (preview.duplicates, preview.do_not_call, preview.missing_values) == (1, 1, 1)
    assert preview.examples == [
        "Remind Adaeze Okonkwo about invoice INV-001 for NGN 15,000.",
        "Remind Zoë Müller about invoice INV-007 for NGN 4.",
        "Remind José Álvarez about invoice INV-008 for NGN 5.",
    ]
    assert [(r.number, r.reason) for r in preview.problems] == [
        (3, "no value for invoice"),
        (4, "not a valid phone number: '12345'"),
        (5, "no phone number"),
        (6, "same number as row 2"),
        (7, "on the do-not-call list"),
    ]
    event = CampaignEvent.objects.get(campaign=campaign)
    assert (event.action, event.user, event.username) == (CampaignEvent.Action.CREATED, caller, "cal")
    assert PlacedCall.objects.count() == 0  # a draft dials nothing


def test_the_first_usable_row_of_a_number_is_the_one_kept(caller):
    content = files.google_sheets_csv(
        [
            ["0801 234 5678", "First, but no invoice", "", "1"],  # 2: unusable
            ["08012345678", "Second", "INV-2", "2"],  # 3: the one dialled
            ["+2348012345678", "Third", "INV-3", "3"],  # 4
            ["234 801 234 5678", "Fourth", "INV-4", "4"],  # 5
            ["0803 123 4561", "Other", "INV-5", "5"],  # 6
            ["(0803) 123-4561", "Other again", "INV-6", "6"],  # 7
        ]
    )
    campaign = create(caller, content)
    assert {n: (s, r) for n, (s, _, r) in states(campaign).items()} == {
        2: (S.INVALID, "no value for invoice"),
        3: (S.PENDING, ""),
        4: (S.DUPLICATE, "same number as row 3"),
        5: (S.DUPLICATE, "same number as row 3"),
        6: (S.PENDING, ""),
        7: (S.DUPLICATE, "same number as row 6"),
    }


def test_a_number_on_the_do_not_call_list_is_skipped_every_time_it_appears(caller):
    DoNotCallEntry.objects.create(phone="+2348012345678")
    content = files.google_sheets_csv(
        [["0801 234 5678", "A", "1", "1"], ["08012345678", "B", "2", "2"], ["0803 123 4561", "C", "3", "3"]]
    )
    campaign = create(caller, content)
    assert [s for s, _, _ in states(campaign).values()] == [S.DO_NOT_CALL, S.DO_NOT_CALL, S.PENDING]
    preview = campaign_preview(campaign=campaign)
    assert (preview.valid, preview.do_not_call, preview.duplicates) == (1, 2, 0)


def test_a_row_lacking_several_values_and_a_valid_number_names_them_all(caller):
    content = files.google_sheets_csv([["not a phone", "", "", "9"]])
    campaign = create(caller, content)
    row = campaign.rows.get()
    assert row.state == S.INVALID
    assert row.reason == "no value for customer_name, invoice; not a valid phone number: 'not a phone'"
    assert campaign_preview(campaign=campaign).missing_values == 1


def test_a_phone_number_excel_shortened_says_how_to_fix_it(caller):
    campaign = create(caller, files.google_sheets_csv([["2.34801E+12", "Ada", "1", "1"]]))
    assert "format the column as Text" in campaign.rows.get().reason


def test_the_template_matches_columns_in_any_case_and_keeps_formula_cells_as_text(caller):
    content = files.google_sheets_csv(
        [["0801 234 5678", '=HYPERLINK("http://x.example","Ada")', "+SUM(A1)", "@1"]],
        header=["Phone", "Name", "Invoice", "Amount"],
    )
    campaign = create(caller, content, context_template="Hi {NAME}, {invoice} {Amount} {{ok}}")
    row = campaign.rows.get()
    assert row.state == S.PENDING
    assert row.customer_name == '=HYPERLINK("http://x.example","Ada")'
    assert row.context == 'Hi =HYPERLINK("http://x.example","Ada"), +SUM(A1) @1 {ok}'
    assert row.cells == {
        "Phone": "0801 234 5678",
        "Name": row.customer_name,
        "Invoice": "+SUM(A1)",
        "Amount": "@1",
    }


def test_a_context_over_the_apis_limit_is_invalid_and_long_names_are_trimmed(caller):
    long_note = "x" * 2000
    content = files.google_sheets_csv(
        [["0801 234 5678", "N" * 200, long_note, "1"], ["0803 123 4561", "Emeka", "INV", "1"]]
    )
    campaign = create(caller, content, context_template="{invoice}!")
    long_row, short_row = campaign.rows.all()
    assert (
        long_row.state == S.INVALID
        and long_row.reason == "the context is 2,001 characters; the limit is 2,000"
    )
    assert long_row.customer_name == "N" * 120
    assert short_row.state == S.PENDING and short_row.context == "INV!"


def test_an_xlsx_list_with_numbers_stored_as_numbers(caller):
    content = files.xlsx([[8012345678, "Ada", "INV-1", 15000], [2.348031234561e12, "Emeka", "INV-2", 7500.5]])
    campaign = create(caller, content, name="customers.xlsx")
    assert [(r.customer_phone, r.state, r.context) for r in campaign.rows.all()] == [
        ("+2348012345678", S.PENDING, "Remind Ada about invoice INV-1 for NGN 15000."),
        ("+2348031234561", S.PENDING, "Remind Emeka about invoice INV-2 for NGN 7500.5."),
    ]


def test_a_template_naming_a_column_the_file_lacks_creates_nothing(caller):
    with pytest.raises(SheetError) as caught:
        create(caller, files.excel_csv(files.ROWS), context_template="Pay {invoice} by {due_date} {Due_Date}")
    assert caught.value.message == (
        "The context names {due_date}, which is not a column of this file. "
        "Its columns: “customer_phone”, “customer_name”, “invoice”, “amount”."
    )
    assert not Campaign.objects.exists() and not CampaignRow.objects.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"Mobile,Name\r\n0801,Ada\r\n", "no phone column"),
        (files.google_sheets_csv([]), "no rows below it"),
        (b"customer_phone,customer_name,invoice,amount\r\n\r\n,,,\r\n", "no rows below it"),
    ],
)
def test_a_file_problem_creates_nothing(caller, content, expected):
    with pytest.raises(SheetError) as caught:
        create(caller, content)
    assert expected in caught.value.message
    assert not Campaign.objects.exists() and not CampaignEvent.objects.exists()


def test_a_file_found_too_long_after_rows_were_written_leaves_nothing_behind(caller, monkeypatch):
    monkeypatch.setattr("voxdash.lib.sheets.MAX_ROWS", 5)
    monkeypatch.setattr("voxdash.campaigns.drafts.BATCH", 2)  # rows are written before the 6th is read
    content = files.google_sheets_csv(list(files.generated_rows(6)))
    with pytest.raises(SheetError) as caught:
        create(caller, content)
    assert "more than 5 rows" in caught.value.message
    assert not Campaign.objects.exists() and not CampaignRow.objects.exists()


def test_thousands_of_rows_are_written_in_batches_and_duplicates_found_across_them(caller, monkeypatch):
    monkeypatch.setattr("voxdash.campaigns.drafts.BATCH", 100)
    rows = list(files.generated_rows(1000))
    rows.append(rows[10])  # row 12's number again at row 1002
    rows.append(rows[999])  # and row 1001's at row 1003
    campaign = create(caller, files.google_sheets_csv(rows))
    preview = campaign_preview(campaign=campaign)
    assert (preview.rows_read, preview.valid, preview.duplicates) == (1002, 1000, 2)
    assert [(r.number, r.reason) for r in preview.problems] == [
        (1002, "same number as row 12"),
        (1003, "same number as row 1001"),
    ]


def test_memory_stays_flat_from_1200_to_8000_rows(caller):
    def peak(rows: int) -> int:
        content = files.excel_csv(list(files.generated_rows(rows)))
        tracemalloc.start()
        try:
            create(caller, content)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(1200), peak(8000)
    assert large < small * 1.5, f"{small:,} bytes at peak for 1,200 rows, {large:,} for 8,000"


def test_two_campaigns_from_one_file_do_not_see_each_others_rows_as_duplicates(caller):
    content = files.google_sheets_csv(files.ROWS)
    first, second = create(caller, content), create(caller, content)
    assert campaign_preview(campaign=first).valid == campaign_preview(campaign=second).valid == 3


def test_the_preview_lists_at_most_100_problems_in_row_order(caller):
    rows = [["bad", "x", "1", "1"]] * 150 + [["0801 234 5678", "Ada", "1", "1"]]
    campaign = create(caller, files.google_sheets_csv(rows))
    preview = campaign_preview(campaign=campaign)
    assert preview.invalid == 150 and preview.valid == 1
    assert [r.number for r in preview.problems] == list(range(2, 102))
    assert preview.examples == ["Remind Ada about invoice 1 for NGN 1."]


# --- the template rule


def test_context_render_fills_columns_in_any_case_and_names_what_is_missing():
    cells = {"Customer_Name": "Ada", "invoice": " ", "amount": "15,000"}
    assert context_render("Hi {customer_name}: {INVOICE} {{NGN}} {amount} {due}", cells) == (
        "Hi Ada:  {NGN} 15,000 ",
        ["INVOICE", "due"],
    )
    assert context_render("{a}{A}{b}", {}) == ("", ["a", "b"])
    assert context_render("no columns }} {{", {}) == ("no columns } {", [])


def test_template_columns_each_once_and_malformed_templates_say_what_is_wrong():
    assert template_columns("{ Invoice number } {amount} {AMOUNT} {{not}}") == ["Invoice number", "amount"]
    for template, expected in [
        ("Pay {invoice", "“{” without its “}”"),
        ("Pay invoice}", "“}” without a “{”"),
        ("Pay {}", "empty {}"),
        ("Pay {a{b}}", "“{” without its “}”"),
    ]:
        with pytest.raises(ValueError, match=expected):
            template_columns(template)
