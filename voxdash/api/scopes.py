"""What a service token may do: each scope, once, with the words the token page shows."""

CALLS_READ = "calls:read"
CALLS_PLACE = "calls:place"
CAMPAIGNS = "campaigns"
DNC = "dnc"

SCOPES = {
    CALLS_READ: "Read calls, numbers, agents, placed and scheduled calls, and the stats",
    CALLS_PLACE: "Place calls and schedule or cancel calls for later",
    CAMPAIGNS: "Create, run and read campaigns",
    DNC: "Read and change the do-not-call list",
}
CHOICES = list(SCOPES.items())

# Scopes that dial or decide who is dialled: their service account holds the Callers' permission,
# so the services that check it (the same ones the pages use) let the token through.
PLACES_CALLS = {CALLS_PLACE, CAMPAIGNS, DNC}
