"""What an auditor sees: the rows of /audit/ as text, and the staff who may read it."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from voxdash.audit.models import AuditEntry

AUDIT = reverse("audit:index")
ADDRESS = "203.0.113.9"  # where the person sits (TEST-NET-3)


@pytest.fixture
def staff(db):
    from django.contrib.auth.models import User

    return User.objects.create_user("sam", password="pw-sam-123", is_staff=True)


@pytest.fixture
def auditor(staff, vox_settings) -> Client:
    """A staff member's own browser, reading /audit/ (its sign-in is recorded too, as any)."""
    client = Client()
    client.force_login(staff)
    return client


def cells(row_html: str) -> list[str]:
    """The text of each cell of a table row, tags stripped, spaces collapsed."""
    found = re.findall(r"<td[^>]*>(.*?)</td>", row_html, flags=re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in found]


def audit_rows(client: Client, **params) -> list[list[str]]:
    """The rows of /audit/ (newest first) as an auditor reads them: when, who, from, what, object, detail."""
    response = client.get(AUDIT, params)
    assert response.status_code == 200
    rows = re.findall(r'<tr class="audit-row[^"]*">(.*?)</tr>', response.content.decode(), flags=re.S)
    return [cells(row) for row in rows]


def rows_of(client: Client, action: str) -> list[list[str]]:
    """/audit/ filtered to one action: [who, from, what, object, detail] per row (the time left out)."""
    return [row[1:] for row in audit_rows(client, action=action)]


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("at", "id"))
