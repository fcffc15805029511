"""Caches bounded by bytes, with one budget for the whole process (``[service] cache_mb``).

Every cache of words, lines and names that grows with the letters read (the lemmatiser's words
and lines, the classifier's word ids, the quoting's and the text check's name readings) is a
:class:`SizedCache`. Each has a share of the process budget; when an insertion takes it past
its share, the least recently used entries go until it fits. Sizes are estimates
(``sys.getsizeof`` of the key and of the value and its direct members): enough to keep the
resident set from growing with the count of letters, cheap enough to run on every miss.

The budget is set once at start (:func:`set_budget`, from the runtime) and may be changed by a
reload; caches created before keep their share of the new budget.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import wraps
from typing import Any, Generic, ParamSpec, TypeVar

DEFAULT_CACHE_MB = 16

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")
P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_budget = DEFAULT_CACHE_MB * 2**20
_caches: weakref.WeakSet[SizedCache[Any, Any]] = weakref.WeakSet()
_MISSING: Any = object()


def size_of(value: object) -> int:
    """Bytes an entry holds, approximately: the object and its direct members (strings,
    numbers, the members of a tuple, frozenset or dataclass one level down)."""
    size = sys.getsizeof(value)
    if isinstance(value, (tuple, list, frozenset, set)):
        size += sum(_member(v) for v in value)
    elif hasattr(value, "__dict__") or hasattr(value, "__slots__"):
        for name in getattr(value, "__slots__", ()) or vars(value):
            size += _member(getattr(value, name, None))
    return size


def _member(value: object) -> int:
    size = sys.getsizeof(value)
    if isinstance(value, (tuple, frozenset, set, list)):
        size += sum(sys.getsizeof(v) for v in value)
    elif hasattr(value, "__dict__"):
        size += sum(sys.getsizeof(v) + (sum(map(sys.getsizeof, v))
                                        if isinstance(v, (frozenset, tuple)) else 0)
                    for v in vars(value).values())
    return size


def set_budget(megabytes: float) -> None:
    """The bytes all caches together may hold; caches over their new share shrink now."""
    global _budget
    with _lock:
        _budget = int(megabytes * 2**20)
        caches = list(_caches)
    for cache in caches:
        cache.shrink()


def budget_bytes() -> int:
    return _budget


class SizedCache(Generic[K, V]):
    """A least-recently-used map whose entries together stay within ``share`` of the process's
    cache budget (``share`` is a fraction, 0 < share ≤ 1), or within ``max_bytes`` if given."""

    def __init__(self, share: float, *, max_bytes: int | None = None,
                 size: Callable[[K, V], int] | None = None) -> None:
        self.share = share
        self._fixed = max_bytes
        self._size = size or (lambda k, v: size_of(k) + size_of(v) + _ENTRY_OVERHEAD)
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = self.misses = self.evictions = 0
        _caches.add(self)

    @property
    def max_bytes(self) -> int:
        return self._fixed if self._fixed is not None else int(_budget * self.share)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, default: D) -> V | D:
        """The value of ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return default
            self._entries.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: K, value: V) -> None:
        cost = self._size(key, value)
        limit = self.max_bytes
        if cost > limit:
            return  # an entry bigger than the whole cache is not kept
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (value, cost)
            self.bytes += cost
            self._evict(limit)

    def shrink(self) -> None:
        with self._lock:
            self._evict(self.max_bytes)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def _evict(self, limit: int) -> None:
        while self.bytes > limit and self._entries:
            _, (_, cost) = self._entries.popitem(last=False)
            self.bytes -= cost
            self.evictions += 1


# An OrderedDict entry: the hash table slot, the linked-list node and the (value, cost) tuple.
_ENTRY_OVERHEAD = 160


def sized_memo(share: float) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Memoise a function of hashable positional arguments in a :class:`SizedCache`."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        cache: SizedCache[tuple[object, ...], R] = SizedCache(share)

        @wraps(fn)
        def memo(*args: P.args, **kwargs: P.kwargs) -> R:
            if kwargs:
                return fn(*args, **kwargs)
            found = cache.get(args, _MISSING)
            if found is _MISSING:
                found = fn(*args, **kwargs)
                cache.put(args, found)
            result: R = found
            return result

        memo.cache = cache  # type: ignore[attr-defined]  # for tests and metrics
        return memo

    return wrap
