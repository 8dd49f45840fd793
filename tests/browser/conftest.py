"""One Chromium per session, a fresh context and page per test, served by pytest-django's live server.

Debian's chromium is used (``playwright install`` cannot download here). Without it the tests skip
on a developer's machine and fail in CI, where ``.ci/run`` installs it.

Static files are served as in production: WhiteNoise serves the collected, hashed files from
STATIC_ROOT. (pytest-django's live server would hand /static/ to Django's StaticFilesHandler, whose
finders do not know the hashed names the manifest storage puts in the pages, so every stylesheet
and script would be a 404.) Run ``collectstatic`` first; ``make test`` does.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.support.browser import DESKTOP, TIMEOUT_MS, NewPage

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_MISSING = "Debian chromium is required in CI: apt-get install chromium"
# Each new page is a window, and Chromium 156 draws a web page for every window's address-bar
# suggestions (chrome://omnibox-popup.top-chrome/): a third of what opening a page costs the browser,
# about 60 ms of CPU, for a window nobody sees. Chromium reads one --disable-features, so this one
# also names what Playwright (1.65) disables by default (its chromiumSwitches), which it replaces.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
    "AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,"
    "AimEnabled,PreconnectToSearch"
)
UNSEEN_WINDOW_FEATURES = "WebUIOmniboxPopup,WebUIOmniboxAimPopup,PreloadTopChromeWebUI"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    f"--disable-features={PLAYWRIGHT_DISABLED_FEATURES},{UNSEEN_WINDOW_FEATURES}",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(CHROMIUM_MISSING, pytrace=False)
        pytest.skip(CHROMIUM_MISSING)
    return path


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(chromium_path: str, playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """pytest-django's live server, with /static/ left to the app (WhiteNoise) instead of the finders."""
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        pytest.fail(
            f"{manifest} is missing: run `DJANGO_DEBUG=true .venv/bin/python manage.py collectstatic --noinput`",
            pytrace=False,
        )
    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    server.thread.static_handler = _through_the_app
    server.thread.server_class = _ServerWithoutNagle
    server.start()
    yield server
    server.stop()


def _through_the_app(application):
    return application


class _ServerWithoutNagle(ThreadedWSGIServer):
    """Sends each response at once: Chromium keeps its connections open, and the handler writes a
    response's headers and body apart, so with Nagle's algorithm the body waited for the browser's
    delayed acknowledgement, 40 ms a response (a page with its stylesheet and script took 150 ms)."""

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


@pytest.fixture
def server_url(live_server: LiveServer, published_rules) -> str:
    """The live server's address, with the default rule set published (the flush emptied it)."""
    return live_server.url


@pytest.fixture
def new_page(browser: Browser, server_url: str) -> Iterator[NewPage]:
    """Open pages in fresh contexts (own cookies, own JavaScript setting); all closed after the test."""
    contexts: list[BrowserContext] = []

    def open_page(*, javascript: bool = True, viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(
            base_url=server_url,
            java_script_enabled=javascript,
            viewport=viewport or DESKTOP,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A desktop page with JavaScript on."""
    return new_page()


@pytest.fixture
def page_without_js(new_page: NewPage) -> Page:
    """A desktop page with JavaScript off: every step is an ordinary form post."""
    return new_page(javascript=False)
