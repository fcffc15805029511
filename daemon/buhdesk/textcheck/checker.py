"""The text check an accountant's answer passes before it goes out (order 76, §2.5)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from buhdesk.textcheck import greeting, punctuation, spelling, style
from buhdesk.textcheck.findings import Finding
from buhdesk.textcheck.lexicon import Lexicon
from buhdesk.textcheck.rules import (
    GLOSSARY_FILE,
    STYLE_FILE,
    Colloquialism,
    StyleRules,
    load_glossary,
    load_style,
)
from buhdesk.textcheck.tokens import protected_spans, words


@dataclass(frozen=True)
class TextChecker:
    """Spelling, punctuation, typography, style and greeting checks over one text."""

    lexicon: Lexicon
    rules: StyleRules
    colloquial: re.Pattern[str]
    colloquial_rules: dict[str, Colloquialism]

    @classmethod
    def load(cls, rules_dir: Path) -> TextChecker:
        """Read ``glossary.txt`` and ``style.toml``; bad data raises ``TextCheckRulesError``."""
        rules_dir = Path(rules_dir)
        glossary = load_glossary(rules_dir / GLOSSARY_FILE)
        rules = load_style(rules_dir / STYLE_FILE)
        pattern, by_word = style.compile_colloquialisms(rules.colloquialisms)
        return cls(Lexicon.build(glossary), rules, pattern, by_word)

    def with_names(self, names: Iterable[str]) -> TextChecker:
        """A checker that also accepts these people's names in every case form."""
        return replace(self, lexicon=self.lexicon.with_names(names))

    def check(self, text: str) -> list[Finding]:
        """Every finding in ``text``, sorted by position."""
        spans = protected_spans(text)
        tokens = list(words(text, spans))
        styled = style.check(text, tokens, spans, self.lexicon, self.colloquial,
                             self.colloquial_rules)
        greeted = greeting.check(text, self.lexicon)
        found = [
            *_without_overlaps(spelling.check(text, tokens, self.lexicon,
                                             self.rules.period_abbreviations), styled),
            *_without_overlaps(punctuation.check(text, spans, self.rules.period_abbreviations),
                               greeted),
            *greeted,
            *styled,
        ]
        return sorted(found, key=lambda f: (f.start, f.end, f.kind))


def _without_overlaps(findings: list[Finding], preferred: list[Finding]) -> list[Finding]:
    """Drop findings that cover the same words as a preferred (more specific) finding."""
    return [f for f in findings
            if not any(p.start < f.end and f.start < p.end for p in preferred)]
