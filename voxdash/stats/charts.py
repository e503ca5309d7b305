"""Server-rendered SVG charts: geometry in Python, markup in templates/stats/_chart.html.

No script, no inline style (the CSP forbids both): shapes carry classes, colours live in
voxdash.css with dark-mode variants. Every bar segment is a link to the history it counts, and
every chart carries a data table (same figures, same links) for screen readers and for people
who want the numbers.
"""

from dataclasses import dataclass, field, replace

from django.urls import reverse

from voxdash.calls.filters import CallFilters
from voxdash.lib.formatting import duration_text
from voxdash.vox.statuses import FAILURE_STATUSES, LIVE_STATUSES, STATUS_LABELS, status_label

from .selectors import CallStats

# The SVG's own coordinate system; CSS scales it to the page width.
WIDTH = 720
BAR_HEIGHT = 220
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 8, 10, 26


@dataclass
class Segment:
    value: int | float
    css: str  # e.g. "seg-completed"
    href: str
    label: str  # what the segment is, for its <title> and the data table: "24 Nov: 12 completed"


@dataclass
class Group:
    """One bar (vertical chart) or one row (horizontal chart): its segments stack."""

    label: str
    segments: list[Segment]

    @property
    def total(self) -> float:
        return sum(s.value for s in self.segments)


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    href: str
    title: str


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass
class Chart:
    id: str
    title: str
    summary: str  # the accessible text alternative: what the picture says, in a sentence
    width: int
    height: int
    columns: list[str]  # the data table's header
    rows: list[tuple[str, list[Segment]]]  # the data table: a label and its cells
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css, label)


def nice_max(value: float) -> int:
    """A round axis maximum at or above `value`: 1, 2, 5, 10, 20, 50, …"""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _r(value: float) -> float:
    return round(value, 1)


def vertical_bars(
    id: str,
    title: str,
    summary: str,
    groups: list[Group],
    *,
    columns: list[str],
    legend: list[tuple[str, str]] = (),
    label_every: int = 1,
    max_value: float | None = None,
) -> Chart:
    """Stacked vertical bars, one per group, on a 0..nice_max y-axis with three gridlines."""
    chart = Chart(
        id=id,
        title=title,
        summary=summary,
        width=WIDTH,
        height=BAR_HEIGHT,
        columns=columns,
        rows=[(g.label, g.segments) for g in groups],
        legend=list(legend),
    )
    plot_w = WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_h = BAR_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    top = nice_max(max_value or max((g.total for g in groups), default=0) or 1)
    for tick in (0, top / 2, top):
        y = PLOT_TOP + plot_h - plot_h * tick / top
        chart.lines.append(Line(PLOT_LEFT, _r(y), WIDTH - PLOT_RIGHT, _r(y)))
        chart.texts.append(Text(PLOT_LEFT - 6, _r(y + 4), f"{tick:g}", anchor="end"))
    slot = plot_w / max(len(groups), 1)
    bar_w = max(slot * 0.8, 1)
    for index, group in enumerate(groups):
        x = PLOT_LEFT + slot * index + (slot - bar_w) / 2
        y = PLOT_TOP + plot_h
        for segment in group.segments:
            if not segment.value:
                continue
            height = plot_h * segment.value / top
            y -= height
            chart.rects.append(
                Rect(_r(x), _r(y), _r(bar_w), _r(height), segment.css, segment.href, segment.label)
            )
        if index % label_every == 0:
            chart.texts.append(Text(_r(x + bar_w / 2), BAR_HEIGHT - 8, group.label))
    return chart


ROW_HEIGHT, ROW_GAP, LABEL_WIDTH, VALUE_WIDTH = 26, 8, 150, 70


