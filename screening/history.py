"""A reason for every change in the audit history, including the rows a delete takes with it.

Django deletes an option or a condition along with its question or rule, and those rows never
see the caller's `_change_reason`; the reason set here for the duration of a change fills them in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_current = threading.local()


@contextmanager
def change_reason(reason: str) -> Iterator[None]:
    previous = getattr(_current, "reason", None)
    _current.reason = reason
    try:
        yield
    finally:
        _current.reason = previous


def fill_in_reason(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """simple-history's pre_create_historical_record signal: use the change's reason when none was given."""
    reason = getattr(_current, "reason", None)
    if reason and not history_instance.history_change_reason:
        history_instance.history_change_reason = reason
