"""What a campaign's pages show: counts by row state, progress, the achieved dial rate, an ETA, the
rows table and the event list (reads only: HackSoft's selectors).

Kept cheap at 100,000 rows: the counts by state are kept by the database (CampaignRowCount), so a
page reads a dozen rows, not the campaign's; the rows table is one page of rows (found by an
index-only scan of the row numbers, however deep the page) plus one query for the placed calls of
that page's attempts; the CSV streams from a server-side cursor.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.paginator import Page, Paginator
from django.http import QueryDict
from django.utils import dateformat, timezone
from django.utils.functional import cached_property
from django.utils.safestring import SafeString
from django.utils.text import slugify

from voxdash.calls.export import E164, phone_cell
from voxdash.directory import selectors as directory
from voxdash.lib.filter_links import FilterChoice, filter_choices
from voxdash.lib.formatting import Moment, moment, phone_display
from voxdash.lib.links import RowLinks
from voxdash.lib.paging import Pager, pager
from voxdash.lib.rows import html_format, html_lines
from voxdash.lib.spreadsheet import neutralise
from voxdash.placements.forms import agent_label, number_label
from voxdash.placements.models import PlacedCall
from voxdash.vox.statuses import status_badge

from .models import OPEN_ROW_STATES, Campaign, CampaignEvent, CampaignRow, CampaignRowCount, attempt_key

State = CampaignRow.State
ROWS_PER_PAGE = 50
CAMPAIGNS_PER_PAGE = 25
RATE_WINDOW = timedelta(minutes=10)  # "attempts started per minute over the last 10 minutes"
# The rows.csv columns and the CampaignRow fields they come from, in order ("row" is its number).
CSV_FIELDS = (
    "number",
    "customer_phone",
    "customer_name",
    "state",
    "attempts",
    "last_call_id",
    "last_status",
    "reason",
)
CSV_COLUMNS = ("row", *CSV_FIELDS[1:])
CSV_CHUNK_ROWS = 2000
# What the rows table shows of a row (not its cells or context: a row's whole file line).
ROW_FIELDS = (
    "number",
    "customer_phone",
    "customer_name",
    "state",
    "attempts",
    "last_status",
    "reason",
    "last_call_id",
)


@dataclass(frozen=True)
class Tally:
    """One count of the page's "by state" list: its filter value (the rows table's `state`)."""

    key: str
    label: str
    count: int
    skipped: bool = False
    href: str = ""  # the rows table filtered to it


# The rows table's state filter: one choice per tally (in flight covers dialling too).
FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pending": ("Pending", (State.PENDING,)),
    "in_flight": ("In flight", (State.DIALING, State.IN_FLIGHT)),
    "completed": ("Completed", (State.COMPLETED,)),
    "no_answer": ("No answer", (State.NO_ANSWER,)),
    "busy": ("Busy", (State.BUSY,)),
    "failed": ("Failed", (State.FAILED,)),
    "unknown": ("Unknown", (State.UNKNOWN,)),
    "invalid": ("Skipped: invalid", (State.INVALID,)),
    "duplicate": ("Skipped: duplicate", (State.DUPLICATE,)),
    "do_not_call": ("Skipped: do-not-call", (State.DO_NOT_CALL,)),
    "cancelled": ("Cancelled", (State.CANCELLED,)),
}
SKIPPED_FILTERS = ("invalid", "duplicate", "do_not_call")


def campaign_counts(*, campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """campaign id -> row state -> rows, for several campaigns in one query.

    Read from the counts the database keeps beside the rows (CampaignRowCount): a few rows per
    campaign, where counting its rows cost a scan of all of them on every page and poll."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in campaign_ids}
    rows = CampaignRowCount.objects.filter(campaign_id__in=campaign_ids, n__gt=0).values_list(
        "campaign_id", "state", "n"
    )
    for campaign_id, state, n in rows:
        counts[campaign_id][state] = n
    return counts


