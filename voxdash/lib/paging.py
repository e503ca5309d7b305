"""The pager every list shares (templates/includes/pager.html): the Django admin's elided page
range ("1 2 … 7 8 9 … 15 16"), whether the pages come from a queryset or from the API's meta."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import QueryDict

from .querystring import QueryString


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None marks a gap ("…")
    # The link's href, made in Python when the view gave pager() the query; "" otherwise (and for
    # gaps), and the template writes it with {% querystring %}.
    href: str = ""


@dataclass(frozen=True)
class Pager:
    number: int  # the current page
    page_range: list[int | None]  # None marks a gap ("…"): templates need not compare to a translated string
    sizes: Sequence[int] = ()  # the page sizes on offer, for lists that let the reader choose
    size: int | None = None  # the current page size
    # The count was capped ("10,000+"): the last page shown is not known to be the last, so the
    # pager says more may follow instead of offering a last page.
    open_ended: bool = False
    links: Sequence[PageLink] = ()  # page_range as links
    size_links: Sequence[PageLink] = ()  # one per size in `sizes` (`number` is the size)
    next: PageLink | None = None  # open-ended only: the page after this one, while there is one


def pager(
    paginator: Paginator,
    number: int,
    *,
    on_ends: int = 2,
    sizes: Sequence[int] = (),
    size: int | None = None,
    open_ended: bool = False,
    has_more: bool | None = None,
    query: QueryDict | None = None,
) -> Pager:
    """The pager of page `number` (clamped to the pages there are); no page links for one page.

    `open_ended`: the paginator's last page is a lower bound, so neither it nor the pages before
    it beyond the current one's neighbours are offered; a "Next" link is, while `has_more` (by
    default: while the paginator has pages after this one). `query` (`request.GET`) makes every
    link's href here, once, instead of one {% querystring %} per link in the template.
    """
    current = min(max(number, 1), paginator.num_pages)
    page_range = []
    if paginator.num_pages > 1:
        page_range = [
            None if n == paginator.ELLIPSIS else n
            for n in paginator.get_elided_page_range(current, on_each_side=2, on_ends=on_ends)
        ]
    more = current < paginator.num_pages if has_more is None else has_more
    if open_ended:
        # The last pages of a capped count are a guess: the range stops at the current page's
        # neighbours, and a gap says that more follow.
        page_range = [n for n in page_range if n is None or n <= current + 2]
        while page_range and page_range[-1] is None:
            page_range.pop()
        if more:
            page_range = [*(page_range or [current]), None]
    queries = QueryString(query) if query is not None else None

    def link(n: int | None, **changes) -> PageLink:
        href = queries.href(changes) if queries is not None and n is not None else ""
        return PageLink(number=n, href=href)

    return Pager(
        number=number,
        page_range=page_range,
        sizes=sizes,
        size=size,
        open_ended=open_ended,
        links=[link(n, page=n) for n in page_range],
        size_links=[link(s, limit=s, page=None) for s in sizes],
        next=link(current + 1, page=current + 1) if open_ended and more else None,
    )


# How far a list that may be long is counted ("10,000+" past it), for the lists that import it (the
# API's, the delivery log). The audit log, the placed calls and the webhook log name theirs beside
# the measurement that chose it.
COUNT_CAP = 10_000


def capped_count(rows: QuerySet, *, cap: int) -> int:
    """How many rows the queryset holds, counting no further than cap + 1, so that "more than the
    cap" ("10,000+": `open_ended`) is known without counting them all:
    SELECT COUNT(*) FROM (SELECT id … LIMIT cap + 1)."""
    # No ORDER BY: any cap + 1 matching rows will do, and the planner may then pick any index.
    # Only the key: the subquery's other columns would be read for nothing (an index-only scan).
    return rows.order_by().values("pk")[: cap + 1].count()


@dataclass(frozen=True)
class CappedPage[T]:
    """A page of a list whose count stops at a cap (`capped_page`)."""

    object_list: list[T]  # the page's rows (the name Django's Page gives them)
    number: int  # the page shown (clamped to the last one when the count is exact)
    count: int  # exact, or the cap when count_is_lower_bound
    count_is_lower_bound: bool  # more than the cap match: shown "10,000+", no last page known
    num_pages: int  # 0 when the count is a lower bound
    pager: Pager


def capped_page[T](
    rows: QuerySet[T],
    *,
    number: int,
    per_page: int,
    cap: int,
    query: QueryDict | None = None,
    on_ends: int = 2,
    read: Callable[[int, int], list[T]] | None = None,
) -> CappedPage[T]:
    """Page `number` of `rows` (ordered), `per_page` a page, counted no further than `cap`: past it
    the count is "cap+" and the pager is open-ended (`pager(open_ended=True)`: "Next", no last page).

    Two queries as a rule: `capped_count` and the page's rows (`read(start, stop)`: rows[start:stop]
    by default; a list may read deep pages its own way). A number past the last page gives the last
    page, as Paginator.get_page does (at the cost of an exact count when the count was capped).
    `query` and `on_ends` are the pager's.
    """
    read = read or (lambda start, stop: list(rows[start:stop]))
    number = max(number, 1)
    found = capped_count(rows, cap=cap)
    if found <= cap:
        return _counted_page(found, number, per_page, query, on_ends, read)
    start = (number - 1) * per_page
    shown = read(start, start + per_page + 1)  # one past the page: whether another follows
    if not shown:  # past the last page (a hand-made address): only an exact count knows which it is
        return _counted_page(rows.order_by().count(), number, per_page, query, on_ends, read)
    if len(shown) <= per_page:  # the last page: the count is known exactly after all
        return _counted_page(start + len(shown), number, per_page, query, on_ends, read, shown=shown)
    # More follow. The pages known to exist: those the capped count covers, up to the next one.
    known = max(found, start + len(shown))
    return CappedPage(
        object_list=shown[:per_page],
        number=number,
        count=cap,
        count_is_lower_bound=True,
        num_pages=0,
        pager=pager(Paginator(range(known), per_page), number, on_ends=on_ends, open_ended=True, query=query),
    )


def _counted_page[T](
    count: int,
    number: int,
    per_page: int,
    query: QueryDict | None,
    on_ends: int,
    read: Callable[[int, int], list[T]],
    *,
    shown: list[T] | None = None,
) -> CappedPage[T]:
    """The page of an exact count (`shown`: its rows, when already read)."""
    paginator = Paginator(range(count), per_page)
    page_number = paginator.get_page(number).number  # clamped to the pages there are
    if shown is None:
        start = (page_number - 1) * per_page
        shown = read(start, start + per_page) if count else []
    return CappedPage(
        object_list=shown[:per_page],
        number=page_number,
        count=count,
        count_is_lower_bound=False,
        num_pages=paginator.num_pages,
        pager=pager(paginator, page_number, on_ends=on_ends, query=query),
    )
