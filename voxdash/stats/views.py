from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from voxdash.calls.mirror_query import mirror_synced_at

from .charts import history_url, stats_charts
from .forms import StatsFiltersForm
from .selectors import call_stats


@require_GET
def stats_overview(request):
    """How the calls went over a period, as pictures that link to the calls behind them."""
    form = StatsFiltersForm(request.GET)
    form.is_valid()
    period = form.period_for(timezone.localdate())
    scope = form.scope()
    stats = call_stats(period, agent=scope.agent, from_number=scope.from_number)
    calls = period.calls(scope)
    context = {
        "form": form,
        "period": period,
        "scope": scope,
        "stats": stats,
        "charts": stats_charts(stats, calls),
        # The tiles' links: every call of the period, the completed ones, the longest tenth.
        "period_url": history_url(calls),
        "completed_url": history_url(calls, status="completed"),
        "p90_url": history_url(calls, duration_min=stats.p90_duration or 0),
        "mirror_synced_at": mirror_synced_at(),
        "time_zone": settings.TIME_ZONE,
    }
    return render(request, "stats/overview.html", context)