@dataclass(frozen=True)
class Progress:
    """A campaign's counts and what follows from them; each figure worked out once (a list page
    asks each campaign's total, done and percent several times)."""

    campaign: Campaign
    counts: dict[str, int]
    now: datetime
    dial_rate: float | None = None  # attempts started a minute; None when not measured (drafts, the list)

    @cached_property
    def total(self) -> int:
        return sum(self.counts.values())

    @cached_property
    def open(self) -> int:
        return sum(self.counts.get(s, 0) for s in OPEN_ROW_STATES)

    @cached_property
    def done(self) -> int:
        """Rows settled: an outcome, skipped or cancelled; the rest are still to be dialled."""
        return self.total - self.open

    @cached_property
    def percent(self) -> int:
        if not self.total:
            return 0
        percent = round(100 * self.done / self.total)
        # "100%" while a row is still open would be a lie; so would "0%" once one is done.
        return min(percent, 99) if self.open else max(percent, 1 if self.done else 0)

    @property
    def summary(self) -> str:
        """'1,234 of 2,000 rows done, 62%'; for a draft, what it will dial: '2,000 rows, 1,990 to dial'."""
        rows = f"{self.total:,} row{'s' if self.total != 1 else ''}"
        if self.campaign.state == Campaign.State.DRAFT:
            return f"{rows}, {self.counts.get(State.PENDING, 0):,} to dial"
        return f"{self.done:,} of {rows} done, {self.percent}%"

    @property
    def is_live(self) -> bool:
        """Whether the page follows it (polls): something can still change without a click."""
        return self.campaign.state in (Campaign.State.RUNNING, Campaign.State.PAUSED)

    @cached_property
    def tallies(self) -> list[Tally]:
        page = self.campaign.get_absolute_url()
        return [
            Tally(
                key,
                label,
                sum(self.counts.get(s, 0) for s in states),
                skipped=key in SKIPPED_FILTERS,
                href=f"{page}?state={key}#rows",
            )
            for key, (label, states) in FILTERS.items()
        ]

    @cached_property
    def skipped(self) -> int:
        return sum(t.count for t in self.tallies if t.skipped)

    @property
    def rate_text(self) -> str:
        if self.dial_rate is None:
            return "—"
        return f"{_number(self.dial_rate)} a minute"

    @property
    def eta_text(self) -> str:
        """When it should be done, in words; or what it is waiting for."""
        campaign, pending = self.campaign, self.counts.get(State.PENDING, 0)
        in_flight = self.open - pending
        if campaign.state == Campaign.State.FINISHED:
            return "Finished."
        if campaign.state == Campaign.State.CANCELLED:
            return "Cancelled: nothing more is dialled."
        if campaign.state == Campaign.State.DRAFT:
            return "Not started."
        if campaign.state == Campaign.State.PAUSED:
            return "Paused: nothing is dialled until it is resumed."
        if not pending:
            if in_flight:
                return (
                    f"Waiting for the outcome of {in_flight:,} call{'s' if in_flight != 1 else ''} in flight."
                )
            return "Finishing."
        window = campaign.window
        if not window.contains(self.now):
            opens = window.next_open(self.now)
            if opens is None:
                return "The calling window has no days: nothing will be dialled."
            return f"Waiting for the calling window: opens {_when(opens)}."
        if not self.dial_rate:
            return "Not known yet: no attempt started in the last 10 minutes."
        minutes = pending / self.dial_rate
        done_at = _when(self.now + timedelta(minutes=minutes))
        return f"About {_duration(minutes)} at this rate (done around {done_at})."


def campaign_progress(*, campaign: Campaign, now: datetime | None = None, with_rate: bool = True) -> Progress:
    """Its counts and, unless `with_rate` is False (the rows table alone shows no rate), its dial rate."""
    now = now or timezone.now()
    counts = campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
    # Measured while it can dial; for a draft or a campaign that is over, "last 10 minutes" says nothing.
    measured = with_rate and campaign.state in (Campaign.State.RUNNING, Campaign.State.PAUSED)
    rate = campaign_dial_rate(campaign=campaign, now=now) if measured else None
    return Progress(campaign=campaign, counts=counts, now=now, dial_rate=rate)


def campaign_dial_rate(*, campaign: Campaign, now: datetime) -> float:
    """Attempts started a minute over the last 10 minutes (or since the start, when more recent).

    Counted from the attempts' PlacedCall records (written before each request), by key: an
    attempt sent again after a worker died is still one attempt.
    """
    if campaign.started_at is None:
        return 0.0
    since = max(now - RATE_WINDOW, campaign.started_at)
    # Under a minute the rate would swing wildly; measure over at least one.
    minutes = max((now - since).total_seconds() / 60, 1.0)
    started = (
        PlacedCall.objects.filter(
            origin=PlacedCall.Origin.CAMPAIGN,
            origin_ref__startswith=f"{campaign.pk}:",
            attempted_at__gte=since,
            attempted_at__lte=now,
        )
        .values("idempotency_key")
        .distinct()
        .count()
    )
    return started / minutes