def horizontal_bars(
    id: str,
    title: str,
    summary: str,
    groups: list[Group],
    *,
    columns: list[str],
    legend: list[tuple[str, str]] = (),
    max_value: float | None = None,
    value_format: str = "{:g}",
) -> Chart:
    """One row per group: its label on the left, its segments stacked rightwards, its total after."""
    height = max(len(groups), 1) * (ROW_HEIGHT + ROW_GAP) + ROW_GAP
    chart = Chart(
        id=id,
        title=title,
        summary=summary,
        width=WIDTH,
        height=height,
        columns=columns,
        rows=[(g.label, g.segments) for g in groups],
        legend=list(legend),
    )
    plot_w = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    top = max_value or max((g.total for g in groups), default=0) or 1
    for index, group in enumerate(groups):
        y = ROW_GAP + index * (ROW_HEIGHT + ROW_GAP)
        chart.texts.append(Text(LABEL_WIDTH - 8, y + ROW_HEIGHT * 0.65, group.label, anchor="end"))
        x = LABEL_WIDTH
        for segment in group.segments:
            if not segment.value:
                continue
            width = plot_w * segment.value / top
            chart.rects.append(
                Rect(_r(x), y, _r(width), ROW_HEIGHT, segment.css, segment.href, segment.label)
            )
            x += width
        chart.texts.append(
            Text(_r(x + 6), y + ROW_HEIGHT * 0.65, value_format.format(group.total), anchor="start")
        )
    return chart


# --- the stats page's charts


def history_url(calls: CallFilters, **narrower) -> str:
    """The call history of a figure: the period's calls in its scope (`calls`), narrowed."""
    return replace(calls, **narrower).history_url()


@dataclass(frozen=True)
class HistoryLinks:
    """`history_url` for the many links of one page's charts: the history's path looked up once
    (reverse() was most of the charts' time: the per-day chart of 30 days has some 150 links)."""

    calls: CallFilters
    path: str

    def __call__(self, **narrower) -> str:
        query = replace(self.calls, **narrower).query_string()
        return self.path + ("?" + query if query else "")


def _status_css(status: str) -> str:
    return f"seg-{status}" if status in STATUS_LABELS else "seg-other"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def stats_charts(stats: CallStats, calls: CallFilters) -> list[Chart]:
    """The pictures of the stats page, in reading order; `calls` are the ones the figures count."""
    link = HistoryLinks(calls, reverse("calls:list"))
    return (
        [
            _per_day(stats, link),
            _rates(stats, link),
            _durations(stats, link),
            _hours(stats, link),
            _failures(stats, link),
            _directions(stats, link),
        ]
        if stats.total
        else []
    )


# Bottom of the stack first: the outcomes that matter most sit on the axis, where they compare best.
STACK_ORDER = ("completed", *FAILURE_STATUSES, *reversed(LIVE_STATUSES))


def _statuses_in_order(stats: CallStats) -> list[str]:
    known = [s for s in STACK_ORDER if stats.by_status[s]]
    return known + sorted(s for s in stats.by_status if s not in STACK_ORDER and stats.by_status[s])


