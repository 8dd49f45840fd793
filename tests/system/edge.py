"""The real server edge, as `make serve` runs it: nginx (TLS) in front of gunicorn, on a port and folder of its own.

`edge_server(tmp_path)` migrates a database of its own, loads the default rules, starts
`make serve-edge` in a new session (so its whole process group can be stopped), waits until
GET / answers 200 and yields an `EdgeServer`: its https:// address, its serve folder and every line
the processes logged so far. On the way out it stops the group and checks that nothing is left.
"""

from __future__ import annotations

import fcntl
import http.client
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.system.loopback import PROJECT, free_port, manage, migrate_with_default_rules, server_database
from tests.system.slow_clients import insecure_tls

STATIC_MANIFEST = PROJECT / "var" / "staticfiles" / "staticfiles.json"
SETUP_LOCK = PROJECT / "var" / ".edge-setup.lock"
# Lines make and the recipe print themselves: not log lines, so the log checks keep them apart.
MAKE_LINE = re.compile(r"^(make(\[\d+\])?: |Serving https://)")
# Variables of the test run that must not reach a production-shaped server: pytest's own (they
# would turn on the test-only settings), the suite's database and settings, and make's (a jobserver
# inherited from `make test` would make the inner make talk about it).
LEFT_OUT = ("DJANGO_", "PYTEST_", "DATABASE_", "RUXGUIDE_", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header's values joined by ", "
    body: bytes
    header_lines: tuple[tuple[str, str], ...] = ()  # as sent, for the ones that repeat (Set-Cookie)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies this answer sets, name -> value."""
        found: dict[str, str] = {}
        for name, value in self.header_lines:
            if name.lower() == "set-cookie":
                cookie, _, _attributes = value.partition(";")
                cookie_name, _, cookie_value = cookie.partition("=")
                found[cookie_name.strip()] = cookie_value.strip()
        return found


def read_answer(response: http.client.HTTPResponse) -> Answer:
    headers: dict[str, str] = {}
    lines = tuple(response.getheaders())
    for name, value in lines:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return Answer(response.status, headers, response.read(), lines)


@dataclass
class EdgeServer:
    url: str
    port: int
    serve_dir: Path
    process: subprocess.Popen[bytes]
    _log: list[str] = field(default_factory=list)
    _make: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _readers: list[threading.Thread] = field(default_factory=list)
    _stopped: bool = False

    def _read(self, stream: Iterable[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                (self._make if MAKE_LINE.match(line) else self._log).append(line)

    def follow_output(self) -> None:
        assert self.process.stdout is not None and self.process.stderr is not None
        for stream in (self.process.stdout, self.process.stderr):
            reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
            reader.start()
            self._readers.append(reader)

    def log_lines(self) -> list[str]:
        """Every line gunicorn, Django and nginx wrote to stdout and stderr so far (make's own left out)."""
        with self._lock:
            return list(self._log)

    def make_lines(self) -> list[str]:
        """The lines make and its recipe printed themselves: the "Serving https://" banner, make's errors."""
        with self._lock:
            return list(self._make)

    def log_bytes(self) -> int:
        with self._lock:
            return sum(len(line.encode()) + 1 for line in self._log)

    def wait_for_log(self, wanted: str, timeout: float = 5.0) -> list[str]:
        """The log lines once one contains `wanted`: nginx writes its access line after the answer."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log_lines()
            if any(wanted in line for line in lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def nginx_error_log(self) -> str:
        path = self.serve_dir / "nginx-error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def group(self) -> list[tuple[int, str]]:
        """The processes still in the server's process group (make, its shell, gunicorn, nginx), with their commands."""
        return processes_in_group(self.process.pid)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 10.0,
    ) -> Answer:
        """One request on a new TLS connection."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=insecure_tls())
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            return read_answer(connection.getresponse())
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop the whole group as Ctrl-C would, then make sure no process of it is left."""
        if self._stopped:
            return
        self._stopped = True
        group = self.process.pid
        if self.process.poll() is None:
            for sent in (signal.SIGTERM, signal.SIGCONT):  # SIGCONT: a test may have stopped the recipe's shell
                try:
                    os.killpg(group, sent)
                except ProcessLookupError:
                    break
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(group, signal.SIGKILL)
                self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while (left := processes_in_group(group)) and time.monotonic() < deadline:
            time.sleep(0.1)
        if left:
            for pid, _command in left:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise RuntimeError(f"`make serve-edge` left processes behind: {left}")
        for reader in self._readers:
            reader.join(timeout=5)


def processes_in_group(group: int) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the command name (which may hold spaces and parentheses): state ppid pgrp ...
            state, _parent, process_group = stat.rsplit(")", 1)[1].split()[:3]
            if int(process_group) != group or state == "Z":
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        found.append((int(entry.name), command))
    return found


def prepare_project() -> None:
    """The self-signed certificate and the collected static files `make serve` expects under var/.

    pytest-xdist runs two workers, and both may start a server at once: one makes them, the other waits.
    """
    SETUP_LOCK.parent.mkdir(exist_ok=True)
    with SETUP_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            ["make", "--no-print-directory", "var/tls/cert.pem", "var/secret_key"],
            cwd=PROJECT,
            env=outside_env(),
            check=True,
            capture_output=True,
            timeout=120,
        )
        if not STATIC_MANIFEST.exists():
            manage({**outside_env(), "DJANGO_DEBUG": "true"}, "collectstatic", "--noinput", "-v", "0")


def outside_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(LEFT_OUT)}


