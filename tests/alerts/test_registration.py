"""register_task_pipeline(alerts=...): the rules (one validation path with the admin), and replacement."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from flowforge_admin.api import register_task_pipeline
from flowforge_admin.exceptions import FlowDefinitionError
from flowforge_admin.models import Flow, FlowAlert

from .. import engine_tasks as t

pytestmark = pytest.mark.django_db

PIPELINE = {"only": {"function": t.echo}}
ALLOWED = "tests.alerts.callables.page_oncall"


def register(alerts, name="alerted"):
    return register_task_pipeline(name, PIPELINE, alerts=alerts)


def test_alerts_of_every_channel_are_stored(settings):
    settings.FLOWFORGE_FUNCTION_MODULES = ["tests.alerts"]
    flow = register(
        [
            {
                "on": ["run_failed"],
                "webhook": "https://hooks.example.com/x",
                "secret": "s3cret",
                "name": "hook",
            },
            {
                "on": ["run_failed", "sla_missed"],
                "sla_seconds": 3600,
                "email": ["ops@example.com", "lead@example.com"],
                "groups": ["Operator"],
                "name": "mail",
            },
            {"on": "task_retrying", "callable": ALLOWED, "name": "page"},
        ]
    )
    by_name = {alert.name: alert for alert in flow.alerts.all()}
    hook, mail, page = by_name["hook"], by_name["mail"], by_name["page"]
    assert (hook.channel, hook.webhook_url, hook.secret, hook.origin) == (
        "webhook",
        "https://hooks.example.com/x",
        "s3cret",
        "code",
    )
    assert (mail.events, mail.sla_seconds, mail.address_list()) == (
        ["run_failed", "sla_missed"],
        3600,
        ["ops@example.com", "lead@example.com"],
    )
    assert list(mail.groups.values_list("name", flat=True)) == ["Operator"]
    assert (page.channel, page.callable_path, page.events) == ("callable", ALLOWED, ["task_retrying"])


def test_registering_again_replaces_the_code_alerts_and_keeps_a_generated_secret_and_admin_alerts():
    flow = register([{"on": ["run_failed"], "webhook": "https://hooks.example.com/x", "name": "hook"}])
    secret = flow.alerts.get().secret
    assert len(secret) == 64
    made_in_admin = FlowAlert.objects.create(
        flow=flow, name="mine", events=["run_succeeded"], channel="email", addresses="me@example.com"
    )
    register(
        [{"on": ["run_failed", "run_succeeded"], "webhook": "https://hooks.example.com/x", "name": "hook"}]
    )
    hook = flow.alerts.get(name="hook")
    assert (hook.secret, hook.events) == (secret, ["run_failed", "run_succeeded"])
    register([])
    assert list(flow.alerts.all()) == [made_in_admin]


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        (
            [{"on": ["run_faild"], "webhook": "https://x.example.com"}],
            "flow 'alerted', alerts[0].on: unknown event 'run_faild' (did you mean 'run_failed'?)",
        ),
        (
            [{"on": ["run_failed"], "webhook": "ftp://x.example.com/hook"}],
            "alerts[0].webhook: 'ftp://x.example.com/hook' is not an http or https URL",
        ),
        (
            [{"on": ["run_failed"], "email": ["ops@example.com"], "groups": ["Nobody"]}],
            "alerts[0].groups: no group 'Nobody'",
        ),
        (
            [{"on": ["run_failed"], "email": ["not an address"]}],
            "alerts[0].email: not an e-mail address: 'not an address'",
        ),
        (
            [{"on": ["sla_missed"], "email": ["ops@example.com"]}],
            "alerts[0].sla_seconds: the sla_missed event needs sla_seconds",
        ),
        (
            [{"on": ["run_failed"], "webhook": "https://x.example.com", "email": ["a@example.com"]}],
            "alerts[0]: needs exactly one channel",
        ),
        (
            [{"on": [], "webhook": "https://x.example.com"}],
            "alerts[0].on: must be a non-empty list of events",
        ),
        (
            [{"on": ["run_failed"], "webhook": "https://x.example.com", "retries": 3}],
            "alerts[0].retries: unknown key",
        ),
        (
            [{"on": ["run_failed"], "callable": "os.system"}],
            "alerts[0].callable: 'os.system' is not an allowed task function",
        ),
        (
            [{"on": ["run_failed"], "callable": "tests.untrusted_tasks.anything"}],
            "alerts[0].callable: 'tests.untrusted_tasks.anything' is not an allowed task function: register it",
        ),
    ],
)
def test_a_bad_alert_is_refused_with_a_message_naming_it_and_nothing_is_written(alerts, message):
    with pytest.raises(FlowDefinitionError) as raised:
        register(alerts)
    assert message in str(raised.value)
    assert not Flow.objects.filter(name="alerted").exists()


def test_a_bad_alert_on_reregistration_leaves_the_flow_and_its_alerts_as_they_were():
    flow = register([{"on": ["run_failed"], "webhook": "https://hooks.example.com/x"}])
    with pytest.raises(FlowDefinitionError):
        register([{"on": ["nope"], "webhook": "https://hooks.example.com/x"}])
    assert list(flow.alerts.values_list("events", flat=True)) == [["run_failed"]]


def test_a_callable_from_an_allowed_module_is_accepted_and_one_from_elsewhere_is_not(settings):
    settings.FLOWFORGE_FUNCTION_MODULES = ["tests.alerts"]
    assert register([{"on": ["run_failed"], "callable": ALLOWED}]).alerts.get().callable_path == ALLOWED
    with pytest.raises(FlowDefinitionError, match="is not an allowed task function"):
        register([{"on": ["run_failed"], "callable": "subprocess.run"}], name="other")
    settings.FLOWFORGE_FUNCTION_MODULES = []
    with pytest.raises(FlowDefinitionError, match="is not an allowed task function"):
        register([{"on": ["run_failed"], "callable": ALLOWED}], name="third")


def test_the_admin_form_applies_the_same_rules():
    flow = register([])
    alert = FlowAlert(flow=flow, name="x", events=["run_faild"], channel="webhook", webhook_url="ftp://x")
    with pytest.raises(ValidationError) as raised:
        alert.full_clean()
    assert "unknown event 'run_faild'" in str(raised.value)
    assert "'ftp://x' is not an http or https URL" in str(raised.value)
    assert Group.objects.filter(name="Operator").exists()
