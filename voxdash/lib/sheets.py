"""Reading an uploaded list (customers to call, numbers not to call): CSV (as Excel, LibreOffice and Google Sheets export it)
or an Excel workbook (.xlsx), one row at a time.

Nothing here holds the whole file: the size is checked before any byte is read, the CSV is
decoded and parsed as it streams from the upload (Django keeps uploads over 2.5 MB in a temporary
file), and a workbook's first sheet is read with openpyxl's read-only mode. What goes wrong comes
back as one `SheetError` whose message a person can act on: it names the limit, the
columns found or what to save the file as.

What the reader decides, so that the preview shows rows the way the spreadsheet did:
- Encodings: UTF-8 with or without a BOM (every current export); UTF-16 with a BOM (Excel's
  "Unicode Text"); otherwise Windows-1252, which is what older Excel writes for "CSV (Comma
  delimited)" on Windows: refusing it would only send people hunting for a menu option, and the
  names it holds (é, ü, ñ) come out right. A file that is neither is refused.
- The delimiter is the one of comma, semicolon or tab that splits the header line into the most
  columns (Excel writes semicolons where the decimal separator is a comma).
- Row numbers are the spreadsheet's: the header is row 1 when the file starts with it, and blank
  rows are skipped but still counted, so "row 12" in voxdash is row 12 in the spreadsheet.
- Cells are text, trimmed. Formula-looking cells (=HYPERLINK(…), +SUM(…), @x) stay as written:
  they are data here, and the exports neutralise them on the way out. A workbook's numbers
  become their digits (8012345678, not 8012345678.0 or 8.012345678E9), its dates ISO dates.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import PurePath

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MB = 1024 * 1024

PHONE_COLUMNS = ("customer_phone", "phone")
NAME_COLUMNS = ("customer_name", "name")
DELIMITERS = (",", ";", "\t")
CHUNK = 64 * 1024

# What a file that is not text starts with, and what to tell its owner.
_SIGNATURES = (
    (
        b"PK\x03\x04",
        "This file is an Excel workbook or another zip file, not a CSV: name it .xlsx, or export CSV.",
    ),
    (b"\xd0\xcf\x11\xe0", "This is an old Excel workbook (.xls): save it as CSV or Excel Workbook (.xlsx)."),
    (b"%PDF", "This is a PDF: export the list from its spreadsheet as CSV or .xlsx."),
)


# What kind of problem a SheetError is, for a caller that answers differently (the API: 413, 415).
UNREADABLE = "unreadable"  # the file is of a kind voxdash reads, but its contents cannot be used
NOT_A_SHEET = "not_a_sheet"  # not a CSV or .xlsx file (its name, or what it starts with)
TOO_LARGE = "too_large"  # over MAX_FILE_BYTES or MAX_ROWS


class SheetError(Exception):
    """The file cannot be used; `message` says why, as a sentence for the person who chose it."""

    def __init__(self, message: str, *, code: str = UNREADABLE):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class SheetRow:
    number: int  # the spreadsheet's row number (the header is row 1)
    cells: dict[str, str]  # column name, as the header writes it -> cell text, trimmed


def size_text(size: int) -> str:
    """10,485,761 bytes -> "10.1 MB": rounded up, so a file just over the limit never reads "10.0"."""
    return f"{math.ceil(size * 10 / MB) / 10:.1f} MB"


def sheet_check(*, size: int | None, filename: str) -> None:
    """What can be refused before reading a byte: the size, and a kind of file voxdash cannot read.
    The form checks this on upload; `sheet_open` again, for every other caller."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        named = f"“{filename}” is" if filename else "This file is"
        raise SheetError(
            f"{named} not a CSV or .xlsx file: save the list from its spreadsheet as CSV or Excel Workbook (.xlsx).",
            code=NOT_A_SHEET,
        )
    if size is not None and size > MAX_FILE_BYTES:
        raise SheetError(
            f"The file is {size_text(size)}; the limit is {MAX_FILE_BYTES // MB} MB.", code=TOO_LARGE
        )
    if size == 0:
        raise SheetError("The file is empty.")


def sheet_open(upload, *, filename: str) -> Sheet:
    """The uploaded file's first sheet, its header read and checked; its rows come from `rows()`.

    `upload` is a binary file object (a Django UploadedFile, an open file): it is read where it
    is, never copied into memory. Raises SheetError.
    """
    sheet_check(size=_size(upload), filename=filename)
    if PurePath(filename).suffix.lower() == ".xlsx":
        return _WorkbookSheet(upload)
    return _CsvSheet(upload)


