"""Which words are known: Russian (pymorphy3/OpenCorpora), English (pyspellchecker's list), the
glossary and the names of staff and clients; and ranked suggestions for unknown words."""

from __future__ import annotations

import gzip
import json
import pkgutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import dawg_python
import pymorphy3

from buhdesk.rules.lemmas import morph_analyzer
from buhdesk.textcheck import suggest
from buhdesk.textcheck.tokens import is_cyrillic

_NAME_GRAMMEMES = frozenset({"Name", "Surn", "Patr"})


def fold(word: str) -> str:
    """Case- and ё-insensitive key."""
    return word.lower().replace("ё", "е")


@dataclass(frozen=True)
class Lexicon:
    """Known-word lookups; immutable apart from a lookup cache shared by derived copies."""

    morph: pymorphy3.MorphAnalyzer
    english: Mapping[str, int]
    russian_freq: Mapping[str, int]
    exact_terms: frozenset[str]
    folded_terms: frozenset[str]
    near_terms: Mapping[str, frozenset[str]]
    prefixes: _LazyPrefixes
    names: frozenset[str] = frozenset()
    cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    suggested: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    # is_known per token as written; it depends on the names, so each with_names copy has its own
    known: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, glossary: Iterable[str]) -> Lexicon:
        morph = morph_analyzer()  # shared with classification (rules.lemmas)
        terms = tuple(glossary)
        exact = frozenset(t for t in terms if t != t.lower())
        folded = frozenset(_term_forms(morph, [t for t in terms if t == t.lower()]))
        return cls(morph, _Frequencies("en"), _Frequencies("ru"), exact, folded,
                   suggest.deletion_index(folded), _LazyPrefixes(morph))

    def with_names(self, names: Iterable[str]) -> Lexicon:
        """A copy that also accepts every case form of the given names."""
        forms = set(self.names)
        for name in names:
            for part in name.replace("-", " ").split():
                forms.update(_name_forms(self.morph, part))
        return replace(self, names=frozenset(forms), known={})

    def is_term(self, word: str) -> bool:
        return word in self.exact_terms or fold(word) in self.folded_terms

    def is_name(self, word: str) -> bool:
        return fold(word) in self.names

    def is_known(self, word: str) -> bool:
        """A whole token: a term, a name, a dictionary word, or hyphenated known parts."""
        hit = self.known.get(word)
        if hit is None:
            hit = self.known[word] = self._is_known(word)
        return hit

    def _is_known(self, word: str) -> bool:
        if self.is_term(word) or self.is_name(word) or self.is_plain_known(word):
            return True
        parts = [p for p in word.replace("‐", "-").split("-") if p]
        if len(parts) < 2:
            return False
        return all(p.isdigit() or self.is_term(p) or self.is_name(p) or self.is_plain_known(p)
                   for p in parts)

    def is_plain_known(self, word: str) -> bool:
        """A dictionary word (any case, ё or е)."""
        key = word.lower()
        hit = self.cache.get(key)
        if hit is None:
            hit = self._lookup(key)
            self.cache[key] = hit
        return hit

    def _lookup(self, key: str) -> bool:
        if key in self.folded_terms:
            return True
        # no word of the English list has a Cyrillic letter: Russian words never load it
        if not is_cyrillic(key) and key in self.english:
            return True
        # pymorphy3's DAWG through its C reader (е also matches ё), four times faster than a
        # walk of the unit array; the same answer on 61,730 words and misspellings
        if self.morph.word_is_known(key):
            return True
        return "ё" in key and self.morph.word_is_known(key.replace("ё", "е"))

    def is_abbreviation(self, word: str) -> bool:
        """The dictionary knows this word only as an abbreviation (США, МВД)."""
        parses = self.morph.parse(word.lower())
        return bool(parses) and all("Abbr" in p.tag.grammemes for p in parses[:1])

    def frequency(self, word: str) -> int:
        key = word.lower()
        return self.russian_freq.get(key, 0) or (0 if is_cyrillic(key)
                                                 else self.english.get(key, 0))

    def suggest(self, word: str, limit: int = 5) -> tuple[str, ...]:
        """Known words one (or, for common Russian slips, two) edits away, most likely first."""
        lower = word.lower()
        ranked = self.suggested.get(lower)
        if ranked is None:
            found = suggest.candidates(lower, self._suggestable, self.prefixes.get())
            found |= suggest.near(fold(lower), self.near_terms)
            ranked = tuple(sorted(found, key=lambda c: (-self.frequency(c), suggest.cost(lower, c),
                                                        c)))
            self.suggested[lower] = ranked
        return tuple(suggest.match_case(word, c) for c in ranked[:limit])

    def _suggestable(self, candidate: str) -> bool:
        return fold(candidate) in self.folded_terms or self.is_plain_known(candidate)


