"""Decide a request's process and need from its letter, by weighted term rules, and say why.

Rules come from ``rules/classify.toml`` (validated by :mod:`buhdesk.ruleset`). Text is cut to the
sender's own words (:mod:`buhdesk.quoting`), split into lemmas (:mod:`buhdesk.lemmas`) and each
rule scores the terms it finds; the best process and need win, below a threshold the request is
left unsorted. Every hit is kept so that the decision can be explained.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

from buhdesk.lemmas import Lemmatizer, Token, normalize
from buhdesk.quoting import split_quoted

PROCESSES = (
    "payroll", "travel", "timesheet", "reporting", "facts", "info_on_demand",
    "external_reporting",
)
NEEDS = (
    "information", "consultation", "forms", "submission", "status", "result", "inspection",
    "feedback", "other",
)
_MAX_GAP = 2
_MAX_REPEATS = 2


@dataclass(frozen=True)
class Letter:
    """What the classifier looks at; ``body`` is raw text (quotes are stripped here)."""

    subject: str
    body: str
    sender: str
    sender_name: str = ""
    department: str | None = None


@dataclass(frozen=True)
class RuleHit:
    rule: str
    terms: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class Classification:
    process: str | None
    need: str | None
    process_score: float
    need_score: float
    hits: tuple[RuleHit, ...]
    unsorted: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for the audit trail and ``explain --json``."""
        data = asdict(self)
        data["hits"] = [asdict(h) | {"terms": list(h.terms)} for h in self.hits]
        return data