class Sheet:
    columns: list[str]  # the header's names, trimmed, in order (empty ones left out)
    phone_column: str
    name_column: str | None
    header_number: int  # the header's row number: 1 unless the file starts with blank rows
    encoding: str  # how the file was read: "utf-8", "utf-16", "cp1252" or "xlsx"

    def _header_set(self, raw: list[str], number: int) -> None:
        """Name the columns from the header row; refuse a header without a phone column."""
        self.header_number = number
        self._positions: list[tuple[int, str]] = []
        seen: dict[str, int] = {}
        for index, cell in enumerate(raw):
            name = cell.strip()
            if not name:  # trailing delimiters, unnamed helper columns: nothing to address
                continue
            if name.lower() in seen:
                first = _column_letter(seen[name.lower()])
                raise SheetError(
                    f"The header names “{name}” twice (columns {first} and {_column_letter(index)}): "
                    "give each column its own name."
                )
            seen[name.lower()] = index
            self._positions.append((index, name))
        self.columns = [name for _, name in self._positions]
        by_lower = {name.lower(): name for name in self.columns}
        phone = next((by_lower[c] for c in PHONE_COLUMNS if c in by_lower), None)
        if phone is None:
            found = ", ".join(f"“{c}”" for c in self.columns) or "no named columns"
            raise SheetError(
                f"The file has no phone column: name one column customer_phone or phone. Its header has {found}."
            )
        self.phone_column = phone
        self.name_column = next((by_lower[c] for c in NAME_COLUMNS if c in by_lower), None)
        self._width = max(index for index, _ in self._positions) + 1

    def _row(self, number: int, raw) -> SheetRow | None:
        """A data row as named cells; None for a blank row. Cells past the header's last named
        column are dropped, missing ones are empty."""
        cells = {}
        filled = False
        for index, name in self._positions:
            value = raw[index].strip() if index < len(raw) else ""
            cells[name] = value
            filled = filled or bool(value)
        if not filled and not any(str(v).strip() for v in raw):
            return None
        return SheetRow(number=number, cells=cells)

    def rows(self) -> Iterator[SheetRow]:
        """The data rows, in order, blank ones skipped. Raises SheetError past MAX_ROWS."""
        count = 0
        for row in self._data_rows():
            count += 1
            if count > MAX_ROWS:
                raise SheetError(
                    f"The file has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,}. "
                    "Split it into smaller files.",
                    code=TOO_LARGE,
                )
            yield row

    def close(self) -> None:
        """Let go of what reading holds (a workbook's zip archive); the upload stays open."""

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _data_rows(self) -> Iterator[SheetRow]:
        raise NotImplementedError


class _CsvSheet(Sheet):
    def __init__(self, upload):
        self._file = _binary(upload)
        self.encoding = _encoding(self._file)
        self.delimiter = ","
        for number, raw in self._records(sniff=True):
            if any(cell.strip() for cell in raw):
                self._header_set(raw, number)
                return
        raise SheetError("The file has no header row: its first row must name the columns.")

    def _records(self, *, sniff: bool = False) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) for every record, blank ones included, from the file's start."""
        self._file.seek(0)
        # newline="": the csv module sees each line end as written, so quoted cells may hold
        # CRLF, LF or lone-CR line breaks of their own.
        text = io.TextIOWrapper(self._file, encoding=_CODECS[self.encoding], newline="")
        try:
            if sniff:
                self.delimiter = _delimiter(text)
                text.seek(0)
            number = 0
            try:
                for number, raw in enumerate(csv.reader(text, delimiter=self.delimiter), start=1):
                    yield number, raw
            except csv.Error as exc:  # e.g. a cell over the csv module's 131,072 characters
                raise SheetError(f"Row {number + 1} could not be read as CSV: {exc}.") from None
        finally:
            # The wrapper would close the upload with itself; the upload is not ours to close.
            text.detach()

    def _data_rows(self) -> Iterator[SheetRow]:
        for number, raw in self._records():
            if number > self.header_number and (row := self._row(number, raw)) is not None:
                yield row


