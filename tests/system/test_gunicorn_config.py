"""gunicorn as deployed (ruxguide/deploy/gunicorn.conf.py): whose forwarded headers it believes, and its logs."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.system.loopback import GUNICORN, PROJECT, free_port, production_env, wait_until_serving

# Each test starts a real gunicorn: a second or two.
pytestmark = pytest.mark.slow

CONFIG = PROJECT / "ruxguide" / "deploy" / "gunicorn.conf.py"


@contextmanager
def deployed_gunicorn(tmp_path: Path, **settings: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """gunicorn with the deployment's config file, on a loopback port, production settings (https only)."""
    port = free_port()
    env = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", secret_key="k" * 50, DJANGO_SSL_REDIRECT="true")
    env.update({"GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1", **settings})
    process = subprocess.Popen(
        [str(GUNICORN), "-c", str(CONFIG), "ruxguide.wsgi"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(port, process)  # type: ignore[arg-type]
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def get(port: int, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_local_process_cannot_claim_https_unless_gunicorn_is_told_to_trust_its_address(tmp_path: Path) -> None:
    # gunicorn's own default trusts X-Forwarded-Proto from 127.0.0.1; ours trusts no TCP peer.
    claim = {"X-Forwarded-Proto": "https"}
    with deployed_gunicorn(tmp_path) as (port, _):
        response = get(port, "/favicon.ico", claim)
        assert response.status == 301
        assert response.headers["Location"] == "https://127.0.0.1/favicon.ico"  # still plain http: sent to https
    with deployed_gunicorn(tmp_path, GUNICORN_FORWARDED_ALLOW_IPS="127.0.0.1") as (port, _):
        response = get(port, "/favicon.ico", claim)
        assert response.status == 301
        assert response.headers["Location"].startswith("/static/favicon.")  # believed: served as https


def test_gunicorn_logs_the_same_json_lines_as_django_without_query_strings_or_addresses(tmp_path: Path) -> None:
    with deployed_gunicorn(tmp_path, RUXGUIDE_REQUEST_LOG_LEVEL="INFO") as (port, process):
        get(port, "/favicon.ico?answer=pregnant", {"X-Forwarded-Proto": "https", "User-Agent": "agent-007"})
    assert process.stdout is not None
    lines = [json.loads(line) for line in process.stdout.read().splitlines()]
    assert {line["logger"] for line in lines} >= {"gunicorn.error", "gunicorn.access", "ruxguide.requests"}
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys()
    access = next(line for line in lines if line["logger"] == "gunicorn.access")
    django = next(line for line in lines if line["logger"] == "ruxguide.requests")
    for request_line in (access, django):
        assert {k: request_line[k] for k in ("message", "method", "path", "status")} == {
            "message": "request",
            "method": "GET",
            "path": "/favicon.ico",
            "status": 301,
        }
        assert isinstance(request_line["duration_ms"], float)
    text = "\n".join(json.dumps(line) for line in lines)
    assert "pregnant" not in text and "agent-007" not in text
    assert "127.0.0.1" not in json.dumps(access) + json.dumps(django)  # no client address


def test_a_gunicorn_error_with_a_traceback_is_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    from gunicorn.config import Config  # type: ignore[import-untyped]

    from ruxguide.gunicorn_logs import JsonLinesLogger

    config = Config()
    config.set("logger_class", "ruxguide.gunicorn_logs.JsonLinesLogger")
    config.set("errorlog", "-")
    logger = JsonLinesLogger(config)
    try:
        raise RuntimeError("worker failed\nacross two lines")
    except RuntimeError:
        logger.exception("Error handling request /check/")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["logger"] == "gunicorn.error" and line["level"] == "ERROR"
    assert "Traceback" in line["error"] and "RuntimeError: worker failed\nacross two lines" in line["error"]


def raw_request(port: int, request: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer.decode("utf-8", "replace")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"get /check/?secret=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # a method gunicorn refuses
        b"GET /check/?secret=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: a\x01b\r\n\r\n",  # a control byte
        b"GET /\xc3\xa9t\xc3\xa9?secret=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # raw non-ASCII address
    ],
    ids=["lowercase method", "control byte in a header", "raw non-ascii address"],
)
def test_a_request_gunicorn_cannot_parse_gets_the_apps_400_page_and_logs_no_query(
    tmp_path: Path, request_bytes: bytes
) -> None:
    with deployed_gunicorn(tmp_path) as (port, process):
        answer = raw_request(port, request_bytes)
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400 ")
    assert "Content-Security-Policy: default-src 'none'" in head and "X-Content-Type-Options: nosniff" in head
    assert "We could not use that request" in body and "Warning signs: get medical help now" in body
    assert process.stdout is not None
    logged = process.stdout.read()
    assert "secret" not in logged
    for line in logged.splitlines():
        json.loads(line)
