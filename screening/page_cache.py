"""Drawn patient pages, and parts of pages, kept per process and shared by every patient who would see the same.

What a page shows is fixed by the live rule set version, the language, the address and what the view
names in the key (a question and the options ticked, a rule): never by who asks. The CSRF token is the
one part of a shared page that is each patient's own, so pages are drawn with CSRF_PLACEHOLDER in its
place and the token is filled in per response. The preview of the draft is never kept: the draft
changes without a new version (screening/views/pages.py decides what is kept, and under which key).

A kept page is also kept gzipped, in pieces that can be joined around a fresh token (see `Drawn`), so
sending it again costs neither a template nor a compression.
"""

from __future__ import annotations

import secrets
import struct
import threading
import zlib
from collections.abc import Callable, Hashable, Iterator, Sequence

import brotli  # type: ignore[import-untyped]
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware, re_accepts_gzip

from ruxguide import csrf
from ruxguide.headers import add_vary
from screening.engine import RuleSet, Walk

# Drawn in place of the CSRF token. Made afresh by each process, so no address or answer can carry it
# into a page and have a token put where the page had none.
CSRF_PLACEHOLDER = f"ruxguide-csrf-{secrets.token_hex(16)}"

GZIP_MIDDLEWARE = f"{GZipMiddleware.__module__}.{GZipMiddleware.__name__}"
# As Django's GZipMiddleware: shorter responses are not worth compressing.
SHORTEST_TO_COMPRESS = 200
# The gzip header as Django's GZipMiddleware writes it (compression level 6, no time), with the flag
# for a file name set: the name is a random run of "a"s, which varies the length against BREACH.
GZIP_HEADER = b"\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\xff"
# An empty last block, fixed-Huffman: ends the deflate stream after pieces that each left it open.
LAST_BLOCK = b"\x03\x00"


# A kept piece is compressed once, as GZipMiddleware would (level 6); a piece drawn for one response
# is compressed while the patient waits, where level 2 takes a third of the time of level 6 for about
# 6% more bytes (measured on check your answers and the result).
KEPT_LEVEL = 6
FRESH_LEVEL = 2


def _deflate(data: bytes, level: int) -> bytes:
    """`data` as raw deflate blocks of its own, flushed to a byte boundary and not marked last.

    A fresh compressor refers back to nothing before `data`, so such pieces, and stored blocks between
    them, join into one valid stream in any order.
    """
    if not data:
        return b""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _stored(data: bytes) -> bytes:
    """`data` as one uncompressed deflate block (after a flush, so it starts on a byte boundary).

    The token is never compressed, so its compressed length says nothing about it (BREACH).
    """
    return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


class Drawn:
    """A drawn page, or part of one, with its CSRF tokens left out: the text between them, ready to send."""

    __slots__ = ("_brotli_alone", "_deflated", "_gzipped_alone", "kept", "level", "parts", "size", "tokens")

    def __init__(self, html: str, *, kept: bool = False) -> None:
        self.parts = tuple(part.encode() for part in html.split(CSRF_PLACEHOLDER))
        self.tokens = len(self.parts) - 1
        self.size = sum(len(part) for part in self.parts)
        self.kept = kept
        self.level = KEPT_LEVEL if kept else FRESH_LEVEL
        self._deflated: tuple[bytes, ...] | None = None
        self._gzipped_alone: bytes | None = None
        self._brotli_alone: bytes | None = None

    def deflated(self) -> tuple[bytes, ...]:
        """Each part deflated on its own: once for a kept piece, and only when a response is gzipped."""
        if self._deflated is None:
            self._deflated = tuple(_deflate(part, self.level) for part in self.parts)
        return self._deflated

    def gzipped_alone(self) -> bytes:
        """A kept piece with no token, sent as a whole page (the start and education pages): gzipped once.

        The random padding against BREACH is drawn once too: the page holds nothing of anyone's, no
        token and nothing from the request, so its compressed length has nothing to give away.
        """
        if self._gzipped_alone is None:
            self._gzipped_alone = _gzipped([self], b"", self.size)
        return self._gzipped_alone

    def brotli_alone(self) -> bytes:
        """The same, with Brotli at its best (quality 11): slow to make, so only for what is made once.

        The education page comes to a fifth less than gzipped (5.1 KB against 6.2 KB).
        """
        if self._brotli_alone is None:
            self._brotli_alone = brotli.compress(b"".join(self.parts), quality=11, mode=brotli.MODE_TEXT)
        return self._brotli_alone


