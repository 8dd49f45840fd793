"""Vary, written the short way: the same header Django's patch_vary_headers makes, for a few microseconds less.

Every patient page varies on several request headers (htmx, compression, the session cookie, the
language), each added by its own layer. Django parses and rebuilds the header for each; on a kept
page, sent without drawing anything, those rebuilds were a tenth of its time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from django.http import HttpResponseBase
from django.utils.cache import patch_vary_headers


def add_vary(response: HttpResponseBase, names: Iterable[str]) -> None:
    """Add `names` to the response's Vary header, as patch_vary_headers does (`*` wins, no repeats)."""
    existing = response.headers.get("Vary")
    if not existing:
        response.headers["Vary"] = ", ".join(names)
        return
    if "*" in existing:  # a wildcard, or an unusual header: Django's own rules decide
        patch_vary_headers(response, tuple(names))
        return
    present = {name.strip().lower() for name in existing.split(",")}
    added = [name for name in names if name.lower() not in present]
    if added:
        response.headers["Vary"] = ", ".join([existing, *added])


def vary_on[**P, R: HttpResponseBase](*names: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Django's vary_on_headers decorator, with add_vary (for synchronous views)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            response = view(*args, **kwargs)
            add_vary(response, names)
            return response

        return wrapper

    return decorator