@dataclass(frozen=True)
class CampaignListItem:
    """A campaign as a row of /campaigns/: plain values made here once, which _LIST_ROW_HTML
    writes (no get_state_display or lookup through the campaign and its progress a row)."""

    pk: int
    name: str
    state: str  # Campaign.State's value, for the row's class
    state_label: str
    is_draft: bool  # no progress bar: nothing is dialled yet
    # The figures as written (a number the template writes is localized there, ~10 µs each).
    total: str  # rows
    done: str  # rows settled
    percent: str
    summary: str  # "1,234 of 2,000 rows done, 62%" (Progress.summary)
    created_by: str  # the name kept, or "—"
    href: str
    created: Moment
    finished: Moment | None


# What the list shows of a campaign (and Progress needs of it): not its settings or file.
_LISTED = ("name", "state", "created_by_name", "created_at", "finished_at")
_STATES = dict(Campaign.State.choices)


def campaign_list(
    *, page_number, query: QueryDict | None = None
) -> tuple[Page, Pager, list[CampaignListItem]]:
    """A page of campaigns, newest first, each with its progress (one query for the page's counts);
    links and times made here once (no {% url %} or |date a row)."""
    paginator = Paginator(Campaign.objects.only(*_LISTED), CAMPAIGNS_PER_PAGE)
    page = paginator.get_page(page_number)
    campaigns = list(page.object_list)
    counts = campaign_counts(campaign_ids=[c.pk for c in campaigns])
    now, zone = timezone.now(), timezone.get_current_timezone()
    detail = RowLinks("campaigns:detail", sample=987654321)
    items = []
    for campaign in campaigns:
        progress = Progress(campaign=campaign, counts=counts[campaign.pk], now=now)
        items.append(
            CampaignListItem(
                pk=campaign.pk,
                name=campaign.name,
                state=campaign.state,
                state_label=_STATES.get(campaign.state, campaign.state),
                is_draft=campaign.state == Campaign.State.DRAFT,
                total=str(progress.total),
                done=str(progress.done),
                percent=str(progress.percent),
                summary=progress.summary,
                created_by=campaign.created_by_name or "—",
                href=detail.url(campaign.pk),
                created=moment(campaign.created_at, zone),
                finished=moment(campaign.finished_at, zone),
            )
        )
    return page, pager(paginator, page.number, query=query), items


# A row of /campaigns/, written as HTML here once a row (lib.rows says why).
_LIST_ROW_HTML = (
    '<tr class="campaign-row" data-campaign="{pk}">'
    '<td><a href="{href}">{name}</a></td>'
    '<td><span class="campaign-state campaign-state-{state}">{state_label}</span></td>'
    '<td class="campaign-progress-cell">{bar}<span class="progress-summary">{summary}</span></td>'
    "<td>{created_by}</td>"
    '<td class="nowrap">{created}</td>'
    '<td class="nowrap">{finished}</td>'
    "</tr>"
)
_PROGRESS_BAR_HTML = (
    '<progress max="{total}" value="{done}" aria-label="Progress of {name}">{percent}%</progress> '
)
_TIME_HTML = '<time datetime="{iso}">{text}</time>'


def campaign_list_html(items: list[CampaignListItem]) -> SafeString:
    """The list's body: _LIST_ROW_HTML for each campaign."""
    return html_lines(
        html_format(
            _LIST_ROW_HTML,
            pk=item.pk,
            href=item.href,
            name=item.name,
            state=item.state,
            state_label=item.state_label,
            bar=""
            if item.is_draft
            else html_format(
                _PROGRESS_BAR_HTML, total=item.total, done=item.done, name=item.name, percent=item.percent
            ),
            summary=item.summary,
            created_by=item.created_by,
            created=html_format(_TIME_HTML, iso=item.created.iso, text=item.created.text),
            finished=html_format(_TIME_HTML, iso=item.finished.iso, text=item.finished.text)
            if item.finished
            else "—",
        )
        for item in items
    )


@dataclass(frozen=True)
class RowView:
    """One line of the rows table, formatted: text and links, which _ROW_HTML writes."""

    number: str
    phone: str
    name: str
    state: str
    state_label: str
    attempts: str
    last_status: str
    reason: str
    attempt_links: list[tuple[int, str]]  # (attempt number, its placed call's page) of attempts on record
    call_href: str  # the latest attempt's call in the history, or ""


# The rows table's links (to each attempt's placed call, to its call in the history): one
# reverse() a page each (lib.links.RowLinks), not one a link.
_SAMPLE_KEY = uuid.UUID(int=0)


