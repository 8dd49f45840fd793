"""The address a request really came from, for the sign-in lockout (django-axes' AXES_CLIENT_IP_CALLABLE).

Behind the TLS proxy every connection comes from the proxy, and each trusted proxy appends the address
it was connected from to X-Forwarded-For. The client is therefore the entry RUXGUIDE_TRUSTED_PROXY_COUNT
places from the right; anything further left was written by the client itself and may be made up.
A header the trusted proxies cannot have written falls back to the connection's own address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    remote: str | None = request.META.get("REMOTE_ADDR")
    count: int = getattr(settings, "RUXGUIDE_TRUSTED_PROXY_COUNT", 0)
    if count <= 0:
        return remote
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(entries) < count:
        return remote
    try:
        trusted = [ipaddress.ip_address(entry) for entry in entries[-count:]]
    except ValueError:
        return remote
    return str(trusted[0])
