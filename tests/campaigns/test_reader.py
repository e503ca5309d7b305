"""Reading uploaded lists as the spreadsheets people use export them (campaigns.reader)."""

import io

import pytest

from voxdash.lib.sheets import MAX_FILE_BYTES, MAX_ROWS, SheetError, sheet_open

from . import files
from .files import HEADER, ROWS


def read(content: bytes, name: str = "customers.csv"):
    sheet = sheet_open(files.upload(content, name), filename=name)
    return sheet, list(sheet.rows())


def refusal(content: bytes, name: str = "customers.csv") -> str:
    with pytest.raises(SheetError) as caught:
        sheet = sheet_open(files.upload(content, name), filename=name)
        list(sheet.rows())
    return caught.value.message


@pytest.mark.parametrize(
    "export", [files.excel_csv, files.old_excel_csv, files.libreoffice_csv, files.google_sheets_csv]
)
def test_each_spreadsheets_export_reads_the_same(export):
    rows = [*ROWS, ["0809 999 0000", "José Álvarez", "INV-004", "300"]]
    if export is files.old_excel_csv:  # Windows-1252 cannot hold the Yorùbá name
        rows = [r for r in rows if "ọ" not in r[1]]
    sheet, read_rows = read(export(rows))
    assert sheet.columns == HEADER  # no BOM glued to the first name
    assert (sheet.phone_column, sheet.name_column) == ("customer_phone", "customer_name")
    assert [r.number for r in read_rows] == list(range(2, 2 + len(rows)))
    assert [list(r.cells.values()) for r in read_rows] == rows
    assert all(list(r.cells) == HEADER for r in read_rows)


def test_excel_semicolons_and_windows_1252_are_recognised():
    sheet, _ = read(files.excel_csv(ROWS))
    assert (sheet.delimiter, sheet.encoding) == (";", "utf-8")
    sheet, rows = read(files.old_excel_csv([["0801 234 5678", "Zoë Müller", "INV-1", "1"]]))
    assert (sheet.delimiter, sheet.encoding) == (",", "cp1252")
    assert rows[0].cells["customer_name"] == "Zoë Müller"


def test_quoted_cells_keep_delimiters_quotes_and_line_breaks_and_rows_keep_their_numbers():
    rows = [
        ["0801 234 5678", "Okonkwo; Adaeze", 'Said "call after 5"', "1,500"],
        ["0803 123 4561", "Eze, Emeka", "two\r\nlines", "2"],
        ["0805 123 4562", "Bello", "three\nlines\nhere", "3"],
        ["0807 123 4563", "After", "x", "4"],
    ]
    for export in (files.excel_csv, files.google_sheets_csv, files.libreoffice_csv):
        sheet, read_rows = read(export(rows))
        assert [list(r.cells.values()) for r in read_rows] == rows
        # A cell's own line breaks do not make new spreadsheet rows.
        assert [r.number for r in read_rows] == [2, 3, 4, 5]


def test_blank_rows_are_skipped_but_still_counted_as_the_spreadsheet_counts_them():
    content = (
        "\ufeffcustomer_phone;customer_name\r\n"
        "0801 234 5678;Ada\r\n"
        "\r\n"
        ";\r\n"  # Excel writes an empty row of a two-column sheet as one delimiter
        "  ;  \r\n"
        "0803 123 4561;Emeka\r\n"
        "\r\n\r\n"
    ).encode()
    _, rows = read(content)
    assert [(r.number, r.cells["customer_name"]) for r in rows] == [(2, "Ada"), (6, "Emeka")]


def test_rows_before_the_header_are_counted_too():
    sheet, rows = read(b"\r\n\r\nphone,name\r\n0801 234 5678,Ada\r\n")
    assert sheet.header_number == 3
    assert [r.number for r in rows] == [4]


def test_old_mac_line_endings():
    _, rows = read(b"phone,name\r0801 234 5678,Ada\r0803 123 4561,Emeka\r")
    assert [(r.number, r.cells["name"]) for r in rows] == [(2, "Ada"), (3, "Emeka")]


def test_header_is_matched_trimmed_and_in_any_case():
    sheet, rows = read(b" Phone ; NAME ;Invoice \r\n0801 234 5678; Ada ; INV-1 \r\n")
    assert sheet.columns == ["Phone", "NAME", "Invoice"]
    assert (sheet.phone_column, sheet.name_column) == ("Phone", "NAME")
    assert rows[0].cells == {"Phone": "0801 234 5678", "NAME": "Ada", "Invoice": "INV-1"}