class _KnownCountPaginator(Paginator):
    """The counts are already known (one GROUP BY): no second COUNT(*) over 100,000 rows."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known = count

    @cached_property
    def count(self) -> int:
        return self._known


# get_state_display() rebuilds a dict of the field's choices at every call (~5 µs), once a row.
_STATE_LABELS = dict(CampaignRow.State.choices)

# A line of the rows table, written as HTML here once a row (lib.rows says why).
_ROW_HTML = (
    '<tr class="campaign-row-line" data-row="{number}" data-state="{state}">'
    '<td class="numeric">{number}</td>'
    '<td class="nowrap">{phone}</td>'
    "<td>{name}</td>"
    '<td><span class="row-state row-state-{state}">{state_label}</span></td>'
    '<td class="numeric">{attempts}</td>'
    "<td>{last_status}</td>"
    "<td>{reason}</td>"
    '<td class="nowrap">{calls}</td>'
    "</tr>"
)
_ATTEMPT_LINK_HTML = (
    '<a href="{url}" class="attempt-link" aria-label="Attempt {n} of row {row}">attempt {n}</a>'
)
_CALL_LINK_HTML = '<a href="{url}" class="call-link">call</a>'
_LINKS_SEPARATOR = " · "


def row_views_html(rows: list[RowView]) -> SafeString:
    """The rows table's body: _ROW_HTML for each row."""
    return html_lines(_row_view_html(row) for row in rows)


def _row_view_html(row: RowView) -> SafeString:
    links = [html_format(_ATTEMPT_LINK_HTML, url=href, n=n, row=row.number) for n, href in row.attempt_links]
    if row.call_href:
        links.append(html_format(_CALL_LINK_HTML, url=row.call_href))
    return html_format(
        _ROW_HTML,
        number=row.number,
        state=row.state,
        phone=row.phone,
        name=row.name or "—",
        state_label=row.state_label,
        attempts=row.attempts,
        last_status=status_badge(row.last_status) if row.last_status else "—",
        reason=row.reason,
        calls=SafeString(_LINKS_SEPARATOR.join(links)) if links else "—",  # each link is safe HTML
    )


@dataclass
class RowsTable:
    state: str  # the filter ("" for every row)
    page: Page
    pager: Pager
    rows: list[RowView] = field(default_factory=list)

    @property
    def rows_html(self) -> SafeString:
        return row_views_html(self.rows)


def campaign_rows(
    *, campaign: Campaign, progress: Progress, state: str, page_number, query: QueryDict | None = None
) -> RowsTable:
    """One page of the campaign's rows (all, or those of one filter), with links to their calls."""
    state = state if state in FILTERS else ""
    rows = campaign.rows.all()
    if state:
        tally = next(t for t in progress.tallies if t.key == state)
        rows, count = rows.filter(state__in=FILTERS[state][1]), tally.count
    else:
        count = progress.total
    paginator = _KnownCountPaginator(rows.order_by("number"), ROWS_PER_PAGE, count=count)
    page = paginator.get_page(page_number)
    # The page's row numbers from an index alone (campaign_row_number, or campaign_row_state for
    # a filter, holds them), then those rows: an OFFSET over the rows themselves read every row
    # before the page (17-35 ms for page 1,000 of 100,000 rows).
    bottom = (page.number - 1) * ROWS_PER_PAGE
    numbers = rows.order_by("number").values("number")[bottom : bottom + ROWS_PER_PAGE]
    page_rows = (
        list(campaign.rows.filter(number__in=numbers).order_by("number").only(*ROW_FIELDS)) if count else []
    )

    # Every attempt's key; one query says which of them have a placed call on record.
    keys = {
        (r.number, n): attempt_key(campaign, r.number, n) for r in page_rows for n in range(1, r.attempts + 1)
    }
    recorded = set(
        PlacedCall.objects.filter(idempotency_key__in=keys.values())
        .values_list("idempotency_key", flat=True)
        .order_by()  # no ORDER BY: the model's ordering would join the DISTINCT, and sort for nothing
        .distinct()
    )
    placed_links = RowLinks("placements:detail", sample=_SAMPLE_KEY)
    call_links = RowLinks("calls:detail", sample="x")
    views = [
        RowView(
            number=str(r.number),
            phone=phone_display(r.customer_phone),
            name=r.customer_name,
            state=r.state,
            state_label=_STATE_LABELS.get(r.state, r.state),
            attempts=str(r.attempts),
            last_status=r.last_status,
            reason=r.reason,
            attempt_links=[
                (n, placed_links.url(keys[r.number, n]))
                for n in range(1, r.attempts + 1)
                if keys[r.number, n] in recorded
            ],
            call_href=call_links.url(r.last_call_id) if r.last_call_id else "",
        )
        for r in page_rows
    ]
    return RowsTable(state=state, page=page, pager=pager(paginator, page.number, query=query), rows=views)


