"""The pager every list shares (templates/includes/pager.html): the Django admin's elided page
range ("1 2 … 7 8 9 … 15 16"), whether the pages come from a queryset or from the API's meta."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.paginator import Paginator


@dataclass(frozen=True)
class Pager:
    number: int  # the current page
    page_range: list[int | None]  # None marks a gap ("…"): templates need not compare to a translated string
    sizes: Sequence[int] = ()  # the page sizes on offer, for lists that let the reader choose
    size: int | None = None  # the current page size
    # The count was capped ("10,000+"): the last page shown is not known to be the last, so the
    # pager says more may follow instead of offering a last page.
    open_ended: bool = False


def pager(
    paginator: Paginator,
    number: int,
    *,
    on_ends: int = 2,
    sizes: Sequence[int] = (),
    size: int | None = None,
    open_ended: bool = False,
) -> Pager:
    """The pager of page `number` (clamped to the pages there are); no page links for one page."""
    current = min(max(number, 1), paginator.num_pages)
    page_range = []
    if paginator.num_pages > 1:
        page_range = [
            None if n == paginator.ELLIPSIS else n
            for n in paginator.get_elided_page_range(current, on_each_side=2, on_ends=on_ends)
        ]
    return Pager(number=number, page_range=page_range, sizes=sizes, size=size, open_ended=open_ended)
