"""Production settings (project/settings.py, "Production"): HTTPS, static files, gunicorn.

Settings are read once per process, so each case runs ``manage.py``, gunicorn
or a request through ``project.wsgi.application`` in a fresh process with the
production environment and its own FLOWFORGE_VAR_DIR.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)

# Calls the WSGI application the way gunicorn does, one request per item of
# argv[1] ([path, {header: value}]), and prints status, headers and body.
WSGI_REQUESTS = """
import json
import sys
from wsgiref.util import setup_testing_defaults

from project.wsgi import application

def request(path, headers):
    environ = {"PATH_INFO": path}
    environ.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()})
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = response_headers

    body = b"".join(application(environ, start_response))
    answer["body"] = body.decode("utf-8", "replace") if b"\\0" not in body[:512] else ""
    answer["length"] = len(body)
    return answer

print(json.dumps([request(path, headers) for path, headers in json.loads(sys.argv[1])]))
"""


@pytest.fixture
def production_env(tmp_path):
    """The environment of a production process: DEBUG off, a strong key, HTTPS, nothing of this machine's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "FLOWFORGE_", "GUNICORN_")) and name != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="1",
        FLOWFORGE_VAR_DIR=str(tmp_path / "var"),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
    )
    return env


def run(command, env, check=True):
    result = subprocess.run(
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def manage(env, *args, check=True):
    return run([sys.executable, "manage.py", *args], env, check=check)


def wsgi_requests(env, *requests):
    """Send ``(path, headers)`` requests through the WSGI app; return their answers."""
    result = run([sys.executable, "-c", WSGI_REQUESTS, json.dumps(requests)], env)
    return json.loads(result.stdout)


def header(answer, name):
    """Return the values of the response header ``name``."""
    return [value for key, value in answer["headers"] if key.lower() == name.lower()]


def test_deploy_check_is_clean_with_the_production_environment(production_env):
    """`check --deploy --fail-level WARNING` passes with DEBUG off, a strong key and DJANGO_HTTPS=1."""
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING", check=False)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output
    assert "?: (security" not in output


def test_deploy_check_warns_without_https(production_env):
    """Without DJANGO_HTTPS the same check fails on the HTTPS settings (nothing changes on a laptop)."""
    del production_env["DJANGO_HTTPS"]

    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING", check=False)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    for check_id in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check_id in output


def test_bad_hsts_seconds_is_a_clear_error(production_env):
    """A DJANGO_HSTS_SECONDS that is not a number stops start-up and names the variable."""
    production_env["DJANGO_HSTS_SECONDS"] = "one year"

    result = manage(production_env, "check", check=False)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_HSTS_SECONDS must be a whole number of seconds" in result.stderr


def test_https_redirects_pages_but_not_probes(production_env):
    """Plain HTTP pages redirect to https, /health/ and /metrics answer as they are; the proxy header counts."""
    production_env["DJANGO_ALLOWED_HOSTS"] = "flowforge.example.com,10.1.2.3"
    manage(production_env, "migrate", "--noinput", "-v", "0")

    page, probe, metrics, proxied = wsgi_requests(
        production_env,
        ("/admin/login/", {"host": "flowforge.example.com"}),
        ("/health/", {"host": "10.1.2.3:8000"}),  # as kubelet sends it
        ("/metrics", {"host": "10.1.2.3:8000"}),
        ("/admin/login/", {"host": "flowforge.example.com", "x-forwarded-proto": "https"}),
    )

    assert page["status"] == 301
    assert header(page, "Location") == ["https://flowforge.example.com/admin/login/"]
    assert probe["status"] == 200, probe["body"]
    assert metrics["status"] == 401  # its own answer: a bearer token is needed
    assert proxied["status"] == 200
    assert header(proxied, "Strict-Transport-Security") == ["max-age=31536000; includeSubDomains; preload"]
    cookies = header(proxied, "Set-Cookie")
    assert cookies
    assert all("Secure" in cookie for cookie in cookies)


def test_whitenoise_serves_collected_static_files(production_env):
    """After collectstatic with DJANGO_STATIC_MANIFEST=1, pages link hashed files that the app serves for ever."""
    production_env["DJANGO_STATIC_MANIFEST"] = "1"
    del production_env["DJANGO_HTTPS"]  # plain requests below, no redirect
    manage(production_env, "collectstatic", "--noinput", "-v", "0")

    (login,) = wsgi_requests(production_env, ("/admin/login/", {}))
    assert login["status"] == 200, login["body"]
    match = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login["body"])
    assert match, "the login page does not link the hashed stylesheet"

    plain, compressed = wsgi_requests(
        production_env, (match.group(1), {}), (match.group(1), {"accept-encoding": "gzip"})
    )
    assert plain["status"] == 200
    collected = Path(production_env["DJANGO_STATIC_ROOT"]) / match.group(1).removeprefix("/static/")
    assert plain["body"] == collected.read_text()
    assert header(plain, "Cache-Control") == ["max-age=315360000, public, immutable"]
    assert compressed["status"] == 200
    assert header(compressed, "Content-Encoding") == ["gzip"]
    assert compressed["length"] < plain["length"]


def test_gunicorn_config_reads_its_environment(production_env):
    """deploy/gunicorn.conf.py binds port 8000 on all addresses, logs access to stdout, takes workers from env."""
    production_env["GUNICORN_WORKERS"] = "3"
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "project.wsgi"]

    result = run([*gunicorn, "--print-config"], production_env)

    config = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    assert config["bind"] == "['0.0.0.0:8000']"
    assert config["workers"] == "3"
    assert config["accesslog"] == "-"
    assert int(config["graceful_timeout"]) > 0
    assert run([*gunicorn, "--check-config"], production_env).returncode == 0


def test_gunicorn_config_refuses_a_bad_worker_count(production_env):
    """A GUNICORN_WORKERS that is not a number is a clear error naming it."""
    production_env["GUNICORN_WORKERS"] = "many"

    result = run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--check-config", "project.wsgi"],
        production_env,
        check=False,
    )

    assert result.returncode != 0
    assert "GUNICORN_WORKERS must be a whole number, not 'many'" in result.stdout + result.stderr
