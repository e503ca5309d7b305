"""Deterministic, realistic data: the same seed gives the same calls, placed relative to "now".

Calls are generated with a private `random.Random(seed)` only, so two simulators with one seed list
the same ids, names, phones and statuses. Numbers and agents never depend on the seed: their ids
are uuid5s, stable across runs, so a demo's saved settings keep pointing at them.
"""

from __future__ import annotations

import random
import uuid

from .models import Call, search_haystack

NAMESPACE = uuid.UUID("0b5d1a7e-4c1f-4e5e-8a8e-2f8f1d0c6a11")
BUSINESS_ID = str(uuid.uuid5(NAMESPACE, "business/ada-and-sons-ltd"))

DAY_MS = 86_400_000
HISTORY_DAYS = 21
# Seeded terminal calls end before this; only the few live calls are more recent.
RECENT_MS = 15 * 60_000
LAGOS_OFFSET_MS = 3_600_000  # WAT, UTC+1, no daylight saving

# Customers every seed contains, so tests and demos can search for them by name.
FEATURED_CUSTOMERS: list[tuple[str | None, str]] = [
    ("Adaeze Okonkwo", "+2348012345678"),
    ("Fúnmiláyọ̀ Adébáyọ̀", "+2348034567812"),
    ("Chukwuemeka Eze", "+2347061234590"),
    ("Zoë Müller", "+447700900123"),
    ("José Álvarez", "+14155550142"),
    ("Ngozi Ọkafọ̀r", "+2349052223344"),
    ("Kwame Mensah", "+233244123456"),
    ("Wanjiru Kamau", "+254712345678"),
]

FIRST_NAMES = [
    "Adaeze",
    "Chinedu",
    "Ngozi",
    "Oluwaseun",
    "Temitope",
    "Ifeoma",
    "Babajide",
    "Yetunde",
    "Emeka",
    "Chiamaka",
    "Abubakar",
    "Aisha",
    "Ibrahim",
    "Halima",
    "Segun",
    "Bukola",
    "Obinna",
    "Nneka",
    "Tunde",
    "Kemi",
    "Femi",
    "Zainab",
    "Usman",
    "Amaka",
    "Ikechukwu",
    "Funmilayo",
    "Ayọ̀ká",
    "Dàmilọ́lá",
    "Ọlámidé",
    "Kúnlé",
    "Tọ́lá",
    "Kwame",
    "Ama",
    "Kofi",
    "Wanjiru",
    "Otieno",
    "Zoë",
    "José",
    "Chloé",
    "Renée",
    "Søren",
    "Siobhán",
    "Grace",
    "David",
    "Mary",
    "John",
]
LAST_NAMES = [
    "Okonkwo",
    "Adébáyọ̀",
    "Eze",
    "Okafor",
    "Ọkafọ̀r",
    "Balogun",
    "Adeyemi",
    "Nwosu",
    "Bello",
    "Abubakar",
    "Ogunleye",
    "Onyekachi",
    "Ibekwe",
    "Olawale",
    "Mohammed",
    "Danjuma",
    "Obi",
    "Àjàyí",
    "Ṣóyínká",
    "Mensah",
    "Owusu",
    "Kamau",
    "Odhiambo",
    "Müller",
    "Álvarez",
    "Núñez",
    "O'Brien",
    "Smith",
    "Johnson",
    "Williams",
]

NG_PREFIXES = [
    "803",
    "806",
    "813",
    "816",
    "810",
    "814",
    "703",
    "706",
    "708",
    "701",
    "802",
    "808",
    "812",
    "902",
    "907",
    "901",
    "903",
    "906",
    "913",
    "915",
    "916",
    "911",
    "805",
    "807",
]
GH_PREFIXES = ["24", "54", "55", "59", "20", "50", "27"]
US_AREAS = ["212", "415", "646", "312", "713", "404"]