def _per_day(stats: CallStats, link: HistoryLinks) -> Chart:
    statuses, groups = _statuses_in_order(stats), []
    for day in stats.period.days:
        counts = stats.by_day.get(day, {})
        label = f"{day.day} {day:%b}"
        groups.append(
            Group(
                label,
                [
                    Segment(
                        counts.get(status, 0),
                        _status_css(status),
                        link(created_after=day, created_before=day, status=status),
                        f"{label}: {counts.get(status, 0)} {status_label(status).lower()}",
                    )
                    for status in statuses
                ],
            )
        )
    busiest = max(groups, key=lambda g: g.total)
    summary = (
        f"{stats.total} calls over {len(groups)} day{'s' if len(groups) != 1 else ''}; "
        f"the busiest day was {busiest.label} with {busiest.total:g}."
    )
    return vertical_bars(
        "per-day",
        "Calls per day, by outcome",
        summary,
        groups,
        columns=["Day", *[status_label(s) for s in statuses]],
        legend=[(_status_css(s), status_label(s)) for s in statuses],
        label_every=-(-len(groups) // 10),
    )


def _rates(stats: CallStats, link: HistoryLinks) -> Chart:
    groups = [
        Group(
            "Answered",
            [
                Segment(
                    round(stats.answer_rate or 0, 1),
                    "seg-answered",
                    link(),
                    f"Answered: {_percent(stats.answer_rate)}",
                )
            ],
        ),
        Group(
            "Completed",
            [
                Segment(
                    round(stats.completion_rate or 0, 1),
                    "seg-completed",
                    link(status="completed"),
                    f"Completed: {_percent(stats.completion_rate)}",
                )
            ],
        ),
    ]
    summary = (
        f"Of {stats.finished} finished calls, {_percent(stats.answer_rate)} were answered and "
        f"{_percent(stats.completion_rate)} completed."
    )
    return horizontal_bars(
        "rates",
        "Answer and completion rate",
        summary,
        groups,
        columns=["Rate", "Percent"],
        max_value=100,
        value_format="{:.0f}%",
    )


def _durations(stats: CallStats, link: HistoryLinks) -> Chart:
    groups = []
    for low, high, n in stats.duration_buckets:
        label = (
            f"{duration_text(low)}–{duration_text(high)}" if high is not None else f"{duration_text(low)} +"
        )
        href = link(duration_min=low, duration_max=None if high is None else high - 1)
        groups.append(Group(label, [Segment(n, "seg-duration", href, f"{label}: {n} calls")]))
    average = stats.average_duration
    summary = (
        f"{stats.timed_calls} calls with a duration: average "
        f"{duration_text(round(average)) if average is not None else '—'}, "
        f"90 % lasted {duration_text(stats.p90_duration)} or less."
    )
    return vertical_bars(
        "durations", "How long calls lasted (minutes:seconds)", summary, groups, columns=["Duration", "Calls"]
    )


def _hours(stats: CallStats, link: HistoryLinks) -> Chart:
    groups = [
        Group(
            f"{hour:02}",
            [Segment(n, "seg-hour", link(hour=hour), f"{hour:02}:00–{hour:02}:59: {n} calls")],
        )
        for hour, n in enumerate(stats.by_hour)
    ]
    busiest = max(range(24), key=lambda h: stats.by_hour[h])
    summary = f"The busiest hour of the day was {busiest:02}:00–{busiest:02}:59 with {stats.by_hour[busiest]} calls."
    return vertical_bars(
        "hours", "Busiest hours (local time)", summary, groups, columns=["Hour", "Calls"], label_every=3
    )


def _failures(stats: CallStats, link: HistoryLinks) -> Chart:
    groups = [
        Group(
            status_label(status),
            [
                Segment(
                    n,
                    _status_css(status),
                    link(status=status),
                    f"{status_label(status)}: {n} calls",
                )
            ],
        )
        for status, n in stats.failures
    ]
    if groups:
        summary = (
            "Calls that did not complete: "
            + ", ".join(f"{n} {status_label(s).lower()}" for s, n in stats.failures)
            + "."
        )
    else:
        summary = "No call failed, went unanswered, was busy or was canceled."
    return horizontal_bars("failures", "Top failure statuses", summary, groups, columns=["Status", "Calls"])


def _directions(stats: CallStats, link: HistoryLinks) -> Chart:
    groups = [
        Group(
            direction.capitalize(),
            [
                Segment(
                    stats.by_direction[direction],
                    f"seg-{direction}",
                    link(direction=direction),
                    f"{direction.capitalize()}: {stats.by_direction[direction]} calls",
                )
            ],
        )
        for direction in ("inbound", "outbound")
    ]
    summary = f"{stats.by_direction['inbound']} inbound and {stats.by_direction['outbound']} outbound calls."
    return horizontal_bars(
        "directions", "Inbound vs outbound", summary, groups, columns=["Direction", "Calls"]
    )
