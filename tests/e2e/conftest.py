"""A live server on a fresh SQLite database with the demo loaded, and a real Chromium.

Chromium and chromedriver come from Debian (`.ci/run` installs them). Without them the
browser tests are skipped locally, but fail when E2E_REQUIRED=1 (as in CI), so that a CI
run can never pass without having driven the browser.
"""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from examadmin import create_app
from examadmin.config import ROOT
from examadmin.demo import load_demo
from examadmin.extensions import db
from tests.conftest import dispose

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
#: the live server's app, for journeys that must prepare data no page makes yet
_LIVE: dict = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.no_db_fixture)


@pytest.fixture(scope="session")
def live_app(live_url):
    """The live server's app, for a journey that must prepare data no page creates yet."""
    return live_url.app


class LiveUrl(str):
    """The live server's base URL; `.app` is its app."""

    app = None


@contextmanager
def demo_server(tmp):
    """The demo year served on a fresh SQLite database in `tmp`; yields its LiveUrl."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/e2e.db", "STORAGE_DIR": str(tmp / "storage"),
        "RATELIMIT_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = LiveUrl(f"http://127.0.0.1:{server.server_port}")
    url.app = app
    try:
        yield url
    finally:
        server.shutdown()
        dispose(app)


@pytest.fixture(scope="session")
def live_url(tmp_path_factory):
    """The demo served for the journeys that share it (a journey that changes what others
    rely on, e.g. publishes results for the demo's people, takes a server of its own)."""
    with demo_server(tmp_path_factory.mktemp("e2e")) as url:
        _LIVE["app"] = url.app
        yield url


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail("E2E_REQUIRED=1 but chromium/chromedriver are not installed")
        pytest.skip("chromium and chromedriver are not installed (apt install chromium chromium-driver)")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1366,900", "--lang=zh-CN",
                # A profile of its own: two browsers on one profile (two test runs at once) hang.
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    downloads = tmp_path_factory.mktemp("downloads")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(3)
    driver.download_dir = downloads  # where files the journey downloads arrive
    yield driver
    driver.quit()


@pytest.fixture
def shot(browser):
    """Save a screenshot when E2E_SCREENSHOTS names a folder (for looking at the pages)."""
    folder = os.environ.get("E2E_SCREENSHOTS")

    def take(name: str) -> None:
        if folder:
            os.makedirs(folder, exist_ok=True)
            browser.save_screenshot(os.path.join(folder, f"{name}.png"))
    return take
