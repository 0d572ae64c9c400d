"""API tokens at the door of the REST API: ``Authorization: Bearer <token>`` (rest/authentication.py).

A test-only view (tests/api/urls_for_tokens.py) says who a request is; the
real endpoints have their own tests.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from flowforge_admin.models import ApiToken
from flowforge_admin.models.tokens import TOKEN_PREFIX, digest
from flowforge_admin.rest.authentication import BearerTokenAuthentication

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls_for_tokens")]


@pytest.fixture
def operator(role_user):
    return role_user("Operator")


@pytest.fixture
def issued(operator):
    """An operator's token: (row, token in clear)."""
    return ApiToken.objects.issue(operator, "CI job")


def call(client, authorization):
    return client.get("/whoami/", HTTP_AUTHORIZATION=authorization)


def refused_with(response, message):
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": message}
    assert response["WWW-Authenticate"] == "Bearer"
    return True


def test_the_database_keeps_a_digest_and_a_prefix_never_the_token(issued):
    """Only the SHA-256 digest and the first characters are stored; the token is in no column."""
    row, token = issued
    stored = ApiToken.objects.filter(pk=row.pk).values().get()

    assert token.startswith(TOKEN_PREFIX)
    assert len(token) > 40
    assert stored["key_digest"] == digest(token) != token
    assert token.startswith(stored["prefix"])
    assert len(stored["prefix"]) == len(TOKEN_PREFIX) + 8
    assert token not in {str(value) for value in stored.values()}


def test_a_valid_token_authenticates_its_user(client, issued):
    """The request is the token's user, and request.auth is the token."""
    row, token = issued

    response = call(client, f"Bearer {token}")

    assert response.status_code == 200
    assert response.json() == {"username": "operator", "token": row.pk}


def test_the_keyword_is_case_insensitive(client, issued):
    _, token = issued

    assert call(client, f"bearer {token}").status_code == 200
    assert call(client, f"BEARER {token}").status_code == 200


def test_authenticate_returns_the_user_and_the_token_row(issued, operator):
    row, token = issued
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert BearerTokenAuthentication().authenticate(request) == (operator, row)


def test_another_scheme_is_left_to_the_next_authentication(issued):
    """Basic, Token or no header: not ours (None), so the session may still authenticate."""
    factory = APIRequestFactory()
    for header in ["Basic dXNlcjpwdw==", "Token abc", ""]:
        request = factory.get("/", HTTP_AUTHORIZATION=header)
        assert BearerTokenAuthentication().authenticate(request) is None, header


def test_without_credentials_the_answer_is_401_naming_bearer(client):
    response = client.get("/whoami/")

    assert refused_with(response, "Authentication credentials were not provided.")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer", "Invalid Authorization header: no token after 'Bearer'."),
        ("Bearer    ", "Invalid Authorization header: no token after 'Bearer'."),
        ("Bearer ffa_abc def", "Invalid Authorization header: the token must not contain spaces."),
        ("Bearer " + "ffa_" + "x" * 500, "Invalid Authorization header: that is not an API token."),
        ("Bearer ffa_not-a-token-anyone-has", "Invalid API token."),
        ("Bearer 0123456789abcdef", "Invalid API token."),
    ],
)
def test_a_malformed_or_unknown_token_is_refused_with_its_reason(client, issued, header, message):
    assert refused_with(call(client, header), message)


def test_a_non_ascii_token_is_refused(issued):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION="Bearer ffa_é".encode().decode("latin-1"))

    with pytest.raises(AuthenticationFailed, match="that is not an API token"):
        BearerTokenAuthentication().authenticate(request)


def test_a_revoked_token_is_refused(client, issued):
    row, token = issued
    row.revoke()

    assert refused_with(call(client, f"Bearer {token}"), "This API token has been revoked.")


def test_an_expired_token_is_refused(client, operator):
    row, token = ApiToken.objects.issue(operator, "short", expires_at=timezone.now() + timedelta(hours=1))
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert refused_with(call(client, f"Bearer {token}"), "This API token has expired.")


def test_a_token_that_has_not_expired_yet_works(client, operator):
    _, token = ApiToken.objects.issue(operator, "short", expires_at=timezone.now() + timedelta(hours=1))

    assert call(client, f"Bearer {token}").status_code == 200


def test_the_token_of_an_inactive_user_is_refused(client, issued, operator):
    _, token = issued
    User.objects.filter(pk=operator.pk).update(is_active=False)

    assert refused_with(call(client, f"Bearer {token}"), "The user of this API token is inactive.")


def test_the_token_of_a_user_no_longer_staff_is_refused(client, issued, operator):
    _, token = issued
    User.objects.filter(pk=operator.pk).update(is_staff=False)

    assert refused_with(
        call(client, f"Bearer {token}"), "The user of this API token is no longer a staff member."
    )


def test_a_deleted_user_takes_his_tokens_with_him(client, issued, operator):
    _, token = issued
    operator.delete()

    assert refused_with(call(client, f"Bearer {token}"), "Invalid API token.")


def test_last_use_is_written_at_most_once_a_minute(client, issued, django_assert_num_queries):
    """The first request records the time (one UPDATE); the next within a minute writes nothing."""
    row, token = issued
    assert row.last_used_at is None

    with django_assert_num_queries(2):  # the token with its user, the UPDATE
        assert call(client, f"Bearer {token}").status_code == 200
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first is not None

    with django_assert_num_queries(1):  # the token with its user only
        assert call(client, f"Bearer {token}").status_code == 200
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first

    # A minute later, the next request records it again.
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=first - timedelta(minutes=2))
    with django_assert_num_queries(2):
        assert call(client, f"Bearer {token}").status_code == 200
    assert ApiToken.objects.get(pk=row.pk).last_used_at > first - timedelta(minutes=2)


def test_touch_writes_only_when_the_stored_time_is_stale(issued):
    """Two requests holding the same stale row: the conditional UPDATE lets only one write."""
    row, _ = issued
    now = timezone.now()
    other = ApiToken.objects.get(pk=row.pk)

    assert row.touch(now) is True
    assert other.touch(now) is False  # its copy said "never used", the database says "just now"
    assert row.touch(now + timedelta(seconds=30)) is False
    assert row.touch(now + timedelta(minutes=1, seconds=1)) is True