def edge_env(database_url: str, run_dir: Path) -> dict[str, str]:
    """Production settings exactly as `make serve` gives them (the Makefile adds DJANGO_BEHIND_TLS_PROXY)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return {
        **outside_env(),
        "DJANGO_SETTINGS_MODULE": "ruxguide.settings",
        "DJANGO_SECRET_KEY": "edge-tests-only-" + "k" * 48,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        # gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
        # two servers at once (pytest-xdist) would take it from each other, so each gets its own.
        "XDG_RUNTIME_DIR": str(run_dir),
    }


def start_edge(
    env: dict[str, str], serve_dir: Path, *, workers: int = 2, timeout: float = 30, access_log: str = "/dev/stdout"
) -> EdgeServer:
    port = free_port()
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "serve-edge",
            f"SERVE_HOST_PORT=127.0.0.1:{port}",
            f"SERVE_DIR={serve_dir}",
            f"WORKERS={workers}",
            f"SERVE_ACCESS_LOG={access_log}",
        ],
        cwd=PROJECT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    server = EdgeServer(url=f"https://127.0.0.1:{port}", port=port, serve_dir=serve_dir, process=process)
    server.follow_output()
    try:
        wait_until_answering(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_answering(server: EdgeServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            answer = server.request("GET", "/", timeout=2)
        except (OSError, http.client.HTTPException) as error:
            last = repr(error)
        else:
            if answer.status == 200:
                return
            last = f"HTTP {answer.status}"
        time.sleep(0.2)
    time.sleep(0.2)  # the last lines of a failed start
    logs = "\n".join((server.make_lines() + server.log_lines())[-60:])
    errors = "\n".join(server.nginx_error_log().splitlines()[-10:])
    raise RuntimeError(
        f"`make serve-edge` did not answer GET / with 200 within {timeout} s ({last}; "
        f"exit code {server.process.poll()}).\n{logs}\nnginx-error.log (the end):\n{errors}"
    )


@contextmanager
def edge_server(tmp_path: Path, *, workers: int = 2) -> Iterator[EdgeServer]:
    """`make serve-edge` over a migrated database of its own with the default rules; stopped afterwards."""
    prepare_project()
    with server_database(tmp_path) as database_url:
        env = edge_env(database_url, tmp_path / "run")
        migrate_with_default_rules(env)
        # A short path directly under /tmp: gunicorn's unix socket lives in it, and a socket's
        # path must fit in 108 bytes, which pytest's tmp_path for a long test name may not.
        serve_dir = Path(tempfile.mkdtemp(prefix="ruxguide-edge-"))
        try:
            server = start_edge(env, serve_dir, workers=workers)
            try:
                yield server
            finally:
                server.stop()
        finally:
            shutil.rmtree(serve_dir, ignore_errors=True)


def send_streaming_body(
    server: EdgeServer, path: str, *, headers: Mapping[str, str], chunks: Iterable[bytes], timeout: float = 30
) -> tuple[Answer | None, int]:
    """Send a request whose body is streamed chunk by chunk, stopping as soon as the server answers.

    Returns the answer (None if the connection ended without one) and how many body bytes were sent.
    A server that refuses a body early may close the connection while the body is still on its way:
    the answer it sent before is still read, even when a send fails with a broken pipe or a reset.
    """
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    tls = insecure_tls().wrap_socket(raw, server_hostname="localhost")
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    sent = 0
    try:
        tls.sendall(head.encode("latin-1"))
        for chunk in chunks:
            readable, _, _ = select.select([tls], [], [], 0)
            if readable or tls.pending():
                break
            try:
                tls.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
                break
            sent += len(chunk)
        response = http.client.HTTPResponse(tls, method="POST")
        try:
            response.begin()
            return read_answer(response), sent
        except (ConnectionError, http.client.HTTPException, ssl.SSLError):
            return None, sent
    finally:
        tls.close()