def campaign_state_filters(
    *, progress: Progress, current: str, query: QueryDict | None = None
) -> list[FilterChoice]:
    """The rows table's filter links, as the call history's: All, then one per tally with its count."""
    choices = [("", f"All ({progress.total:,})")] + [
        (t.key, f"{t.label} ({t.count:,})") for t in progress.tallies
    ]
    return filter_choices("state", choices, current, query=query)


@dataclass(frozen=True)
class EventView:
    at: Moment
    who: str
    what: str
    note: str
    action: str


EVENT_WORDS = {
    CampaignEvent.Action.CREATED: "created it",
    CampaignEvent.Action.STARTED: "started it",
    CampaignEvent.Action.PAUSED: "paused it",
    CampaignEvent.Action.RESUMED: "resumed it",
    CampaignEvent.Action.CANCELLED: "cancelled it",
    CampaignEvent.Action.BREAKER: "paused itself",
    CampaignEvent.Action.FINISHED: "finished",
}


def campaign_events(*, campaign: Campaign) -> list[EventView]:
    """Who did what, when, oldest first; voxdash's own doings (the breaker, finishing) as 'voxdash'."""
    zone = timezone.get_current_timezone()
    return [
        EventView(
            at=moment(e.at, zone, seconds=True),
            who=e.username or "voxdash",
            what=EVENT_WORDS.get(e.action, e.get_action_display().lower()),
            note=e.note,
            action=e.action,
        )
        for e in campaign.events.all()
    ]


@dataclass(frozen=True)
class RunSettings:
    """What a campaign runs with, as the draft's preview and the campaign page show it."""

    sent_from: str
    agent: str
    purpose: str
    window: str
    attempts: str
    retry_after: str
    max_in_flight: int


def campaign_settings(*, campaign: Campaign) -> RunSettings:
    # Named as the form's pickers name them (the listing is cached, and read from the local copy
    # when Vox is down); an id nobody lists any more is shown as it is.
    numbers = {n.id: n for n in directory.voice_numbers().items}
    agents = {a.id: a for a in directory.agents().items}
    number, agent = numbers.get(campaign.business_voice_number_id), agents.get(campaign.ai_agent_id)
    sent_from = number_label(number) if number else campaign.business_voice_number_id
    agent_name = agent_label(agent) if agent else campaign.ai_agent_id
    attempts = campaign.max_attempts
    return RunSettings(
        sent_from=sent_from,
        agent=agent_name,
        purpose=campaign.purpose,
        window=campaign.window.describe(),
        attempts="1 (no retries)" if attempts == 1 else f"up to {attempts}",
        retry_after=_duration(campaign.retry_after_minutes) if campaign.retry_after_minutes else "at once",
        max_in_flight=campaign.max_in_flight,
    )


def campaign_rows_csv(*, campaign: Campaign) -> Iterator[str]:
    """Every row as CSV (the columns of CSV_COLUMNS), a piece per CSV_CHUNK_ROWS rows.

    Cells are formula-safe as the call export's are: a name such as "=HYPERLINK(…)" is neutralised;
    a phone in E.164 stays as it is.
    """
    rows = (
        CampaignRow.objects.filter(campaign=campaign)
        .order_by("number")
        .values_list(*CSV_FIELDS)
        .iterator(chunk_size=CSV_CHUNK_ROWS)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, (number, phone, name, state, attempts, call_id, status, reason) in enumerate(rows, start=1):
        writer.writerow(
            [
                number,
                _phone_cell(phone),
                neutralise(name),
                state,
                attempts,
                neutralise(call_id),
                neutralise(status),
                neutralise(reason),
            ]
        )
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _phone_cell(value: str) -> str:
    # The export's rule; E.164 (nearly every row) is answered before phone_cell's cache, which
    # would otherwise keep 65,536 numbers a campaign's file has once each.
    if not value or E164.fullmatch(value):
        return value
    return phone_cell(value)


def campaign_csv_filename(*, campaign: Campaign) -> str:
    """voxdash-campaign-12-invoice-reminders-december.csv"""
    name = slugify(campaign.name)[:60]
    return f"voxdash-campaign-{campaign.pk}{'-' + name if name else ''}.csv"


def _number(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _duration(minutes: float) -> str:
    """'45 seconds', '12 minutes', '2 hours 5 minutes', '3 days 4 hours'."""
    if minutes < 1:
        seconds = max(round(minutes * 60), 1)
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    total = round(minutes)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (mins, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words[:2])


def _when(at: datetime) -> str:
    """In the reader's time zone (the active one), as the pages write times: 'Mon 2 Dec, 09:00'."""
    return dateformat.format(timezone.localtime(at), "D j M, H:i")
