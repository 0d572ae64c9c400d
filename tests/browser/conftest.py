"""A real headless Chromium, driven by Selenium through Debian's chromedriver."""

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from ..conftest import require_service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="session")
def browser():
    require_service(
        "Chromium",
        Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(),
        "install Debian's chromium and chromium-driver packages",
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def screenshot(browser):
    """Save a screenshot of the current page under var/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name):
        path = SCREENSHOTS / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return take


@pytest.fixture
def logged_in(browser, live_server, django_user_model):
    """Log a superuser in through the admin's login form; return a URL maker."""

    django_user_model.objects.create_superuser("admin", password=PASSWORD)
    submit_login(browser, live_server, "admin")
    return lambda path: f"{live_server.url}{path}"


def submit_login(browser, live_server, username):
    """Log ``username`` in through the admin's login form, in a browser with no session."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # Wait for the logged-in page: navigating away sooner could cancel the login's POST.
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, "user-tools")))


def log_in(browser, live_server, group):
    """Log in a new staff user of ``group`` (Stakeholder, Operator, Editor), named after it."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(group.lower(), password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    submit_login(browser, live_server, group.lower())
