"""Login is throttled (django-axes): repeated failures lock that user out from that address."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def test_five_failed_logins_lock_the_account_even_for_the_right_password(client, settings):
    User.objects.create_user("alice", password="right-password-123")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page = client.post(LOGIN, {"username": "alice", "password": "wrong"})
        assert page.status_code == 200  # the form again, with an error
    assert client.post(LOGIN, {"username": "alice", "password": "wrong"}).status_code == 429
    locked = client.post(LOGIN, {"username": "alice", "password": "right-password-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_right_password_logs_in_and_resets_the_count(client):
    User.objects.create_user("bob", password="right-password-123")
    client.post(LOGIN, {"username": "bob", "password": "wrong"})
    ok = client.post(LOGIN, {"username": "bob", "password": "right-password-123"})
    assert ok.status_code == 302 and "_auth_user_id" in client.session
