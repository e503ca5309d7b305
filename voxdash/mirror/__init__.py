"""The mirror's one writer: every write to the local copy of Vox's calls, numbers and agents.

The models stay in their apps (`calls.models.Call` and `SyncState`, `directory.models`); what may
be written to them, and how, lives here. `calls.sync` and `directory.sync` walk the API and hand
the pages over; `webhooks` verifies and stores deliveries and hands the events over. Nothing here
talks to Vox or queues a task.

    sync.py        SyncSummary, the progress record, `sync_run` (SyncState, one run at a time)
    lock.py        the sync lock: taken atomically, released only by its holder (atomically on Redis)
    calls.py       `call_merge_listing` (a listed page) and `call_merge_event` (a webhook event)
    directory.py   `directory_merge_listing` (numbers and agents) and `agent_merge_event`
    placements.py  the placement-to-call matcher, and `placements_link` when new calls arrive
    fields.py      the one truncation rule: text is cut to its column's size
    rollup.py      the stats rollup: each call write adds its before/after difference (RollupDelta),
                   and `rollup_rebuild` counts it again from the calls
    signals.py     `calls_mirrored`, sent after each commit that created or changed calls

Merge rules for a `Call` (`calls.RULES` is this table as code; tests/mirror/test_merge_rules.py
walks each row in both orders and checks that list-then-event and event-then-list leave the same row):

    field              the list (a page of GET /calls)      a webhook event
    -----------------  -----------------------------------  -------------------------------------------
    status             writes, unless it would move a       moves only to a terminal status or to a
                       terminal status back to a            later one: never back from terminal; among
                       non-terminal one (older news)        terminal ones the later event wins
    status_at          unknown (null) when it changes the   the time of the event whose status won
                       status (the list has no time)
    failure_reason     never                                with the status: a winning vox.call.failed
                                                            sets its reason, a winning completed clears it
    duration_seconds   writes unless null, and only when    writes a known value (integer >= 0),
                       its status may move                  never erases one
    started_at         as duration_seconds                  fills from vox.call.started's time, if empty
    ended_at           as duration_seconds                  fills from vox.call.completed/failed's time,
                                                            if empty
    recording_url      never                                writes an http(s) URL, never erases one
    direction          writes                               fills, if empty
    business_id, customer_phone, customer_name, created_at, raw
                       writes                               never (a call first known from an event
                                                            is created with its direction, created_at
                                                            the event's time, and blanks)

Why: the list is Vox's present word on what it lists, but it lags and knows nothing of recordings,
failure reasons or when a status changed, and a page read a moment ago may be older than a webhook
just applied; events arrive at least once and in any order, so an event's effect is a maximum
(status by (terminal, time)), which is what makes their order not matter. Every text value is cut
to its column's size (`fields.fitted`); agents and numbers follow the same rule.
"""