def test_customer_phone_wins_over_phone_and_a_name_column_is_optional():
    sheet, _ = read(b"phone,Customer_Phone,amount\r\n1,2,3\r\n")
    assert (sheet.phone_column, sheet.name_column) == ("Customer_Phone", None)


def test_short_rows_are_padded_and_unnamed_columns_dropped():
    _, rows = read(b"phone,name,,\r\n0801 234 5678\r\n0803 123 4561,Emeka,extra,more,and more\r\n")
    assert [r.cells for r in rows] == [
        {"phone": "0801 234 5678", "name": ""},
        {"phone": "0803 123 4561", "name": "Emeka"},
    ]


def test_the_delimiter_is_the_one_that_splits_the_header_most_not_one_inside_quotes():
    sheet, rows = read(b'"Name, in full";phone;note\r\n"Okonkwo, Adaeze";0801 234 5678;a,b\r\n')
    assert sheet.delimiter == ";"
    assert rows[0].cells == {"Name, in full": "Okonkwo, Adaeze", "phone": "0801 234 5678", "note": "a,b"}
    sheet, _ = read(b"phone\tname\r\n0801\tAda\r\n")
    assert sheet.delimiter == "\t"


def test_national_numbers_and_formula_cells_are_kept_as_written():
    rows = [
        ["0801 234 5678", '=HYPERLINK("http://evil.example","click")', "+SUM(A1:A9)", "@cmd"],
        ["(0803) 123-4561", "-2+3", "=1+1", "'0801"],
    ]
    _, read_rows = read(files.google_sheets_csv(rows))
    assert [list(r.cells.values()) for r in read_rows] == rows


def test_utf16_unicode_text_from_excel():
    content = "customer_phone\tcustomer_name\r\n0801 234 5678\tFúnmiláyọ̀ Adébáyọ̀\r\n".encode("utf-16")
    sheet, rows = read(content)
    assert sheet.encoding == "utf-16"
    assert rows[0].cells["customer_name"] == "Fúnmiláyọ̀ Adébáyọ̀"


def test_a_file_that_is_neither_utf8_nor_windows_1252_is_refused_saying_what_to_save():
    # 0x81 and 0x8d are the bytes Windows-1252 leaves undefined; the file is not UTF-8 either.
    message = refusal(b"phone,name\r\n0801,\x81\x8d\xe9\r\n")
    assert "CSV UTF-8" in message


def test_no_phone_column_names_the_columns_found():
    message = refusal(b"Mobile;Full name;Invoice\r\n0801;Ada;1\r\n")
    assert "customer_phone or phone" in message
    assert "“Mobile”, “Full name”, “Invoice”" in message