class _Frequencies(Mapping[str, int]):
    """pyspellchecker's word-frequency list of a language, read on first use: the English one
    (160,000 words, 0.1 s) only for Latin words, the Russian one to rank suggestions."""

    def __init__(self, language: str) -> None:
        self._language = language
        self._words: dict[str, int] | None = None

    def _loaded(self) -> dict[str, int]:
        if self._words is None:
            self._words = _frequency_list(self._language)
        return self._words

    def __getitem__(self, key: str) -> int:
        return self._loaded()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._loaded()

    def get(self, key: str, default: int = 0) -> int:  # type: ignore[override]  # int default only
        return self._loaded().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _frequency_list(language: str) -> dict[str, int]:
    """The list ``SpellChecker(language=...)`` builds (keys lower-cased, counts of words that
    differ only in case summed), read from its package data without the rest of its set-up
    (importing it and indexing the letters of every word: half the time)."""
    packed = pkgutil.get_data("spellchecker", f"resources/{language}.json.gz")
    if packed is None:
        raise FileNotFoundError(f"pyspellchecker has no word list for {language!r}")
    data: dict[str, int] = json.loads(gzip.decompress(packed).decode("utf-8"))
    lowered = {key.lower(): count for key, count in data.items()}
    if len(lowered) != len(data):
        lowered = dict(_sum_by_lower(data))
    return lowered


def _sum_by_lower(data: dict[str, int]) -> Counter[str]:
    total: Counter[str] = Counter()
    for key, count in data.items():
        total[key.lower()] += count
    return total


class _LazyPrefixes:
    """The prefix walker of suggestions (pymorphy3's word DAWG walked directly), made when the
    first unknown word needs suggestions. With the DAWG2 C extension pymorphy3's own DAWG has no
    unit array to walk, so the file is read once more by the pure-Python reader (about 40 ms)."""

    def __init__(self, morph: pymorphy3.MorphAnalyzer) -> None:
        self._morph = morph
        self._prefixes: suggest.Prefixes | None = None

    def get(self) -> suggest.Prefixes:
        if self._prefixes is None:
            words = self._morph.dictionary.words
            dct = getattr(words, "dct", None)
            if dct is None:
                path = Path(self._morph.dictionary.path) / "words.dawg"
                dct = dawg_python.RecordDAWG(words.DATA_FORMAT).load(str(path)).dct
            self._prefixes = suggest.Prefixes(dct._units, dct.ROOT)
        return self._prefixes


def _term_forms(morph: pymorphy3.MorphAnalyzer, terms: list[str]) -> set[str]:
    """Lower-case glossary terms and, for those the dictionary lacks, their predicted forms."""
    forms = {fold(t) for t in terms}
    for term in terms:
        if "-" in term or morph.word_is_known(term):
            continue
        parse = morph.parse(term)[0]
        if fold(parse.normal_form) == fold(term):
            forms.update(fold(p.word) for p in parse.lexeme)
    return forms


def _name_forms(morph: pymorphy3.MorphAnalyzer, word: str) -> set[str]:
    forms = {fold(word)}
    parses = morph.parse(word)
    named = [p for p in parses if _NAME_GRAMMEMES & p.tag.grammemes]
    for parse in named or parses[:1]:
        forms.update(fold(p.word) for p in parse.lexeme)
    return forms