class _WorkbookSheet(Sheet):
    def __init__(self, upload):
        self.encoding = "xlsx"
        from openpyxl import load_workbook  # only uploads of workbooks pay for importing it

        self._file = _binary(upload)
        self._file.seek(0)
        try:
            self._book = load_workbook(self._file, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl fails in many ways on what is not a workbook
            raise SheetError(
                f"This file could not be read as an Excel workbook ({type(exc).__name__}): "
                "save it again from Excel as Excel Workbook (.xlsx), or export CSV."
            ) from None
        if not self._book.worksheets:
            self.close()
            raise SheetError("The workbook has no sheet with rows in it.")
        self._sheet = self._book.worksheets[0]
        # Workbooks formatted "to the end" declare a million rows or 16,384 columns; openpyxl would
        # pad every row to that size. Without the declared size each row holds its own cells.
        self._sheet.reset_dimensions()
        try:
            for number, raw in enumerate(self._sheet.iter_rows(values_only=True), start=1):
                if any(_cell_text(v) for v in raw):
                    self._header_set([_cell_text(v) for v in raw], number)
                    return
        except SheetError:
            self.close()
            raise
        except Exception as exc:  # a damaged sheet fails inside openpyxl's XML parsing
            self.close()
            raise _unreadable(exc) from None
        self.close()
        raise SheetError("The workbook's first sheet has no header row: its first row must name the columns.")

    def close(self) -> None:
        self._book.close()

    def _data_rows(self) -> Iterator[SheetRow]:
        rows = self._sheet.iter_rows(min_row=self.header_number + 1, max_col=self._width, values_only=True)
        try:
            for number, raw in enumerate(rows, start=self.header_number + 1):
                row = self._row(number, [_cell_text(v) for v in raw])
                if row is not None:
                    yield row
        except SheetError:
            raise
        except Exception as exc:
            raise _unreadable(exc) from None
        finally:
            self.close()


class _RowsSheet(Sheet):
    """Rows already split into named cells (a list sent as JSON): the header is the names, in
    the order they first appear; row n is the list's n-th (there is no header row to count)."""

    def __init__(self, rows: list[dict[str, object]]):
        self.encoding = "json"
        self._raw = rows
        self._names = list(dict.fromkeys(name for row in rows for name in row))
        if any("\x00" in name for name in self._names):
            raise SheetError("A column's name holds a NUL character: send the names as plain text.")
        self._header_set(self._names, 0)

    def _data_rows(self) -> Iterator[SheetRow]:
        for number, cells in enumerate(self._raw, start=1):
            raw = [_value_text(cells.get(name)) for name in self._names]
            if any("\x00" in cell for cell in raw):  # a file with one is refused as not text, too
                raise SheetError(f"Row {number} holds a NUL character: send the cells as plain text.")
            if (row := self._row(number, raw)) is not None:
                yield row


def sheet_of_rows(rows: list[dict[str, object]]) -> Sheet:
    """A list of rows (column name -> value) read by the same rules as a file's: a phone column,
    names once each, blank rows skipped, at most MAX_ROWS. Raises SheetError."""
    if not rows:
        raise SheetError("There are no rows: there is no one to call.")
    return _RowsSheet(rows)


def _value_text(value) -> str:
    return "" if value is None else str(value)


def _unreadable(exc: Exception) -> SheetError:
    return SheetError(
        f"Part of this workbook could not be read ({type(exc).__name__}): "
        "save it again from Excel as Excel Workbook (.xlsx), or export CSV."
    )


def _cell_text(value) -> str:
    """A workbook cell as the text a person reads in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        # Phone numbers typed into a General cell are stored as numbers: 2.348012345678E12.
        return str(int(value))
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


def _column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet names a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _size(upload) -> int | None:
    size = getattr(upload, "size", None)
    if size is not None:
        return size
    try:  # a plain file object: its end, without reading it
        position = upload.tell()
        size = upload.seek(0, io.SEEK_END)
        upload.seek(position)
        return size
    except (AttributeError, OSError):
        return None


def _binary(upload):
    """The seekable binary file underneath a Django UploadedFile (or the object itself)."""
    inner = getattr(upload, "file", None)
    return inner if inner is not None and hasattr(inner, "seek") else upload


_CODECS = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "cp1252": "cp1252"}


def _encoding(file) -> str:
    """How to decode the file, from one streamed pass over it; refuses what is not text."""
    file.seek(0)
    head = file.read(CHUNK)
    if not head:
        raise SheetError("The file is empty.")
    for signature, message in _SIGNATURES:
        if head.startswith(signature):
            raise SheetError(message, code=NOT_A_SHEET)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    elif b"\x00" in head:
        raise SheetError(
            "This is not a text file: export the list from its spreadsheet as CSV or .xlsx.", code=NOT_A_SHEET
        )
    else:
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        if _decodes(file, _CODECS[encoding]):
            return encoding
    raise SheetError(
        "The file's characters could not be read: save it as CSV UTF-8 (Excel: Save As, “CSV UTF-8 (Comma delimited)”)."
    )


def _decodes(file, encoding: str) -> bool:
    file.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := file.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(text) -> str:
    """Comma, semicolon or tab: whichever splits the first non-blank line into the most cells
    (read with the csv module, so a quoted "Okonkwo, Adaeze" is one cell). Ties go to the comma."""
    for line in text:
        if line.strip():
            break
    else:
        return ","
    counts = {d: len(next(csv.reader([line], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals: the comma