def _random_phone(rng: random.Random) -> str:
    country = rng.random()
    if country < 0.80:
        return f"+234{rng.choice(NG_PREFIXES)}{rng.randrange(10**7):07d}"
    if country < 0.87:
        return f"+233{rng.choice(GH_PREFIXES)}{rng.randrange(10**7):07d}"
    if country < 0.93:
        return f"+2547{rng.randrange(10**8):08d}"
    if country < 0.97:
        return f"+447{rng.randrange(10**9):09d}"
    return f"+1{rng.choice(US_AREAS)}{rng.randrange(200, 1000)}{rng.randrange(10**4):04d}"


def _customers(rng: random.Random, count: int) -> list[tuple[str | None, str]]:
    people = list(FEATURED_CUSTOMERS[:count])
    while len(people) < count:
        # About one caller in eight is unknown to the business: no name on file.
        name = None if rng.random() < 0.12 else f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        people.append((name, _random_phone(rng)))
    return people


def _created_ms(rng: random.Random, now: int) -> int:
    """A moment in the last three weeks, mostly in Lagos business hours on weekdays."""
    newest = now - RECENT_MS
    while True:
        moment = newest - int(rng.random() * HISTORY_DAYS * DAY_MS)
        local = moment + LAGOS_OFFSET_MS
        day_start = local - local % DAY_MS
        weekday = (day_start // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
        if weekday >= 5 and rng.random() < 0.6:
            continue  # weekends are quieter
        if rng.random() < 0.75:
            hour = rng.choice((8, 9, 9, 10, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 17))
            moment = day_start + hour * 3_600_000 + rng.randrange(3_600_000) - LAGOS_OFFSET_MS
        if moment <= newest:
            return moment


_TERMINAL_WEIGHTS = (("completed", 62), ("no_answer", 14), ("failed", 8), ("busy", 8), ("canceled", 8))
_TERMINAL_CHOICES = [status for status, weight in _TERMINAL_WEIGHTS for _ in range(weight)]


def _finish(call: Call, rng: random.Random) -> None:
    """Fill the timing fields of a terminal call the way a real one would look."""
    created = call.created_ms
    if call.status == "completed":
        call.started_ms = created + rng.randrange(3_000, 25_000)
        call.duration_seconds = int(min(600, max(20, rng.lognormvariate(4.6, 0.7))))
        call.ended_ms = call.started_ms + call.duration_seconds * 1000 + rng.randrange(1000)
    elif call.status == "no_answer":
        call.ended_ms = created + rng.randrange(30_000, 46_000)
    elif call.status == "busy":
        call.ended_ms = created + rng.randrange(2_000, 9_000)
    elif call.status == "failed":
        call.ended_ms = created + rng.randrange(500, 15_000)
    elif call.status == "canceled":
        call.ended_ms = created + rng.randrange(0, 20_000)


def seed_calls(seed: int, count: int, now: int) -> list[Call]:
    """`count` calls, oldest first (the store serves them newest first by walking backwards)."""
    rng = random.Random(seed)
    people = _customers(rng, max(len(FEATURED_CUSTOMERS), min(count // 2, 20_000)))
    haystacks = [search_haystack(name, phone) for name, phone in people]
    created = sorted(_created_ms(rng, now) for _ in range(count))

    # The newest few are still live; every terminal status shows up near the top of the list.
    live = [("queued", 35_000), ("ringing", 80_000), ("in_progress", 4 * 60_000)]
    live = live[: max(0, min(len(live), count // 10))]
    forced_terminal = ["completed", "failed", "no_answer", "busy", "canceled"]
    forced_at = {}
    newest_terminal = count - len(live)
    slots = list(range(max(0, newest_terminal - 30), newest_terminal))
    rng.shuffle(slots)
    for status, index in zip(forced_terminal, slots):
        forced_at[index] = status

    calls: list[Call] = []
    make_uuid = uuid.UUID
    for index, created_ms in enumerate(created):
        who = index if index < len(FEATURED_CUSTOMERS) else rng.randrange(len(people))
        person = people[who]
        direction = "inbound" if rng.random() < 0.35 else "outbound"
        status = forced_at.get(index) or rng.choice(_TERMINAL_CHOICES)
        call = Call(
            id=str(make_uuid(int=rng.getrandbits(128), version=4)),
            direction=direction,
            status=status,
            customer_phone=person[1],
            customer_name=person[0],
            created_ms=created_ms,
            haystack=haystacks[who],
        )
        _finish(call, rng)
        calls.append(call)

    for offset, (status, age_ms) in enumerate(reversed(live)):
        call = calls[count - len(live) + offset]
        call.status = status
        call.created_ms = now - age_ms
        call.ended_ms = call.duration_seconds = call.started_ms = None
        call.direction = "outbound" if status == "queued" else call.direction
        if status == "in_progress":
            call.started_ms = call.created_ms + 9_000
    return calls


def _number(
    key: str, phone: str, country: str, voice: bool, sms: bool, status: str, provider: str, created: str
) -> dict:
    return {
        "id": str(uuid.uuid5(NAMESPACE, f"number/{key}")),
        "phoneNumber": phone,
        "country": country,
        "voiceCapable": voice,
        "smsCapable": sms,
        "status": status,
        "provider": provider,
        "createdAt": created,
    }


def seed_numbers() -> list[dict]:
    return [
        _number(
            "lagos-main", "+2342013300100", "NG", True, True, "active", "telnyx", "2025-09-02T09:14:05.120Z"
        ),
        _number(
            "lagos-collections",
            "+2349087654321",
            "NG",
            True,
            False,
            "active",
            "twilio",
            "2025-10-11T13:40:22.007Z",
        ),
        _number("accra", "+233302123456", "GH", True, False, "active", "telnyx", "2025-11-20T08:05:51.930Z"),
        _number(
            "us-pilot", "+14155550123", "US", True, True, "inactive", "twilio", "2025-07-18T17:22:10.400Z"
        ),
        _number(
            "sms-alerts", "+2348170000001", "NG", False, True, "active", "telnyx", "2025-12-01T10:00:00.000Z"
        ),
    ]


def _agent(
    key: str,
    name: str,
    language: str,
    voice_provider: str,
    voice_id: str,
    persona: str,
    is_default: bool,
    status: str,
    created: str,
) -> dict:
    return {
        "id": str(uuid.uuid5(NAMESPACE, f"agent/{key}")),
        "name": name,
        "language": language,
        "voiceProvider": voice_provider,
        "voiceId": voice_id,
        "persona": persona,
        "isDefault": is_default,
        "status": status,
        "createdAt": created,
    }


def seed_agents() -> list[dict]:
    return [
        _agent(
            "support",
            "Amaka – Customer Support",
            "en",
            "openai_realtime",
            "alloy",
            "Warm, patient support representative who confirms details before acting",
            True,
            "active",
            "2025-09-03T11:00:00.000Z",
        ),
        _agent(
            "collections-yo",
            "Túndé – Payment Reminders (Yorùbá)",
            "yo",
            "elevenlabs",
            "pNInz6obpgDQGcFmaJgB",
            "Respectful, firm collections agent; switches to English on request",
            False,
            "active",
            "2025-10-14T15:30:12.250Z",
        ),
        _agent(
            "outreach-ha",
            "Aisha – Outreach (Hausa)",
            "ha",
            "elevenlabs",
            "EXAVITQu4vr4xnSDxMaL",
            "Friendly outreach agent for northern customers",
            False,
            "active",
            "2025-11-02T09:45:00.000Z",
        ),
        _agent(
            "sales-fr",
            "Claire – Ventes (Français)",
            "fr",
            "openai_realtime",
            "shimmer",
            "Concise francophone sales agent",
            False,
            "inactive",
            "2025-08-21T14:10:33.500Z",
        ),
    ]
