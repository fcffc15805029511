"""Which words are known: Russian (pymorphy3/OpenCorpora), English (pyspellchecker's list), the
glossary and the names of staff and clients; and ranked suggestions for unknown words."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources

import pymorphy3

from buhdesk.textcheck import suggest

_NAME_GRAMMEMES = frozenset({"Name", "Surn", "Patr"})


def word_frequencies(language: str) -> dict[str, int]:
    """pyspellchecker's word list for ``language`` (lower-case words and their frequencies),
    read straight from its package data: its SpellChecker re-keys and indexes the list, which
    took most of a one-file `buhdesk textcheck` (bench/startup.py)."""
    data = resources.files("spellchecker").joinpath("resources", f"{language}.json.gz")
    return dict(json.loads(gzip.decompress(data.read_bytes())))


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
    prefixes: suggest.Prefixes
    names: frozenset[str] = frozenset()
    cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    suggested: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, glossary: Iterable[str]) -> Lexicon:
        morph = pymorphy3.MorphAnalyzer()
        english, russian = word_frequencies("en"), word_frequencies("ru")
        terms = tuple(glossary)
        exact = frozenset(t for t in terms if t != t.lower())
        folded = frozenset(_term_forms(morph, [t for t in terms if t == t.lower()]))
        dct = morph.dictionary.words.dct
        # pymorphy3's word DAWG, walked directly: same answer as MorphAnalyzer.word_is_known
        # (е also matches ё), about five times faster
        prefixes = suggest.Prefixes(dct._units, dct.ROOT)
        return cls(morph, english, russian, exact, folded, suggest.deletion_index(folded),
                   prefixes)

    def with_names(self, names: Iterable[str]) -> Lexicon:
        """A copy that also accepts every case form of the given names."""
        forms = set(self.names)
        for name in names:
            for part in name.replace("-", " ").split():
                forms.update(_name_forms(self.morph, part))
        return replace(self, names=frozenset(forms))

    def is_term(self, word: str) -> bool:
        return word in self.exact_terms or fold(word) in self.folded_terms

    def is_name(self, word: str) -> bool:
        return fold(word) in self.names

    def is_known(self, word: str) -> bool:
        """A whole token: a term, a name, a dictionary word, or hyphenated known parts."""
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
        if key in self.english or key in self.folded_terms:
            return True
        if self.prefixes.ends_word(self.prefixes.start(), key):
            return True
        return "ё" in key and self.prefixes.ends_word(self.prefixes.start(), key.replace("ё", "е"))

    def is_abbreviation(self, word: str) -> bool:
        """The dictionary knows this word only as an abbreviation (США, МВД)."""
        parses = self.morph.parse(word.lower())
        return bool(parses) and all("Abbr" in p.tag.grammemes for p in parses[:1])

    def frequency(self, word: str) -> int:
        key = word.lower()
        return self.russian_freq.get(key, 0) or self.english.get(key, 0)

    def suggest(self, word: str, limit: int = 5) -> tuple[str, ...]:
        """Known words one (or, for common Russian slips, two) edits away, most likely first."""
        lower = word.lower()
        ranked = self.suggested.get(lower)
        if ranked is None:
            found = suggest.candidates(lower, self._suggestable, self.prefixes)
            found |= suggest.near(fold(lower), self.near_terms)
            ranked = tuple(sorted(found, key=lambda c: (-self.frequency(c), suggest.cost(lower, c),
                                                        c)))
            self.suggested[lower] = ranked
        return tuple(suggest.match_case(word, c) for c in ranked[:limit])

    def _suggestable(self, candidate: str) -> bool:
        return fold(candidate) in self.folded_terms or self.is_plain_known(candidate)


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