@dataclass(frozen=True)
class Term:
    """A term as written in the rules and its lemmas (stop words dropped from phrases)."""

    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One compiled rule: a process or a need, and what it looks for."""

    name: str
    kind: str  # "process" | "need"
    code: str
    weight: float
    terms: tuple[Term, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    senders: tuple[str, ...] = ()
    where: str = "all"
    unless: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Settings:
    process_threshold: float = 2.5
    need_threshold: float = 1.0
    fallback_need: str | None = "other"
    subject_weight: float = 1.5
    forwarded_weight: float = 0.6
    repeat_bonus: float = 0.25
    fuzzy_min_length: int = 6


@dataclass(frozen=True)
class _Zone:
    name: str  # "subject" | "body" | "forwarded"
    text: str
    positions: tuple[frozenset[int], ...]
    weight: float
    starts: dict[int, list[int]]  # word id -> positions where it occurs


class Classifier:
    """Scores a letter against compiled rules; build once per rule set, then call classify()."""

    def __init__(self, rules: Sequence[Rule], settings: Settings, lemmatizer: Lemmatizer) -> None:
        self.rules = tuple(rules)
        self.settings = settings
        self._lemmatizer = lemmatizer
        words = sorted({w for r in self.rules for t in (*r.terms, *r.unless) for w in t.words})
        self._vocab = {w: i for i, w in enumerate(words)}
        self._fuzzy = _deletion_index(words, settings.fuzzy_min_length)
        self._word_ids = lru_cache(maxsize=100_000)(self._word_ids_uncached)
        self._ids = {t: tuple(self._vocab[w] for w in t.words)
                     for r in self.rules for t in (*r.terms, *r.unless)}
        self._by_first: dict[int, list[tuple[str, Term]]] = defaultdict(list)
        for rule in self.rules:
            for term in rule.terms:
                self._by_first[self._ids[term][0]].append((rule.name, term))

    @property
    def lemmatizer(self) -> Lemmatizer:
        """The (cached) lemmatizer, shared with the knowledge base search."""
        return self._lemmatizer

    def classify(self, letter: Letter) -> Classification:
        zones = self._zones(letter)
        present = set().union(*(z.starts for z in zones))
        candidates: dict[str, list[Term]] = defaultdict(list)
        for word in present:
            for rule_name, term in self._by_first.get(word, ()):
                candidates[rule_name].append(term)
        hits = [h for h in (self._score(r, zones, letter.sender, candidates.get(r.name, []))
                            for r in self.rules) if h]
        process, p_score = _best(hits, self.rules, "process")
        need, n_score = _best(hits, self.rules, "need")
        unsorted = process is None or p_score < self.settings.process_threshold
        if need is None or n_score < self.settings.need_threshold:
            need = self.settings.fallback_need
        return Classification(
            process=None if unsorted else process,
            need=need,
            process_score=round(p_score, 3),
            need_score=round(n_score, 3),
            hits=tuple(sorted(hits, key=lambda h: -h.score)),
            unsorted=unsorted,
        )

    def _zones(self, letter: Letter) -> tuple[_Zone, ...]:
        parts = split_quoted(letter.body)
        own, forwarded, fw_weight = parts.own, parts.forwarded, self.settings.forwarded_weight
        if not own.strip():
            own, forwarded = forwarded, ""
        return (
            self._zone("subject", _clean_subject(letter.subject), self.settings.subject_weight),
            self._zone("body", own, 1.0),
            self._zone("forwarded", forwarded, fw_weight),
        )

    def _zone(self, name: str, text: str, weight: float) -> _Zone:
        positions = tuple(self._word_ids(t) for t in self._lemmatizer.tokens(text))
        starts: dict[int, list[int]] = defaultdict(list)
        for at, ids in enumerate(positions):
            for word in ids:
                starts[word].append(at)
        return _Zone(name, text, positions, weight, dict(starts))

    def _word_ids_uncached(self, token: Token) -> frozenset[int]:
        found = {self._vocab[f] for f in token.forms if f in self._vocab}
        if not found and not token.known:
            for form in {f for f in token.forms} | {_stem(f) for f in token.forms}:
                for key in _deletions(form, self.settings.fuzzy_min_length - 2):
                    found.update(self._fuzzy.get(key, ()))
        return frozenset(found)

    def _score(
        self, rule: Rule, zones: tuple[_Zone, ...], sender: str, terms: list[Term]
    ) -> RuleHit | None:
        if rule.senders and not _sender_matches(sender, rule.senders):
            return None
        active = [z for z in zones if _zone_allowed(rule.where, z.name)]
        if rule.unless and any(self._count(t, z) for t in rule.unless for z in active):
            return None
        if not rule.terms and not rule.patterns:
            return RuleHit(rule.name, (f"отправитель {sender}",), rule.weight)
        if not terms and not rule.patterns:
            return None
        order = {t: i for i, t in enumerate(rule.terms)}
        found, score = self._term_score(rule, sorted(terms, key=order.__getitem__), active)
        for pattern in rule.patterns:
            weights = [z.weight for z in active if pattern.search(z.text)]
            if weights:
                found.append(f"/{pattern.pattern}/")
                score += rule.weight * max(weights)
        return RuleHit(rule.name, tuple(found), round(score, 3)) if score > 0 else None

    def _term_score(
        self, rule: Rule, terms: list[Term], zones: list[_Zone]
    ) -> tuple[list[str], float]:
        found: list[str] = []
        score = 0.0
        for term in terms:
            counts = [(self._count(term, z), z.weight) for z in zones]
            total = sum(c for c, _ in counts)
            if total:
                best_weight = max(w for c, w in counts if c)
                repeats = min(total - 1, _MAX_REPEATS)
                score += rule.weight * best_weight * (1 + self.settings.repeat_bonus * repeats)
                found.append(term.text)
        return found, score

    def _count(self, term: Term, zone: _Zone) -> int:
        ids = self._ids[term]
        first = zone.starts.get(ids[0])
        if not first:
            return 0
        if len(ids) == 1:
            return len(first)
        rest = ids[1:]
        return sum(1 for at in first if _follows(zone.positions, at, rest))


def _follows(positions: tuple[frozenset[int], ...], at: int, rest: tuple[int, ...]) -> bool:
    for word in rest:
        window = positions[at + 1 : at + 2 + _MAX_GAP]
        step = next((i for i, ids in enumerate(window) if word in ids), None)
        if step is None:
            return False
        at += step + 1
    return True


def _best(hits: list[RuleHit], rules: tuple[Rule, ...], kind: str) -> tuple[str | None, float]:
    by_name = {r.name: r for r in rules}
    totals: dict[str, float] = defaultdict(float)
    for hit in hits:
        rule = by_name[hit.rule]
        if rule.kind == kind:
            totals[rule.code] += hit.score
    if not totals:
        return None, 0.0
    code = max(totals, key=lambda c: (totals[c], -_order(kind, c)))
    return code, totals[code]


def _order(kind: str, code: str) -> int:
    codes = PROCESSES if kind == "process" else NEEDS
    return codes.index(code) if code in codes else len(codes)


def _zone_allowed(where: str, zone: str) -> bool:
    if where == "all":
        return True
    if where == "subject":
        return zone == "subject"
    return zone != "subject"


def _sender_matches(sender: str, patterns: tuple[str, ...]) -> bool:
    address = normalize(sender).strip().strip("<>")
    domain = address.rpartition("@")[2]
    for pattern in patterns:
        p = normalize(pattern)
        if p.startswith("@"):
            if domain == p[1:] or domain.endswith("." + p[1:]):
                return True
        elif address == p:
            return True
    return False


def _clean_subject(subject: str) -> str:
    return re.sub(r"^\s*(?:(?:re|fw|fwd|ответ|пересл)\s*(?:\[\d+\])?\s*:\s*)+", "", subject,
                  flags=re.IGNORECASE)


def _deletions(word: str, min_length: int) -> set[str]:
    if len(word) < min_length:
        return set()
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _stem(word: str) -> str:
    """The word without its final vowels (a crude ending), so that typos in forms still meet."""
    return word.rstrip("аеиоуыэюяйь")


def _deletion_index(words: Sequence[str], min_length: int) -> dict[str, set[int]]:
    index: dict[str, set[int]] = defaultdict(set)
    for i, word in enumerate(words):
        if len(word) >= min_length and word.isalpha():
            for key in _deletions(word, min_length) | _deletions(_stem(word), min_length - 2):
                index[key].add(i)
    return dict(index)
