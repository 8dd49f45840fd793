"""Real app servers (gunicorn, production settings over plain HTTP) on loopback.

Used by the multi-server tests and by `make bench`. The servers share one database of their own:
a temporary SQLite file, or a new database on the PostgreSQL cluster named by DATABASE_URL.
"""

from __future__ import annotations

import atexit
import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PROJECT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server_database(tmp_path: Path) -> Iterator[str]:
    """A fresh database URL for servers started by a test; dropped afterwards."""
    suite_url = os.environ.get("DATABASE_URL", "")
    if not suite_url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'servers.sqlite3'}"
        return
    import psycopg

    name = f"ruxguide_servers_{secrets.token_hex(4)}"
    admin_url = suite_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield suite_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_env(database_url: str, secret_key: str, **extra: str) -> dict[str, str]:
    """Production settings, as a deployment behind a TLS proxy would have them, but over HTTP."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "DATABASE_", "RUXGUIDE_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ruxguide.settings",
            "DJANGO_SECRET_KEY": secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_HSTS_SECONDS": "0",
            "DATABASE_URL": database_url,
            "RUXGUIDE_REQUEST_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def migrate_with_default_rules(env: dict[str, str]) -> None:
    """`migrate` and `ensure_default_rules` on env's DATABASE_URL, as a deployment's first start runs them.

    A SQLite database is a copy of one this test process migrated once: the two commands take about
    four seconds, and every server test starts from the same state anyway.
    """
    database_url = env["DATABASE_URL"]
    if not database_url.startswith("sqlite:///"):
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "ensure_default_rules")
        return
    global _migrated_sqlite
    if _migrated_sqlite is None or not _migrated_sqlite.exists():
        template = Path(tempfile.mkdtemp(prefix="ruxguide-migrated-")) / "migrated.sqlite3"
        atexit.register(shutil.rmtree, template.parent, ignore_errors=True)
        template_env = {**env, "DATABASE_URL": f"sqlite:///{template}"}
        manage(template_env, "migrate", "--noinput", "-v", "0")
        manage(template_env, "ensure_default_rules")
        _migrated_sqlite = template
    shutil.copyfile(_migrated_sqlite, database_url.removeprefix("sqlite:///"))


_migrated_sqlite: Path | None = None


@contextmanager
def app_servers(env: dict[str, str], count: int, *, workers: int = 2, threads: int = 1) -> Iterator[list[str]]:
    """Start `count` gunicorn servers on their own loopback ports; yield their base URLs."""
    with app_server_processes(env, count, workers=workers, threads=threads) as servers:
        yield [url for url, _ in servers]


@contextmanager
def app_server_processes(
    env: dict[str, str], count: int, *, workers: int = 2, threads: int = 1
) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Like app_servers, but also yields each server's master process (to measure its workers)."""
    ports = [free_port() for _ in range(count)]
    processes = [
        subprocess.Popen(
            [
                str(GUNICORN),
                "ruxguide.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--backlog",
                "512",
                "--log-level",
                "warning",
            ],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_until_serving(port, process)
        yield [(f"http://127.0.0.1:{port}", process) for port, process in zip(ports, processes, strict=True)]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until_serving(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"app server on port {port} did not start in {timeout} s")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    size: int = 0  # bytes as sent, compressed or not

    @property
    def location(self) -> str:
        return urlsplit(self.headers.get("location", "")).path


@dataclass
class Browser:
    """A minimal browser: keeps cookies across servers (cookies ignore ports) and sends forms."""

    servers: list[str]
    cookies: dict[str, str] = field(default_factory=dict)
    turn: int = 0
    requests: int = 0

    def _server(self) -> str:
        server = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        return server

    def request(
        self, method: str, path: str, form: dict[str, object] | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        server = urlsplit(self._server())
        assert server.hostname, "the servers are absolute http:// URLs"
        connection = http.client.HTTPConnection(server.hostname, server.port, timeout=60)
        headers = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            raw_body = raw.read()
            text = raw_body.decode("utf-8", "replace") if raw.getheader("Content-Encoding") is None else ""
            for name, value in raw.getheaders():
                if name.lower() == "set-cookie":
                    cookie_name, _, rest = value.partition("=")
                    cookie_value = rest.split(";", 1)[0]
                    if cookie_value in ('""', "") or "max-age=0" in value.lower():
                        self.cookies.pop(cookie_name, None)
                    else:
                        self.cookies[cookie_name] = cookie_value
            self.requests += 1
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, text, len(raw_body))
        finally:
            connection.close()

    def csrf_token(self) -> str:
        token = self.cookies.get("csrftoken")
        if token is None:
            page = self.request("GET", "/check/question/urgent_symptoms/")
            match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
            assert match, page.body[:500]
            return match.group(1)
        return token
