"""lib.rows: a row's HTML is exactly what format_html would write, every value escaped once."""

import pytest
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from voxdash.lib.rows import html_format, html_lines

ROW = '<tr data-x="{attr}"><td>{text}</td><td>{cell}</td></tr>'


@pytest.mark.parametrize(
    "value",
    [
        '<script>alert("x")</script>',
        "O'Brien & Sons",
        "plain",
        42,
        None,
        "",
        'ü+1 "quoted"',
        gettext_lazy("Lazy"),
    ],
)
def test_a_value_is_escaped_as_format_html_escapes_it(value):
    written = html_format(ROW, attr=value, text=value, cell=value)
    assert written == format_html(ROW, attr=value, text=value, cell=value)
    assert isinstance(written, SafeString)


def test_safe_html_is_kept_and_not_escaped_twice():
    badge = format_html('<span class="badge">{}</span>', "a&b")
    written = html_format(ROW, attr=escape("<q>"), text=badge, cell="<b>")
    assert (
        written == '<tr data-x="&lt;q&gt;"><td><span class="badge">a&amp;b</span></td><td>&lt;b&gt;</td></tr>'
    )


def test_lines_are_joined_a_row_a_line_and_stay_safe():
    rows = html_lines(html_format("<tr><td>{n}</td></tr>", n=n) for n in (1, 2))
    assert rows == "<tr><td>1</td></tr>\n<tr><td>2</td></tr>" and isinstance(rows, SafeString)
    assert html_lines([]) == ""
