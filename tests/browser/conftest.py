"""Playwright driving Debian's chromium, headless, against a real server process.

The server is ``manage.py runserver`` on a throwaway SQLite database, migrated and filled with the
test personas of ``weibao.lib.testing`` — the application exactly as a user meets it, nothing mocked.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("WEIBAO_SCREENSHOTS", ROOT / "var" / "screenshots"))


def _chromium() -> str:
    path = os.environ.get("WEIBAO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is not installed: run scripts/setup --browser (installs Debian's chromium)")
    return path


class Server(str):
    """The server's base URL; ``run_tasks()`` runs what the pages queued, as the demo's task worker would."""

    def __new__(cls, url: str, manage: list[str], env: dict):
        server = super().__new__(cls, url)
        server.manage, server.env = manage, env
        return server

    def run_tasks(self) -> None:
        subprocess.run(
            [*self.manage, "db_worker", "--batch", "--no-startup-delay", "--no-reload", "-v", "0"],
            env=self.env,
            check=True,
            cwd=ROOT,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# One server (and database) per test module, so that modules do not see each other's data. Its log goes to
# a file: an unread pipe fills up after a few hundred logged requests and then blocks the server mid-request
# (that was the "server stops answering after a dozen flows" hang).
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    where = tmp_path_factory.mktemp("browser")
    db = where / "weibao.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(DATABASE_URL=f"sqlite:///{db}", WEIBAO_DEBUG="true", PYTHONUNBUFFERED="1")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run(
        [*manage, "shell", "-c", "from weibao.lib.testing import build_browser_world; build_browser_world()"],
        env=env,
        check=True,
        cwd=ROOT,
    )
    port = _free_port()
    log = where / "runserver.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/accounts/login/", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("runserver did not start: " + log.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
    yield Server(url, manage, env)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shoot(page):
    from .login import shot

    return lambda name: shot(page, name)
