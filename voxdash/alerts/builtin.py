"""voxdash's own rules, on by default: kind, threshold, window (minutes), cooldown (minutes).

The migration that creates them copies this table (a migration must not change with the code);
`alert_rules_restore` (the "Restore voxdash's rules" action) recreates a deleted one from it.
"""

BUILTIN_RULES = [
    # More than 30% of the last hour's finished calls failed (at least MIN_CALLS of them).
    ("failure_rate", "Failed calls", 30, 60, 60),
    # More than 60% not answered (no answer or busy): outbound calling misses many, so higher.
    ("no_answer_rate", "Calls not answered", 60, 60, 60),
    # No call at all for 4 hours of business hours (VOXDASH_BUSINESS_HOURS).
    ("no_calls", "No calls in business hours", 0, 240, 240),
    ("vox_unreachable", "Vox unreachable", 0, 5, 60),
    # Invalid, expired, missing a scope or refused for this address: nothing will work until fixed.
    ("key_refused", "API key refused", 0, 1, 60),
    # No complete walk of the call history for 15 minutes (it runs every minute).
    ("sync_stale", "Mirror sync stale or failing", 0, 15, 60),
    # More than 10 deliveries refused (bad or stale signature) in an hour: a rotated secret.
    ("webhooks_refused", "Webhooks refused", 10, 60, 60),
    # Calls were placed in the last hour, yet no webhook arrived in it.
    ("webhooks_silent", "No webhooks while calls are placed", 0, 60, 120),
    # At least 1 call placed more than 30 minutes ago whose outcome voxdash has not heard.
    ("outcomes_missing", "Placed calls without an outcome", 1, 30, 60),
    ("campaign_breaker", "Campaign paused itself", 0, 0, 60),
    # Campaigns that finished in the last hour (older ones are not announced when the rule is turned on).
    ("campaign_finished", "Campaign finished", 0, 60, 0),
    # Pages or placements refused by the shared request budget in each of the last 5 minutes.
    ("budget_exhausted", "Request budget exhausted", 0, 5, 60),
]
