"""masked_url: what pages show of a channel's URL (passwords, tokens, secret path parts as •••),
and scrub: the same secrets out of an error message."""

import pytest

from tests.alerts.delivering import make_channel
from voxdash.alerts.channels import scrub
from voxdash.alerts.notify import masked_url


@pytest.mark.parametrize(
    "url, shown",
    [
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#alerts", "slack://•••/•••/•••/#alerts"),
        # A service's URL is all tokens, however short or plain they look.
        ("slack://T0000/B0000/XXXXsecretXXXX", "slack://•••/•••/•••"),
        ("msteams://team/tokenA/tokenB/tokenC/", "msteams://•••/•••/•••/•••/"),
        (
            "mailtos://ops:hunter2@smtp.example.com?to=a@example.com",
            "mailtos://ops:•••@smtp.example.com?to=a@example.com",
        ),
        ("mailto://127.0.0.1:2525?from=alerts@example.com&to=ops@example.com", None),
        (
            "https://hooks.example.com/services/8f14e45f-ceea-467f-a0c9-0c4b6b7c0e11/notify?name=ops&token=abc",
            "https://hooks.example.com/services/•••/notify?name=ops&token=•••",
        ),
        ("https://hooks.example.com/voxdash/alerts", None),
        (
            "json://user:pa55word@relay.example.com:8080/path?sig=xyz",
            "json://user:•••@relay.example.com:8080/path?sig=•••",
        ),
        (
            "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567",
            "tgram://•••:•••/-1001234567",
        ),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://•••/•••"),
        ("file:///var/lib/voxdash/alerts-2026.log", None),
    ],
)
def test_secrets_are_masked_and_the_rest_is_readable(db, url, shown):
    channel = make_channel(f"c{abs(hash(url))}", url)
    assert masked_url(channel) == (shown or url)


def test_scrub_also_catches_decoded_and_encoded_forms():
    url = "json://relay.example.com/hook?token=a%2Fb%2Bc-123456"
    assert scrub("token a/b+c-123456 and a%2Fb%2Bc-123456", url) == "token ••• and •••"
