"""Throttles: each token has its own allowance, reads and changes counted apart; 429 with Retry-After."""

import pytest
from django.core.cache.backends.filebased import FileBasedCache

from .conftest import bearer_client, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_rates(settings):
    settings.FLOWFORGE_API_THROTTLE = {"read": "3/minute", "write": "1/minute"}


def test_a_token_over_its_read_rate_gets_429_with_retry_after(small_rates, operator_api, flow):
    statuses = [operator_api.get(url("api-flow-list")).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = operator_api.get(url("api-flow-list"))
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()


def test_changes_have_their_own_count_and_each_token_its_own(small_rates, operator_api, flow):
    launch = url("api-flow-launch", flow.name)

    assert operator_api.post(launch, {"params": {}}, format="json").status_code == 201
    assert operator_api.post(launch, {"params": {}}, format="json").status_code == 429
    assert operator_api.get(url("api-flow-list")).status_code == 200  # reads still allowed
    # Another token of the same user has its own allowance.
    other = bearer_client(operator_api.token.user)
    assert other.post(launch, {"params": {}}, format="json").status_code == 201
    assert flow.runs.count() == 2


def test_no_rate_means_no_limit(settings, operator_api, flow):
    settings.FLOWFORGE_API_THROTTLE = {"read": None, "write": "1/minute"}

    assert {operator_api.get(url("api-flow-list")).status_code for _ in range(5)} == {200}


def test_the_projects_file_cache_shares_the_counts_between_processes(
    settings, small_rates, operator_api, flow, tmp_path
):
    """project/settings.py's cache without Redis: files, which every web process on the machine reads."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    for _ in range(2):
        assert operator_api.get(url("api-flow-list")).status_code == 200

    # What another process sees: its own cache object on the same directory.
    another_process = FileBasedCache(str(tmp_path), {})
    key = f"throttle_flowforge-api-read_token-{operator_api.token.pk}"
    assert len(another_process.get(key)) == 2
    another_process.set(key, another_process.get(key) * 2, 60)  # two more requests over there
    assert operator_api.get(url("api-flow-list")).status_code == 429