def test_a_column_named_twice_is_refused():
    message = refusal(b"phone,name,Phone\r\n1,2,3\r\n")
    assert "“Phone” twice (columns A and C)" in message


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"", "customers.csv", "The file is empty."),
        (b"\r\n\r\n  \r\n", "customers.csv", "no header row"),
        (b"phone,name\r\n", "customers.xls", "not a CSV or .xlsx file"),
        (b"%PDF-1.7 ...", "customers.pdf", "not a CSV or .xlsx file"),
        (b"phone,name\r\n", "customers", "not a CSV or .xlsx file"),
        (b"%PDF-1.7\n\x00\x01", "customers.csv", "This is a PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "customers.csv", "old Excel workbook (.xls)"),
        (files.xlsx(ROWS), "customers.csv", "Excel workbook or another zip file"),
        (b"\x00\x01\x02\x03binary", "customers.csv", "not a text file"),
        (b"phone,name\r\n0801,Ada\r\n", "customers.xlsx", "could not be read as an Excel workbook"),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_message(content, name, expected):
    assert expected in refusal(content, name)


class _Unreadable(io.BytesIO):
    """An upload that fails the test if anything reads it."""

    def __init__(self, size):
        super().__init__()
        self.size = size

    def read(self, *args):
        raise AssertionError("the file was read")


def test_a_file_over_10_mb_is_refused_before_a_byte_is_read():
    with pytest.raises(SheetError) as caught:
        sheet_open(_Unreadable(MAX_FILE_BYTES + 1), filename="customers.csv")
    assert caught.value.message == "The file is 10.1 MB; the limit is 10 MB."
    with pytest.raises(SheetError) as caught:
        sheet_open(_Unreadable(12_900_000), filename="customers.xlsx")
    assert caught.value.message == "The file is 12.4 MB; the limit is 10 MB."


def _sized_csv(rows: int, size: int) -> bytes:
    """A CSV of exactly `size` bytes and `rows` data rows (realistic columns, notes padding it)."""
    header = b"customer_phone,customer_name,invoice,amount,note\r\n"
    lines = [",".join([*row, "note "]) for row in files.generated_rows(rows - 1)]
    lines.append("08129999999,Last Row,INV-LAST,1,note ")
    padding = size - len(header) - sum(len(line.encode()) + 2 for line in lines)
    assert padding > 0, "the rows alone are bigger than asked"
    each, rest = divmod(padding, rows)
    body = header + b"".join(
        (line + "x" * (each + (rest if i == rows - 1 else 0)) + "\r\n").encode()
        for i, line in enumerate(lines)
    )
    assert len(body) == size
    return body


def test_a_file_just_under_10_mb_with_100000_rows_is_read_from_its_temporary_file():
    # Django keeps an upload this size in a temporary file: the reader works from the file.
    content = _sized_csv(MAX_ROWS, MAX_FILE_BYTES - 1)
    upload = files.temporary_upload(content)
    sheet = sheet_open(upload, filename="customers.csv")
    count = last = 0
    for row in sheet.rows():
        count, last = count + 1, row
    assert count == MAX_ROWS
    assert last.number == MAX_ROWS + 1 and last.cells["customer_name"] == "Last Row"
    assert not upload.closed  # the reader leaves the upload to its owner
    upload.close()


def test_a_file_just_over_10_mb_is_refused():
    content = _sized_csv(1000, MAX_FILE_BYTES + 1)
    with pytest.raises(SheetError) as caught:
        sheet_open(files.temporary_upload(content), filename="customers.csv")
    assert "the limit is 10 MB" in caught.value.message


def test_more_than_100000_rows_is_refused_naming_the_limit():
    content = b"phone\r\n" + b"08030000000\r\n" * (MAX_ROWS + 1)
    sheet = sheet_open(files.upload(content), filename="customers.csv")
    rows = sheet.rows()
    for _ in range(MAX_ROWS):
        next(rows)
    with pytest.raises(SheetError) as caught:
        next(rows)
    assert "more than 100,000 rows; the limit is 100,000" in caught.value.message


def test_blank_rows_do_not_count_towards_the_row_limit():
    content = b"phone\r\n" + b"\r\n" * (MAX_ROWS + 5) + b"08030000000\r\n"
    _, rows = read(content)
    assert [r.number for r in rows] == [MAX_ROWS + 7]


def test_xlsx_numbers_stored_as_numbers_become_their_digits_and_dates_iso():
    content = files.xlsx(
        [
            [8012345678, "Adaeze Okonkwo", 15000, files.EXAMPLE_DATE],
            [2.348012345678e12, "Emeka Eze", 1250.5, files.EXAMPLE_DATETIME],
            ["0805 123 4562", None, "INV-3", None],
            [],
            ["0807 123 4563", True, files.Text('=HYPERLINK("x")'), 7],
        ],
        header=["Phone", "Name", "Amount", "Due"],
        sheets=2,
    )
    sheet, rows = read(content, "customers.xlsx")
    assert sheet.columns == ["Phone", "Name", "Amount", "Due"] and sheet.encoding == "xlsx"
    assert [(r.number, list(r.cells.values())) for r in rows] == [
        (2, ["8012345678", "Adaeze Okonkwo", "15000", "2026-12-15"]),
        (3, ["2348012345678", "Emeka Eze", "1250.5", "2026-12-15 09:30"]),
        (4, ["0805 123 4562", "", "INV-3", ""]),
        (6, ["0807 123 4563", "TRUE", '=HYPERLINK("x")', "7"]),  # row 5 is blank
    ]


def test_xlsx_without_a_phone_column_names_its_columns():
    message = refusal(files.xlsx([["Ada", 1]], header=["Full name", "Amount"]), "customers.xlsx")
    assert "“Full name”, “Amount”" in message


def test_xlsx_over_the_row_limit_is_refused(monkeypatch):
    monkeypatch.setattr("voxdash.lib.sheets.MAX_ROWS", 3)
    content = files.xlsx([[f"0803000000{i}"] for i in range(4)], header=["phone"])
    assert "more than 3 rows; the limit is 3" in refusal(content, "customers.xlsx")


def test_an_empty_workbook_is_refused():
    assert "no header row" in refusal(files.xlsx([], header=[]), "customers.xlsx")
