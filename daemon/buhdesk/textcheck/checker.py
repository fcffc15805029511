"""The text check an accountant's answer passes before it goes out (order 76, §2.5)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from buhdesk.textcheck import commas, greeting, punctuation, spelling, style, typography
from buhdesk.textcheck.findings import Finding
from buhdesk.textcheck.lexicon import Lexicon
from buhdesk.textcheck.rules import (
    GLOSSARY_FILE,
    STYLE_FILE,
    Colloquialism,
    Phrase,
    StyleRules,
    load_glossary,
    load_style,
)
from buhdesk.textcheck.sentences import Grammar, sentences
from buhdesk.textcheck.tokens import protected_spans, words


@dataclass(frozen=True)
class TextChecker:
    """Spelling, punctuation, typography, style and greeting checks over one text."""

    lexicon: Lexicon
    rules: StyleRules
    colloquial: re.Pattern[str]
    colloquial_rules: dict[str, Colloquialism]
    phrase_pattern: re.Pattern[str]
    phrases: list[Phrase]
    grammar: Grammar

    @classmethod
    def load(cls, rules_dir: Path) -> TextChecker:
        """Read ``glossary.txt`` and ``style.toml``; bad data raises ``TextCheckRulesError``."""
        rules_dir = Path(rules_dir)
        glossary = load_glossary(rules_dir / GLOSSARY_FILE)
        rules = load_style(rules_dir / STYLE_FILE)
        pattern, by_word = style.compile_colloquialisms(rules.colloquialisms)
        phrase_pattern, phrases = style.compile_phrases(rules.phrases)
        lexicon = Lexicon.build(glossary)
        return cls(lexicon, rules, pattern, by_word, phrase_pattern, phrases,
                   Grammar(lexicon.morph))

    def with_names(self, names: Iterable[str]) -> TextChecker:
        """A checker that also accepts these people's names in every case form."""
        return replace(self, lexicon=self.lexicon.with_names(names))

    def check(self, text: str) -> list[Finding]:
        """Every finding in ``text``, sorted by position."""
        settings = self.rules.settings
        spans = protected_spans(text)
        tokens = list(words(text, spans))
        phrased = list(style.phrase_findings(text, spans, self.phrase_pattern, self.phrases,
                                             settings.style_blocking))
        styled = _without_overlaps(style.check(text, tokens, spans, self.lexicon,
                                               self.colloquial, self.colloquial_rules), phrased)
        styled += phrased
        greeted = greeting.check(text, self.lexicon)
        marks = _without_overlaps(
            punctuation.check(text, spans, self.rules.period_abbreviations, settings.typography),
            greeted)
        typeset = _without_overlaps(typography.check(text, spans, settings.typography), marks)
        split = list(sentences(text, spans))
        commas_found = _without_overlaps(
            commas.check(text, split, self.grammar, settings.punctuation),
            [f for f in [*marks, *greeted, *phrased] if f.kind != "style"])
        clear = _without_overlaps(list(style.clarity(text, split, self.grammar, settings)),
                                  styled)
        found = [
            *_without_overlaps(spelling.check(text, tokens, self.lexicon,
                                             self.rules.period_abbreviations), styled),
            *marks,
            *typeset,
            *commas_found,
            *greeted,
            *styled,
            *clear,
        ]
        return sorted(found, key=lambda f: (f.start, f.end, f.kind))


def _without_overlaps(findings: list[Finding], preferred: list[Finding]) -> list[Finding]:
    """Drop findings that cover the same words as a preferred (more specific) finding."""
    return [f for f in findings
            if not any(p.start < f.end and f.start < p.end for p in preferred)]
