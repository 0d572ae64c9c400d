"""API tokens in the admin: each user his own, shown in clear once, revoked by POST, all logged."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flowforge_admin.models import ApiToken
from flowforge_admin.models.tokens import digest

pytestmark = pytest.mark.django_db

ADD = reverse("admin:flowforge_admin_apitoken_add")
LIST = reverse("admin:flowforge_admin_apitoken_changelist")


def change_url(token):
    return reverse("admin:flowforge_admin_apitoken_change", args=[token.pk])


def revoke_url(token):
    return reverse("admin:flowforge_admin_apitoken_revoke", args=[token.pk])


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="pw")


@pytest.fixture
def stakeholder(role_user):
    return role_user("Stakeholder")


@pytest.fixture
def operator(role_user):
    return role_user("Operator")


def expiry_fields(moment):
    return {"expires_at_0": moment.strftime("%Y-%m-%d"), "expires_at_1": moment.strftime("%H:%M:%S")}


def create(client, name="CI job", **fields):
    return client.post(ADD, {"name": name, "expires_at_0": "", "expires_at_1": "", **fields})


def test_a_stakeholder_creates_a_token_and_sees_it_once(stakeholder):
    """The answer to the POST shows the token; the database has its digest; no page shows it again."""
    client = logged_in(stakeholder)
    form = client.get(ADD)
    assert form.status_code == 200
    assert 'value="Create token"' in form.content.decode()

    response = create(client)

    assert response.status_code == 200
    token = response.context["token_in_clear"]
    row = ApiToken.objects.get()
    assert (row.user, row.name, row.key_digest) == (stakeholder, "CI job", digest(token))
    assert token in response.content.decode()
    assert "will not be shown again" in response.content.decode()
    assert "no-store" in response["Cache-Control"]

    for page in (change_url(row), LIST, reverse("admin:flowforge_admin_apitoken_history", args=[row.pk])):
        shown = client.get(page)
        assert shown.status_code == 200, page
        assert token not in shown.content.decode(), page
    assert row.prefix in client.get(change_url(row)).content.decode()


def test_creating_a_token_writes_one_admin_log_entry(operator):
    create(logged_in(operator), "deploys")
    row = ApiToken.objects.get()

    assert list(
        LogEntry.objects.values_list("user__username", "action_flag", "object_id", "change_message")
    ) == [("operator", ADDITION, str(row.pk), f"Created API token 'deploys' ({row.prefix}…), never expires.")]


def test_an_expiry_in_the_past_is_a_form_error_and_nothing_is_made(operator):
    response = create(logged_in(operator), **expiry_fields(timezone.now() - timedelta(days=1)))

    assert response.status_code == 200
    assert (
        response.context["adminform"]
        .form.errors["expires_at"][0]
        .startswith("The expiry must be in the future")
    )
    assert not ApiToken.objects.exists()


def test_a_future_expiry_is_kept(operator):
    moment = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    create(logged_in(operator), **expiry_fields(moment))

    assert ApiToken.objects.get().expires_at == moment


@override_settings(FLOWFORGE_API_TOKEN_MAX_DAYS=90)
def test_with_a_longest_life_the_form_requires_an_expiry_within_it(operator):
    client = logged_in(operator)

    assert "at most 90 days from now" in client.get(ADD).content.decode()
    assert create(client).context["adminform"].form.errors["expires_at"] == ["This field is required."]
    far = create(client, **expiry_fields(timezone.now() + timedelta(days=91)))
    assert "at most 90 days ahead" in far.context["adminform"].form.errors["expires_at"][0]
    assert not ApiToken.objects.exists()


def test_a_superuser_creates_tokens_only_for_himself(superuser, operator):
    """The form has no user field: a posted one is ignored."""
    create(logged_in(superuser), user=operator.pk)

    assert ApiToken.objects.get().user == superuser


def test_a_user_sees_only_his_own_tokens(operator, stakeholder):
    mine, _ = ApiToken.objects.issue(operator, "mine")
    theirs, _ = ApiToken.objects.issue(stakeholder, "theirs")
    client = logged_in(operator)

    listed = client.get(LIST)
    assert list(listed.context["cl"].result_list) == [mine]
    # Another's token page is as if it did not exist: back to the index, nothing of it shown.
    other = client.get(change_url(theirs), follow=True)
    assert other.redirect_chain[-1][0] == reverse("admin:index")
    assert "theirs" not in other.content.decode()
    assert client.post(revoke_url(theirs)).status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


def test_a_superuser_sees_every_token_with_its_user(superuser, operator, stakeholder):
    ApiToken.objects.issue(operator, "op token")
    ApiToken.objects.issue(stakeholder, "sh token")

    response = logged_in(superuser).get(LIST)

    assert {token.name for token in response.context["cl"].result_list} == {"op token", "sh token"}
    assert "field-user" in response.content.decode()
    assert "?user__id__exact=" in response.content.decode()


def test_the_list_filters_by_status_and_searches_name_and_prefix(operator):
    active, _ = ApiToken.objects.issue(operator, "active one")
    revoked, _ = ApiToken.objects.issue(operator, "revoked one")
    revoked.revoke()
    expired, _ = ApiToken.objects.issue(
        operator, "expired one", expires_at=timezone.now() + timedelta(hours=1)
    )
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    client = logged_in(operator)

    def names(query):
        return {token.name for token in client.get(LIST + query).context["cl"].result_list}

    assert names("?status=active") == {"active one"}
    assert names("?status=expired") == {"expired one"}
    assert names("?status=revoked") == {"revoked one"}
    assert names(f"?q={active.prefix}") == {"active one"}
    assert names("?q=expired") == {"expired one"}


def test_the_list_costs_the_same_queries_for_3_or_12_tokens(operator):
    client = logged_in(operator)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    for index in range(3):
        ApiToken.objects.issue(operator, f"t{index}")
    few = queries()
    for index in range(3, 12):
        ApiToken.objects.issue(operator, f"t{index}")
    assert queries() == few


def test_revoke_is_a_post_that_logs(operator):
    row, _ = ApiToken.objects.issue(operator, "ci")
    client = logged_in(operator)

    assert f'action="{revoke_url(row)}"' in client.get(change_url(row)).content.decode()
    assert client.get(revoke_url(row)).status_code == 405
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None

    response = client.post(revoke_url(row), follow=True)

    assert response.redirect_chain[-1][0] == change_url(row)
    assert "Revoked 1 token." in response.content.decode()
    assert ApiToken.objects.get(pk=row.pk).status() == ApiToken.Status.REVOKED
    assert list(LogEntry.objects.values_list("action_flag", "change_message")) == [(CHANGE, "Revoked.")]
    # A revoked token's page offers no revoke button and no save.
    page = client.get(change_url(row)).content.decode()
    assert revoke_url(row) not in page
    assert 'name="_save"' not in page


def test_revoke_needs_csrf(operator):
    row, _ = ApiToken.objects.issue(operator, "ci")
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)

    assert client.post(revoke_url(row)).status_code == 403
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None


def test_bulk_revoke_of_own_tokens(operator):
    first, _ = ApiToken.objects.issue(operator, "one")
    second, _ = ApiToken.objects.issue(operator, "two")
    kept, _ = ApiToken.objects.issue(operator, "kept")

    response = logged_in(operator).post(
        LIST, {"action": "revoke_selected", "_selected_action": [first.pk, second.pk]}, follow=True
    )

    assert "Revoked 2 tokens." in response.content.decode()
    assert set(ApiToken.objects.revoked().values_list("name", flat=True)) == {"one", "two"}
    assert ApiToken.objects.get(pk=kept.pk).revoked_at is None
    assert LogEntry.objects.filter(change_message="Revoked.").count() == 2


def test_bulk_revoke_cannot_reach_another_users_token(operator, stakeholder):
    theirs, _ = ApiToken.objects.issue(stakeholder, "theirs")

    logged_in(operator).post(LIST, {"action": "revoke_selected", "_selected_action": [theirs.pk]})

    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


def test_a_superuser_revokes_anyones_token_and_may_delete(superuser, operator):
    row, _ = ApiToken.objects.issue(operator, "ci")
    client = logged_in(superuser)

    client.post(LIST, {"action": "revoke_selected", "_selected_action": [row.pk]})
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None

    client.post(reverse("admin:flowforge_admin_apitoken_delete", args=[row.pk]), {"post": "yes"})
    assert not ApiToken.objects.exists()


def test_users_rename_their_tokens_but_do_not_delete_them(operator):
    row, _ = ApiToken.objects.issue(operator, "ci")
    client = logged_in(operator)

    response = client.post(change_url(row), {"name": "ci (deploys)"})

    assert response.status_code == 302
    assert ApiToken.objects.get(pk=row.pk).name == "ci (deploys)"
    assert client.get(reverse("admin:flowforge_admin_apitoken_delete", args=[row.pk])).status_code == 403
    actions = [name for name, _ in client.get(LIST).context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert "revoke_selected" in actions


@override_settings(TIME_ZONE="Europe/Paris")
def test_the_expiry_is_read_and_shown_in_the_admins_time_zone(operator):
    """A host in another zone: the form says which, the list shows it, the admin log keeps UTC."""
    client = logged_in(operator)
    assert "Europe/Paris. Leave empty" in client.get(ADD).content.decode()

    create(client, **expiry_fields(timezone.localtime(timezone.now() + timedelta(days=2))))
    row = ApiToken.objects.get()

    assert (
        f"{timezone.localtime(row.expires_at):%H:%M}</span> Europe/Paris" in client.get(LIST).content.decode()
    )
    assert f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC" in LogEntry.objects.get().change_message


def test_anonymous_users_are_sent_to_log_in_and_change_nothing(operator):
    row, _ = ApiToken.objects.issue(operator, "ci")
    client = Client()

    for response in (client.get(LIST), client.get(ADD), client.post(revoke_url(row))):
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None
