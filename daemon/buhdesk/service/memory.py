"""Give the C allocator's free memory back to the system (glibc ``malloc_trim``).

Measured (issue 21): after start-up the heap of the main arena held about 35 MB of free chunks
left by loading rules and dictionaries, and letters of every size leave more; glibc returns free
memory in the middle of its heap only when asked. Trimming after start-up and then at most every
few seconds of work keeps the resident set at what is really in use. Elsewhere than glibc
(musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIM_EVERY = 5.0  # seconds of work between two trims; a trim of a 100 MB heap takes a few ms


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    fn: Callable[[int], int] = trim
    return fn


_trim = _load_trim()


class Trimmer:
    """Calls ``malloc_trim(0)`` when asked, at most once every ``every`` seconds."""

    def __init__(self, every: float = TRIM_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self._last = float("-inf")
        self.trims = 0

    def maybe(self) -> bool:
        now = self.clock()
        if now - self._last < self.every:
            return False
        self._last = now
        return self.now()

    def now(self) -> bool:
        if _trim is None:
            return False
        _trim(0)
        self.trims += 1
        return True
