"""Cells a spreadsheet will not run: every CSV voxdash writes (calls, campaign rows, the audit log)."""

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (CSV
# injection): it gets a leading apostrophe, which they show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
