"""Candidate corrections for a misspelled word: edit distance 1, and for the commonest Russian
slips (unstressed vowels, doubled consonants, soft/hard signs) distance 2.

Russian candidates are pruned while they are built: an insertion or replacement is tried only if
the dictionary has words starting with the new prefix (a walk over pymorphy3's word DAWG), so a
word costs a few hundred cheap steps instead of ~700 dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

RU = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
EN = "abcdefghijklmnopqrstuvwxyz"
RU_VOWELS = "аеёиоуыэюя"
_CHEAP = set(RU_VOWELS) | set("ьъ")


class Prefixes:
    """Which strings begin or complete a dictionary word (е also follows ё, as pymorphy3 reads it).

    Walks the unit array of a ``dawg_python`` dictionary directly (the same arithmetic as its
    ``Dictionary.follow_char``): a method call per byte made suggestions three times slower.
    """

    def __init__(self, units: Sequence[int], root: int) -> None:
        self._units = units
        self._root = root

    def start(self) -> tuple[int, ...]:
        return (self._root,)

    def follow(self, states: tuple[int, ...], text: str) -> tuple[int, ...]:
        head, *tails = text.split("е")
        units = self._units
        data = head.encode()
        states = tuple(n for s in states if (n := _walk(units, s, data)) is not None)
        for tail in tails:
            if not states:
                break
            rest = tail.encode()
            states = tuple(n for s in states for e in _E_OR_YO
                           if (n := _walk(units, s, e + rest)) is not None)
        return states

    def children(self, states: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """The Russian letters some word continues with after these states."""
        units = self._units
        leads = {lead: [n for s in states if (n := _walk(units, s, bytes((lead,)))) is not None]
                 for lead in (0xD0, 0xD1)}
        alive = {}
        for letter, (lead, tail) in _UTF8.items():
            nexts = tuple(n for s in leads[lead] if (n := _walk(units, s, bytes((tail,))))
                          is not None)
            if nexts:
                alive[letter] = nexts
        return alive

    def ends_word(self, states: tuple[int, ...], rest: str) -> bool:
        """True when some state followed by ``rest`` completes a dictionary word."""
        return any(_walk(self._units, s, _KEY_END) is not None for s in self.follow(states, rest))


def _walk(units: Sequence[int], index: int, data: bytes) -> int | None:
    for label in data:
        base = units[index]
        index = (index ^ (((base >> 10) << ((base & 0x200) >> 6)) & 0xFFFFFFFF) ^ label) \
            & 0xFFFFFFFF
        if units[index] & 0x800000FF != label:
            return None
    return index


_E_OR_YO = ("е".encode(), "ё".encode())
_KEY_END = b"\x01"  # dawg_python ends every key of a BytesDAWG/RecordDAWG with it
_UTF8 = {ch: (ch.encode()[0], ch.encode()[1]) for ch in RU}


def alphabet(word: str) -> str:
    return EN if all("a" <= ch <= "z" or not ch.isalpha() for ch in word) else RU


def edits1(word: str, letters: str) -> Iterator[str]:
    """All strings one deletion, transposition, replacement or insertion away."""
    for i in range(len(word) + 1):
        left, right = word[:i], word[i:]
        if right:
            yield left + right[1:]
            yield from (left + ch + right[1:] for ch in letters if ch != right[0])
        if len(right) > 1:
            yield left + right[1] + right[0] + right[2:]
        yield from (left + ch + right for ch in letters)


def known_edits1(word: str, prefixes: Prefixes) -> set[str]:
    """Dictionary words one edit away, found by walking the DAWG from the shared prefix."""
    found = set()
    state = prefixes.start()
    for i in range(len(word) + 1):
        left, right = word[:i], word[i:]
        if right and prefixes.ends_word(state, right[1:]):
            found.add(left + right[1:])
        if len(right) > 1 and prefixes.ends_word(state, right[1] + right[0] + right[2:]):
            found.add(left + right[1] + right[0] + right[2:])
        for ch, after in prefixes.children(state).items():
            if prefixes.ends_word(after, right):
                found.add(left + ch + right)
            if right and ch != right[0] and prefixes.ends_word(after, right[1:]):
                found.add(left + ch + right[1:])
        state = prefixes.follow(state, word[i]) if right else state
        if not state:
            break
    found.discard(word)
    return found


def deletion_index(words: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each word and each of its one-letter deletions, mapped to the words (symmetric delete)."""
    index: dict[str, set[str]] = {}
    for word in words:
        for key in {word, *(word[:i] + word[i + 1:] for i in range(len(word)))}:
            index.setdefault(key, set()).add(word)
    return {key: frozenset(found) for key, found in index.items()}


def near(word: str, index: Mapping[str, frozenset[str]]) -> set[str]:
    """Words of a deletion index within about one edit of ``word``."""
    keys = {word, *(word[:i] + word[i + 1:] for i in range(len(word)))}
    return {w for key in keys for w in index.get(key, ()) if w != word}


def cheap_edits(word: str) -> Iterator[str]:
    """Vowel and sign replacements, deletions, doubled letters: the usual Russian slips."""
    for i, ch in enumerate(word):
        yield word[:i] + word[i + 1:]
        yield word[:i] + ch + word[i:]
        if ch in _CHEAP:
            yield from (word[:i] + other + word[i + 1:] for other in _CHEAP - {ch})
    for i in range(len(word) + 1):
        yield from (word[:i] + sign + word[i:] for sign in "ьъ")


def candidates(word: str, known: Callable[[str], bool], prefixes: Prefixes) -> set[str]:
    """Known words one edit away; for Russian words with none, two cheap edits away.

    ``known`` is the full check, used for English; Russian words come from the dictionary walk.
    """
    if alphabet(word) == EN:
        return {c for c in set(edits1(word, EN)) if c and known(c)}
    found = known_edits1(word, prefixes)
    if found or len(word) < 4:
        return found
    root = prefixes.start()
    first = set(cheap_edits(word))
    return {c for e in first for c in set(cheap_edits(e))
            if c and c != word and prefixes.ends_word(root, c)}


def cost(word: str, candidate: str) -> int:
    """Lower for the slips people make: vowel swaps and doubled letters."""
    if len(word) == len(candidate):
        diff = [(a, b) for a, b in zip(word, candidate, strict=True) if a != b]
        if all(a in _CHEAP and b in _CHEAP for a, b in diff):
            return 0
        return 1 if len(diff) == 1 else 2
    return 1


def match_case(original: str, candidate: str) -> str:
    if original.isupper() and len(original) > 1:
        return candidate.upper()
    if original[:1].isupper():
        return candidate[:1].upper() + candidate[1:]
    return candidate