def respond(request: HttpRequest, pieces: Sequence[Drawn], *, status: int = 200) -> HttpResponse:
    """The page made of `pieces`, with this request's CSRF token wherever a piece had its placeholder.

    Gzipped here, as GZipMiddleware would (it leaves a response that already has a Content-Encoding),
    when the middleware is on and the browser takes gzip: kept pieces are compressed once, not per response.
    A whole page kept with no token goes in Brotli to a browser that takes it, compressed once too.
    """
    tokens = sum(piece.tokens for piece in pieces)
    # Asked only when the page has a form: a new visitor's token also sets the CSRF cookie.
    token = csrf_token(request).encode("ascii") if tokens else b""
    size = sum(piece.size for piece in pieces) + tokens * len(token)
    if size >= SHORTEST_TO_COMPRESS and GZIP_MIDDLEWARE in settings.MIDDLEWARE:
        accepted = request.META.get("HTTP_ACCEPT_ENCODING", "")
        alone = len(pieces) == 1 and not tokens and pieces[0].kept
        body: bytes | None = None
        if alone and "br" in accepted and _accepts("br", accepted):
            body, encoding = pieces[0].brotli_alone(), "br"
        # The word first, then Django's own test for it (GZipMiddleware's).
        elif "gzip" in accepted and re_accepts_gzip.search(accepted):
            body = pieces[0].gzipped_alone() if alone else _gzipped(pieces, token, size)
            encoding = "gzip"
        if body is not None and len(body) < size:
            response = HttpResponse(body, status=status)
            response.headers["Content-Length"] = str(len(body))
            response.headers["Content-Encoding"] = encoding
            add_vary(response, ("Accept-Encoding",))
            return response
    return HttpResponse(b"".join(_with_token(pieces, token)), status=status)


def csrf_token(request: HttpRequest) -> str:
    """This response's CSRF token: Django's get_token, made with one read of the system's randomness.

    get_token draws each of a token's 64 characters with its own call to `secrets.choice`, which is
    most of what a kept page costs to send. The token is the same: a mask of random characters and
    the secret shifted by it (django.middleware.csrf), which CsrfViewMiddleware checks as ever. Unlike
    get_token it does not send the CSRF cookie again with every page: the cookie lasts a year
    (CSRF_COOKIE_AGE), and the answers it guards last one visit.
    """
    secret = request.META.get("CSRF_COOKIE")
    if not secret:
        # As django.middleware.csrf does for a visitor without the cookie: CsrfViewMiddleware sets it.
        secret = csrf.new_secret()
        request.META.update({"CSRF_COOKIE": secret, "CSRF_COOKIE_NEEDS_UPDATE": True})
    return csrf.mask(secret)


def _accepts(coding: str, accepted: str) -> bool:
    """Whether an Accept-Encoding header names `coding` without refusing it (q=0)."""
    for item in accepted.split(","):
        name, _, parameters = item.partition(";")
        if name.strip().lower() == coding:
            quality = parameters.strip().lower()
            try:
                return not quality.startswith("q=") or float(quality[2:]) != 0
            except ValueError:  # an unreadable weight refuses nothing
                return True
    return False


def _with_token(pieces: Sequence[Drawn], token: bytes) -> Iterator[bytes]:
    for piece in pieces:
        for number, part in enumerate(piece.parts):
            if number:
                yield token
            yield part


def _gzipped(pieces: Sequence[Drawn], token: bytes, size: int) -> bytes:
    """One gzip member: each piece's parts deflated once, with the token stored between them."""
    chunks = [GZIP_HEADER, b"a" * secrets.randbelow(GZipMiddleware.max_random_bytes), b"\x00"]
    stored_token = _stored(token)
    checksum = 0
    for piece in pieces:
        for number, (part, deflated) in enumerate(zip(piece.parts, piece.deflated(), strict=True)):
            if number:
                chunks.append(stored_token)
                checksum = zlib.crc32(token, checksum)
            chunks.append(deflated)
            checksum = zlib.crc32(part, checksum)
    chunks += [LAST_BLOCK, struct.pack("<II", checksum, size & 0xFFFFFFFF)]
    return b"".join(chunks)


class Kept[V]:
    """A bounded store, per process, safe across threads: the oldest goes first when it is full.

    Reading takes no lock (a dict lookup is atomic in CPython) and does not reorder, as a page reads
    many parts per request; what is kept is bounded by the rule set (questions, answers, rules), so
    the oldest-first rule only matters for addresses made up to fill it.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[Hashable, V] = {}
        self.lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value kept under `key`, made (outside the lock) and kept if there is none."""
        value = self.items.get(key)
        if value is None:
            value = make()
            with self.lock:
                self.items[key] = value
                while len(self.items) > self.size:
                    del self.items[next(iter(self.items))]
        return value

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


# The sizes bound a worker's memory: about 10 MB a store when full (a kept page is about 5 KB of
# text and 2 KB compressed, the cautions of a result up to 20 KB), beside the worker's ~65 MB.
# Whole pages (or htmx partials) the same for everyone: drawn text, and the names of the slots a
# patient's own parts go in (see screening/views/pages.py).
pages: Kept[tuple[Drawn | str, ...]] = Kept(size=1024)
frames: Kept[tuple[Drawn, Drawn]] = Kept(size=1024)  # the layout around a page's main part, per title and address
# Large parts of pages: the cautions that apply, a result's closing part, a patient's answers' rows.
pieces: Kept[Drawn] = Kept(size=1024)
fragments: Kept[str] = Kept(size=4096)  # small parts of pages: a rule's caution, an answer's row
# Where a visit stands, per set of answers (screening/visit.py): each page of a visit walks its answers.
walks: Kept[tuple[RuleSet, Walk]] = Kept(size=2048)

_live: Hashable = None


def follow(live: Hashable) -> None:
    """Forget everything drawn from another version once the live one changes (it is never read again)."""
    global _live
    if live != _live:
        forget_all()
        _live = live


def forget_all() -> None:
    """Keep nothing: the next request draws everything afresh (tests start from here too)."""
    for store in (pages, frames, pieces, fragments, walks):
        store.clear()
