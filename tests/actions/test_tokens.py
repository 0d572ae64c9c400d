"""IssueTokenAction and RevokeTokenAction: each user his own tokens, every change in the admin log."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from flowforge_admin.actions.tokens import IssueTokenAction, RevokeTokenAction
from flowforge_admin.models import ApiToken
from flowforge_admin.models.tokens import digest

pytestmark = pytest.mark.django_db


def entries(token):
    return list(
        LogEntry.objects.filter(object_id=str(token.pk), content_type__model="apitoken")
        .order_by("pk")
        .values_list("user__username", "action_flag", "change_message")
    )


def test_a_stakeholder_issues_his_own_token_and_it_is_logged(stakeholder):
    row, token = IssueTokenAction(stakeholder, "reports", user=stakeholder).execute()

    assert row.user == stakeholder
    assert row.key_digest == digest(token)
    assert entries(row) == [
        ("stakeholder", ADDITION, f"Created API token 'reports' ({row.prefix}…), never expires.")
    ]


def test_nobody_issues_a_token_for_someone_else(superuser, stakeholder):
    """Not even a superuser: a token acts only for the user who made it."""
    with pytest.raises(PermissionDenied, match="creates only his own tokens"):
        IssueTokenAction(stakeholder, "for you", user=superuser).execute()

    assert not ApiToken.objects.exists()


def test_an_expiry_in_the_past_is_refused_and_nothing_is_made(operator):
    with pytest.raises(ValidationError, match="must be in the future"):
        IssueTokenAction(
            operator, "old", expires_at=timezone.now() - timedelta(minutes=1), user=operator
        ).execute()

    assert not ApiToken.objects.exists()
    assert not LogEntry.objects.exists()


@override_settings(FLOWFORGE_API_TOKEN_MAX_DAYS=30)
def test_with_a_longest_life_the_expiry_is_required_and_bounded(operator):
    with pytest.raises(ValidationError, match="An expiry date is required: tokens may live at most 30 days"):
        IssueTokenAction(operator, "forever", user=operator).execute()
    with pytest.raises(ValidationError, match="at most 30 days ahead"):
        IssueTokenAction(
            operator, "long", expires_at=timezone.now() + timedelta(days=31), user=operator
        ).execute()

    row, _ = IssueTokenAction(
        operator, "month", expires_at=timezone.now() + timedelta(days=29), user=operator
    ).execute()
    assert row.is_usable()


def test_the_owner_revokes_once_and_the_log_says_so(operator):
    row, _ = ApiToken.objects.issue(operator, "ci")

    assert RevokeTokenAction(row, user=operator).execute() is True
    assert RevokeTokenAction(ApiToken.objects.get(pk=row.pk), user=operator).execute() is False

    row.refresh_from_db()
    assert row.status() == ApiToken.Status.REVOKED
    assert entries(row) == [("operator", CHANGE, "Revoked.")]


def test_another_user_may_not_revoke_a_token_but_a_superuser_may(operator, editor, superuser):
    row, _ = ApiToken.objects.issue(operator, "ci")

    with pytest.raises(PermissionDenied, match="belongs to another user"):
        RevokeTokenAction(row, user=editor).execute()
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None

    assert RevokeTokenAction(row, user=superuser).execute() is True
    assert entries(row) == [("root", CHANGE, "Revoked.")]
