"""Table rows written as HTML in Python, once a row, as the Django admin writes its changelist's
cells (admin_list.items_for_result): a list's rows are most of its page, and Django's template
engine costs ~2-3 µs a variable and condition, ~30-40 µs a row of a dozen (issue 15). Each list
keeps its row's markup as one format string beside the code that fills it.
"""

import html
from collections.abc import Iterable

from django.utils.safestring import SafeData, SafeString

# A plain link inside a row's cell (html_format(LINK_HTML, url=…, text=…)).
LINK_HTML = '<a href="{url}">{text}</a>'


def html_format(template: str, /, **values) -> SafeString:
    """format_html(template, **values): every value escaped unless already safe HTML. Without
    format_html's check for lazy text in every value (a row's dozen values are plain strings) and
    mark_safe's checks of what it is given (a str, here): together ~3× the escaping itself.
    html.escape is what django.utils.html.escape calls."""
    escaped = {name: v if isinstance(v, SafeData) else html.escape(str(v)) for name, v in values.items()}
    return SafeString(template.format(**escaped))


def html_lines(rows: Iterable[SafeString]) -> SafeString:
    """The rows of a table's body, a line each."""
    return SafeString("\n".join(rows))
