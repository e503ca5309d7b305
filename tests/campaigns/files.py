"""Lists of customers as the spreadsheets people use write them, made in code (no binary files in
the repository), and the upload objects Django hands a view."""

import csv
import io
from datetime import date, datetime

from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

HEADER = ["customer_phone", "customer_name", "invoice", "amount"]
ROWS = [
    ["0801 234 5678", "Adaeze Okonkwo", "INV-001", "15,000"],
    ["+234 803 123 4561", "Fúnmiláyọ̀ Adébáyọ̀", "INV-002", "7,500"],
    ["08051234562", "Zoë Müller", "INV-003", "1,250"],
]


def _csv(rows, *, delimiter=",", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator, quoting=quoting)
    writer.writerows(rows)
    return out.getvalue()


def excel_csv(rows, header=HEADER) -> bytes:
    """Excel's "CSV UTF-8" where the decimal separator is a comma: a BOM, semicolons, CRLF, and
    quotes only around cells that need them."""
    return b"\xef\xbb\xbf" + _csv([header, *rows], delimiter=";").encode()


def old_excel_csv(rows, header=HEADER) -> bytes:
    """Older Excel's "CSV (Comma delimited)" on Windows: Windows-1252, commas, CRLF."""
    return _csv([header, *rows]).encode("cp1252")


def libreoffice_csv(rows, header=HEADER) -> bytes:
    """LibreOffice Calc's default export on Linux: UTF-8 without a BOM, commas, LF, every text
    cell quoted ("Quote all text cells")."""
    return _csv([header, *rows], lineterminator="\n", quoting=csv.QUOTE_ALL).encode()


def google_sheets_csv(rows, header=HEADER) -> bytes:
    """Google Sheets' File > Download > CSV: UTF-8 without a BOM, commas, CRLF."""
    return _csv([header, *rows]).encode()


class Text(str):
    """A workbook cell typed as text though it looks like a formula (Excel: a leading apostrophe)."""


def xlsx(rows, header=HEADER, *, sheets=1) -> bytes:
    """An Excel workbook written by openpyxl (as Excel stores it: numbers as numbers, dates as
    dates). `rows` may hold ints, floats, dates, None and `Text` as well as text."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Customers"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
        for column, value in enumerate(row, start=1):
            if isinstance(value, Text):
                sheet.cell(sheet.max_row, column).data_type = "s"
    for n in range(1, sheets):
        book.create_sheet(f"Other {n}").append(["not", "this", "one"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(content: bytes, name: str = "customers.csv"):
    """What Django hands a view for a small upload (kept in memory)."""
    return SimpleUploadedFile(name, content, content_type="text/csv")


def temporary_upload(content: bytes, name: str = "customers.csv") -> TemporaryUploadedFile:
    """What Django hands a view for an upload over FILE_UPLOAD_MAX_MEMORY_SIZE: a temporary file."""
    file = TemporaryUploadedFile(name, "text/csv", len(content), None)
    file.write(content)
    file.seek(0)
    return file


def generated_rows(count: int, *, start: int = 0):
    """`count` distinct valid Nigerian mobile numbers in national format, with names and invoices."""
    names = ["Adaeze Okonkwo", "Emeka Eze", "Aisha Bello", "Ngozi Ọkafọ̀r", "José Álvarez"]
    for i in range(start, start + count):
        yield [f"0803{i:07d}", names[i % len(names)], f"INV-{i:06d}", f"{1000 + i % 9000:,}"]


EXAMPLE_DATE = date(2026, 12, 15)
EXAMPLE_DATETIME = datetime(2026, 12, 15, 9, 30)
