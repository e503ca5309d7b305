"""Shapes every endpoint shares: the error body and a page of a list."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from ninja import Schema
from pydantic import Field

from voxdash.lib.paging import COUNT_CAP, capped_count

T = TypeVar("T")

MAX_LIMIT = 100
# Past this a page number is a probe, not a reader: refused (422) before it reaches an OFFSET.
MAX_PAGE = 1_000_000


class ErrorDetail(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    error: str = Field(description="A stable code to branch on, e.g. `missing_scope`")
    message: str = Field(description="What went wrong, for people")
    details: list[ErrorDetail] = Field(default_factory=list, description="Per field, for a 422")


class PageOut(Schema, Generic[T]):
    data: list[T]
    page: int
    limit: int
    total: int = Field(description="Items in all; a lower bound when `total_is_lower_bound`")
    total_is_lower_bound: bool = False
    has_more: bool


def page_of_capped(rows: QuerySet, *, page: int, limit: int, shape) -> dict:
    """Page `page` of `rows` (ordered), each made by `shape`, counted no further than COUNT_CAP."""
    found = capped_count(rows, cap=COUNT_CAP)
    start = (page - 1) * limit
    beyond = start >= found and found <= COUNT_CAP  # past the last page of an exact count: no query
    items = [] if beyond else [shape(row) for row in rows[start : start + limit]]
    return page_of(items, page=page, limit=limit, total=min(found, COUNT_CAP), lower_bound=found > COUNT_CAP)


def page_of(items: list[Any], *, page: int, limit: int, total: int, lower_bound: bool = False) -> dict:
    return {
        "data": items,
        "page": page,
        "limit": limit,
        "total": total,
        "total_is_lower_bound": lower_bound,
        "has_more": page * limit < total or (lower_bound and len(items) == limit),
    }


# The errors any authenticated endpoint may answer, for its `response=` (schemathesis checks them).
COMMON_ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}
