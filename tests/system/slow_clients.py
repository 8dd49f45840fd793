"""A bounded slow-client attack on a TLS server, and how fast normal requests stay meanwhile.

    python -m tests.system.slow_clients https://127.0.0.1:8443 [--connections 200 --interval 5 --duration 30]

Slow clients: `connections` TLS connections from 127.0.0.2, each sending a request line and then one
header line every `interval` seconds, never finishing its request; when the server closes one, it
opens another, until `duration` ends. They come from their own address so that a per-address
connection limit meant for them does not also refuse the normal requests from 127.0.0.1.

Normal requests: GET / and GET /about-the-cream/ in turn, one after another, each on a new TLS
connection (as a new visitor arrives), with a 10 s timeout, for the whole duration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import math
import ssl
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SLOW_SOURCE = "127.0.0.2"
NORMAL_PATHS = ("/", "/about-the-cream/")


def insecure_tls() -> ssl.SSLContext:
    """Self-signed certificates on loopback: what matters here is time, not identity.

    No certificate authorities are loaded: loading the system's takes about 25 ms, which 200
    connections each making their own context would spend before their first byte.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class SlowClientReport:
    url: str
    connections: int
    interval: float
    duration: float
    requests: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    # Every normal request's time, failed ones included (a timeout counts as the time it took).
    latencies_ms: list[float] = field(default_factory=list)
    slow_opened: int = 0
    slow_closed_by_server: int = 0
    slow_open_failures: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def percentile(self, percent: float) -> float:
        """Nearest-rank percentile of the normal requests' times, in ms."""
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]

    def table(self) -> str:
        failures = ", ".join(f"{kind} {count}" for kind, count in self.failures.most_common()) or "none"
        open_failures = ", ".join(f"{kind} {n}" for kind, n in self.slow_open_failures.most_common()) or "none"
        rows = [
            f"slow clients against {self.url}: {self.connections} connections from {SLOW_SOURCE}, "
            f"a header line every {self.interval:g} s, for {self.duration:g} s",
            f"  slow connections opened         {self.slow_opened:>8}",
            f"  ... closed by the server        {self.slow_closed_by_server:>8}",
            f"  ... failed to open              {sum(self.slow_open_failures.values()):>8}  ({open_failures})",
            "normal requests (GET / and /about-the-cream/ in turn, a new TLS connection each, 10 s timeout)",
            f"  requests                        {self.requests:>8}",
            f"  failures                        {self.failed:>8}  ({failures})",
            "  latency ms  p50 / p95 / p99 / max  "
            + " / ".join(f"{self.percentile(p):.1f}" for p in (50, 95, 99))
            + f" / {max(self.latencies_ms, default=math.nan):.1f}",
        ]
        return "\n".join(rows)


async def _slow_client(
    host: str, port: int, number: int, deadline: float, context: ssl.SSLContext, report: SlowClientReport
) -> None:
    loop = asyncio.get_running_loop()
    while (left := deadline - loop.time()) > 0:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=context, local_addr=(SLOW_SOURCE, 0)),
                timeout=min(left, max(10.0, 2 * report.interval)),
            )
        except TimeoutError:
            if deadline - loop.time() > 0:  # not merely cut short by the end of the run
                report.slow_open_failures["timeout"] += 1
            continue
        except (OSError, ssl.SSLError) as error:
            report.slow_open_failures[type(error).__name__] += 1
            # A server refusing connections outright must not turn this into a busy loop.
            await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
            continue
        report.slow_opened += 1
        closed_by_server = False
        try:
            writer.write(f"GET /?slow={number} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
            await writer.drain()
            line = 0
            while (left := deadline - loop.time()) > 0:
                try:
                    # Anything the server sends (a 408, a 400) or an end of stream means it gave up on us.
                    await asyncio.wait_for(reader.read(4096), timeout=min(report.interval, left))
                except TimeoutError:
                    if deadline - loop.time() <= 0:
                        break
                    line += 1
                    writer.write(f"X-Slow-{line}: {line}\r\n".encode())
                    await writer.drain()
                    continue
                closed_by_server = True
                break
        except (OSError, ssl.SSLError):
            closed_by_server = True
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), timeout=1)
        if closed_by_server:
            report.slow_closed_by_server += 1


async def _slow_clients(host: str, port: int, report: SlowClientReport, started: threading.Event) -> None:
    deadline = asyncio.get_running_loop().time() + report.duration
    context = insecure_tls()  # one for all: each client's own would block the loop while it is made
    clients = [
        asyncio.create_task(_slow_client(host, port, number, deadline, context, report))
        for number in range(report.connections)
    ]
    started.set()
    await asyncio.gather(*clients)


def _normal_requests(host: str, port: int, deadline: float, timeout: float, report: SlowClientReport) -> None:
    context = insecure_tls()
    turn = 0
    while time.monotonic() < deadline:
        path = NORMAL_PATHS[turn % len(NORMAL_PATHS)]
        turn += 1
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                report.failures[f"HTTP {response.status}"] += 1
        except TimeoutError:
            report.failures["timeout"] += 1
        except (OSError, http.client.HTTPException) as error:
            report.failures[type(error).__name__] += 1
        finally:
            connection.close()
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        report.requests += 1


def run(
    url: str, *, connections: int = 200, interval: float = 5.0, duration: float = 30.0, timeout: float = 10.0
) -> SlowClientReport:
    """Hold `connections` slow clients open for `duration` s while timing normal requests; report both."""
    address = urlsplit(url)
    if address.scheme != "https" or not address.hostname or not address.port:
        raise ValueError(f"expected https://host:port, got {url!r}")
    host, port = address.hostname, address.port
    report = SlowClientReport(url=url, connections=connections, interval=interval, duration=duration)
    attack_started = threading.Event()
    attack = threading.Thread(
        target=lambda: asyncio.run(_slow_clients(host, port, report, attack_started)), name="slow clients"
    )
    attack.start()
    attack_started.wait(timeout=10)
    try:
        _normal_requests(host, port, time.monotonic() + duration, timeout, report)
    finally:
        attack.join(timeout=duration + 30)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="the server, https://host:port")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between a slow client's header lines")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds the attack and the probe last")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a normal request may take")
    options = parser.parse_args(argv)
    report = run(
        options.url,
        connections=options.connections,
        interval=options.interval,
        duration=options.duration,
        timeout=options.timeout,
    )
    print(report.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
