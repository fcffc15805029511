"""Caches bounded by bytes (rules/memo.py): they evict by size, not by count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from buhdesk.rules import memo
from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.rules.memo import SizedCache, set_budget, sized_memo


@pytest.fixture(autouse=True)
def budget() -> Iterator[None]:
    before = memo.budget_bytes()
    yield
    set_budget(before / 2**20)


def test_entries_go_by_bytes_least_recently_used_first() -> None:
    cache: SizedCache[str, bytes] = SizedCache(1.0, max_bytes=1000,
                                               size=lambda k, v: len(v))
    cache.put("a", b"x" * 400)
    cache.put("b", b"x" * 400)
    assert cache.get("a", None) is not None  # "a" is now the most recently used
    cache.put("c", b"x" * 400)  # 1,200 bytes: the least recently used, "b", goes
    assert cache.get("b", None) is None
    assert cache.get("a", None) == b"x" * 400 and cache.get("c", None) == b"x" * 400
    assert cache.bytes == 800 and cache.evictions == 1
    cache.put("d", b"x" * 10)  # small entries fit beside them: a count is no limit
    assert len(cache) == 3 and cache.bytes == 810


def test_many_small_entries_or_one_big_one_cost_the_same_budget() -> None:
    cache: SizedCache[int, bytes] = SizedCache(1.0, max_bytes=10_000, size=lambda k, v: len(v))
    for n in range(1000):
        cache.put(n, b"x" * 100)
    assert len(cache) == 100 and cache.bytes == 10_000
    cache.put(-1, b"x" * 5000)
    assert len(cache) == 51 and cache.bytes == 10_000  # 50 small ones went for the big one
    cache.put(-2, b"x" * 20_000)  # bigger than the whole cache: not kept, nothing evicted
    assert cache.get(-2, None) is None and len(cache) == 51


def test_the_process_budget_sets_each_caches_share_and_shrinks_them() -> None:
    set_budget(1)
    cache: SizedCache[int, str] = SizedCache(0.5)  # 512 kB of estimated sizes
    for n in range(100_000):
        cache.put(n, f"слово {n}")
    assert 0.9 * 2**19 <= cache.bytes <= 2**19
    kept = len(cache)
    set_budget(0.5)
    assert cache.bytes <= 2**18 and len(cache) < kept / 1.8


def test_a_memoised_function_keeps_none_results_and_is_bounded() -> None:
    calls: list[str] = []

    @sized_memo(0.1)
    def reading(word: str) -> str | None:
        calls.append(word)
        return None if word.startswith("x") else word.upper()

    assert reading("xyz") is None and reading("xyz") is None
    assert reading("abc") == "ABC" and reading("abc") == "ABC"
    assert calls == ["xyz", "abc"]
    set_budget(0.01)  # 1 kB: a few entries only
    for n in range(1000):
        reading(f"w{n}")
    assert reading.cache.bytes <= 0.1 * 0.01 * 2**20  # type: ignore[attr-defined]


def test_the_lemmatiser_stays_within_its_share_over_many_distinct_words() -> None:
    set_budget(1)
    lemmatizer = Lemmatizer()
    for n in range(20_000):
        lemmatizer.tokens(f"Сотрудник {n}\nтел. 29-{n:04d} employee{n}")
    caches = (lemmatizer._analysed, lemmatizer._tokens, lemmatizer._lines)
    assert all(c.bytes <= c.max_bytes <= 2**20 for c in caches)
    assert all(c.evictions for c in caches)
    assert lemmatizer.lemma("сотрудника") == "сотрудник"  # still right after evictions


def test_the_allocator_is_trimmed_at_most_once_per_interval() -> None:
    from buhdesk.service.memory import Trimmer

    now = [100.0]
    trimmer = Trimmer(every=5.0, clock=lambda: now[0])
    assert trimmer.maybe()  # the first call trims (glibc: this machine's C library)
    now[0] += 4.9
    assert not trimmer.maybe()
    now[0] += 0.2
    assert trimmer.maybe() and trimmer.trims == 2
