""" "Send test" on /alerts/: a POST sends a test notice to one channel now (a real file, a real HTTP
receiver, a port nobody listens on), says whether it arrived, and is audited."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from voxdash.alerts.models import AlertChannel, AlertDelivery
from voxdash.audit.models import AuditEntry

Action = AuditEntry.Action


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """The header asks Vox who it is on every page: the simulator answers."""


@pytest.fixture
def staff_user(db):
    return User.objects.create_user("stan", password="pw-stan-123", is_staff=True)


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def receiver():
    """A real HTTP receiver on a free port: keeps each POST's body."""
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts", bodies
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send_test_url(channel: AlertChannel) -> str:
    return reverse("alerts:channel_test", args=[channel.pk])


def audited_tests() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=Action.ALERT_CHANNEL_TESTED))


@pytest.mark.parametrize("who", ["viewer", "caller"])
def test_only_staff_may_send_a_test(request, db, client, tmp_path, who):
    channel = AlertChannel.objects.create(name="File", kind="file", url=f"file://{tmp_path}/alerts.log")
    client.force_login(request.getfixturevalue(who))
    assert client.post(send_test_url(channel)).status_code == 403
    assert (
        not (tmp_path / "alerts.log").exists() and not AlertDelivery.objects.exists() and not audited_tests()
    )


def test_a_get_sends_nothing(staff, tmp_path):
    channel = AlertChannel.objects.create(name="File", kind="file", url=f"file://{tmp_path}/alerts.log")
    assert staff.get(send_test_url(channel)).status_code == 405
    assert not (tmp_path / "alerts.log").exists() and not audited_tests()


def test_a_test_to_a_file_arrives_and_says_so(staff, staff_user, tmp_path):
    log = tmp_path / "alerts.log"
    channel = AlertChannel.objects.create(name="Demo file", kind="file", url=f"file://{log}")
    response = staff.post(send_test_url(channel))
    assert response.status_code == 302 and response["Location"] == reverse("alerts:index") + "#channels"
    assert log.read_text().strip()  # one line, written now
    [delivery] = AlertDelivery.objects.all()
    assert delivery.notice == "test" and delivery.state == "delivered" and delivery.alert is None
    [entry] = audited_tests()
    assert (
        entry.user == staff_user and entry.object_id == str(channel.pk) and entry.object_label == "Demo file"
    )
    assert entry.detail == {"state": "delivered"}
    page = staff.get(response["Location"]).content.decode()
    assert "Test notice delivered to “Demo file”." in page


def test_a_test_to_a_webhook_reaches_the_receiver(staff, receiver):
    url, bodies = receiver
    channel = AlertChannel.objects.create(name="Pager hook", kind="webhook", url=url, enabled=False)
    response = staff.post(send_test_url(channel), follow=True)
    assert len(bodies) == 1  # an off channel can be tested before it is turned on
    assert "Test notice delivered to “Pager hook”." in response.content.decode()
    assert audited_tests()[0].detail == {"state": "delivered"}


def test_a_failed_test_says_why_and_is_audited_with_the_error(staff):
    channel = AlertChannel.objects.create(
        name="Dead hook", kind="webhook", url=f"http://127.0.0.1:{free_port()}/hook?token=s3cr3t-value"
    )
    response = staff.post(send_test_url(channel), follow=True)
    body = response.content.decode()
    assert response.status_code == 200
    assert "The test notice to “Dead hook” was not delivered:" in body
    [delivery] = AlertDelivery.objects.all()
    assert delivery.state != "delivered" and delivery.last_error
    [entry] = audited_tests()
    assert entry.detail["state"] == delivery.state and entry.detail["error"] == delivery.last_error
    assert "s3cr3t-value" not in body and "s3cr3t-value" not in str(entry.detail)
    channel.refresh_from_db()
    assert channel.failing  # and the channels table says so
    assert "failing" in body


def test_an_unknown_channel_is_404(staff):
    assert staff.post(reverse("alerts:channel_test", args=[999_999])).status_code == 404
