"""lib.querystring writes the hrefs the {% querystring %} tag writes (the history's links use it)."""

import pytest
from django.http import QueryDict
from django.template import Context, Template
from django.test import RequestFactory

from voxdash.lib.querystring import QueryString

QUERIES = [
    "",
    "page=3",
    "status=failed&page=3&search=a",
    "search=Fúnmiláyọ̀ Adébáyọ̀&direction=inbound",
    "search=+234 801&limit=50",
    "status=completed&status=failed&foo=bar&page=2",
    "search=a%26b%3Dc&empty=&x=%2F%3F%23",
]
CHANGES = [
    {"page": 2},
    {"page": None},
    {"limit": 100, "page": None},
    {"status": "busy", "page": None},
    {"status": None, "page": None},
    {"search": "ngozi ọkafọ̀r & co"},
    {"new": "value", "page": 1},
]


def tag_href(query: str, changes: dict) -> str:
    """What the template tag writes for the same link (unescaped: autoescape off)."""
    request = RequestFactory().get("/calls/?" + query)
    template = Template("{% autoescape off %}{% querystring request.GET changes %}{% endautoescape %}")
    return template.render(Context({"request": request, "changes": changes}))


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("changes", CHANGES, ids=[str(c) for c in CHANGES])
def test_the_same_href_as_the_tag(query, changes):
    assert QueryString(QueryDict(query)).href(changes) == tag_href(query, changes)


def test_nothing_left_is_a_bare_question_mark():
    # As the tag: "?" links to the list with no parameters (the "All" choice of the only filter).
    assert QueryString(QueryDict("status=failed")).href({"status": None}) == "?"


def test_a_plain_mapping_is_a_query_too():
    assert QueryString({"state": "open"}).href({"page": 2}) == "?state=open&page=2"
