"""What a person does on the place-a-call form, and what reached Vox, for the placement tests."""

import threading

import httpx
from django.db import connection
from django.urls import reverse

URL = reverse("placements:new")


def form_defaults(client) -> dict:
    """What a person submits: the rendered form's key and pickers, plus typed values."""
    response = client.get(URL)
    assert response.status_code == 200
    form = response.context["form"]
    return {
        "customer_phone": "+2348031234560",
        "customer_name": "Adaeze Okonkwo",
        "purpose": "payment_reminder",
        "context": "Remind about invoice INV-2026-001 for NGN 15,000 due tomorrow.",
        "business_voice_number_id": form.fields["business_voice_number_id"].choices[0][0],
        "ai_agent_id": form.initial["ai_agent_id"],
        "idempotency_key": str(form.initial["idempotency_key"]),
    }


def place(client, data, **extra):
    return client.post(URL, {**data, "action": "place"}, **extra)


def posts_to_vox(simulator) -> int:
    """How many POST /v1/vox/calls reached Vox, from the simulator's own request log (over HTTP)."""
    log = httpx.get(f"{simulator.base_url}/_simulator/requests").json()
    return sum(1 for _, method, path, _ in log if method == "POST" and path == "/v1/vox/calls")


def place_at_once(clients, data, *, barrier: bool = True) -> list:
    """Each client presses "Place call" with `data` in its own thread; the responses, in the order
    they came. With `barrier`, all press at the same moment rather than as their threads start."""
    start = threading.Barrier(len(clients)) if barrier else None
    responses = []

    def press(client):
        try:
            if start is not None:
                start.wait(timeout=30)
            responses.append(place(client, data))
        finally:
            connection.close()  # this thread's own; left open it blocks dropping the test database

    threads = [threading.Thread(target=press, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return responses
