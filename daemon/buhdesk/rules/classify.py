"""Decide a request's process and need from its letter, by weighted term rules, and say why.

Rules come from ``rules/classify.toml`` (validated by :mod:`buhdesk.rules.ruleset`). Text is
cut to the sender's own words (:mod:`buhdesk.route.quoting`), split into lemmas
(:mod:`buhdesk.rules.lemmas`) and each rule scores the terms it finds; the best process and
need win, below a threshold the request is left unsorted. Every hit is kept so that the
decision can be explained.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from buhdesk.route.quoting import split_quoted
from buhdesk.rules.classify_model import UNSORTED, Model, ModelDecision, features
from buhdesk.rules.lemmas import Lemmatizer, Token, normalize
from buhdesk.rules.memo import SizedCache

PROCESSES = (
    "payroll", "travel", "timesheet", "reporting", "facts", "info_on_demand",
    "external_reporting",
)
NEEDS = (
    "information", "consultation", "forms", "submission", "status", "result", "inspection",
    "feedback", "other",
)
ZONES = ("subject", "body", "forwarded")  # the parts of a letter, in the order _zones makes them
_MAX_GAP = 2
_MAX_REPEATS = 2
_RULE_FEATURE_CAP = 10.0  # a rule total above this tells the model nothing more
_RULE_FEATURE_SCALE = 5.0
_WORD_SHARE = 0.2  # of the process's cache budget ([service] cache_mb), for words' rule ids


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
    model: ModelDecision | None = None  # the model's decision, when a model is loaded

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for the audit trail and ``explain --json``."""
        result: dict[str, object] = {
            "process": self.process, "need": self.need, "process_score": self.process_score,
            "need_score": self.need_score,
            "hits": [{"rule": h.rule, "terms": list(h.terms), "score": h.score} for h in self.hits],
            "unsorted": self.unsorted,
        }
        if self.model is not None:
            result["model"] = self.model.to_dict()
        return result


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
    # the model's "not an accounting matter" must be this sure to overrule a process the rules
    # found above process_threshold
    model_unsorted_confidence: float = 0.6


@dataclass(frozen=True)
class _Zone:
    name: str  # "subject" | "body" | "forwarded"
    text: str
    positions: tuple[frozenset[int], ...]
    weight: float
    starts: dict[int, list[int]]  # word id -> positions where it occurs


class Classifier:
    """Scores a letter against compiled rules; build once per rule set, then call classify()."""

    def __init__(self, rules: Sequence[Rule], settings: Settings, lemmatizer: Lemmatizer,
                 model: Model | None = None) -> None:
        self.rules = tuple(rules)
        self.model = model
        # rules edited since the model was trained override it until `buhdesk learn` is run
        self.changed_rules = frozenset(
            r.name for r in self.rules
            if model is not None and model.rule_prints.get(r.name) != rule_print(r))
        self.settings = settings
        self._lemmatizer = lemmatizer
        words = sorted({w for r in self.rules for t in (*r.terms, *r.unless) for w in t.words})
        self._vocab = {w: i for i, w in enumerate(words)}
        self._fuzzy = _deletion_index(words, settings.fuzzy_min_length)
        self._word_ids_by_text: SizedCache[str, frozenset[int]] = SizedCache(_WORD_SHARE)
        self._plans = tuple(_RulePlan.of(r, self._vocab) for r in self.rules)
        # first word of a term -> (rule, term) by position, so a letter visits only its terms
        self._by_first: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for at, plan in enumerate(self._plans):
            for index, ids in enumerate(plan.terms):
                self._by_first[ids[0]].append((at, index))
        self._kinds = {r.name: (r.kind, r.code) for r in self.rules}

    @property
    def lemmatizer(self) -> Lemmatizer:
        """The (cached) lemmatizer, shared with the knowledge base search."""
        return self._lemmatizer

    def classify(self, letter: Letter) -> Classification:
        hits = self._hits(letter)
        process, p_score = _best(hits, self._kinds, "process")
        need, n_score = _best(hits, self._kinds, "need")
        unsorted = process is None or p_score < self.settings.process_threshold
        if need is None or n_score < self.settings.need_threshold:
            need = self.settings.fallback_need
        decision = None
        if self.model is not None:
            decision = self.model.decide(self._features(letter, hits))
            edited = {self._kinds[h.rule][0] for h in hits if h.rule in self.changed_rules}
            if "need" not in edited:
                need = decision.need
            if "process" not in edited or unsorted:  # an edited rule above threshold decides
                process, unsorted = self._model_process(decision, unsorted, process)
        return Classification(
            process=None if unsorted else process,
            need=need,
            process_score=round(p_score, 3),
            need_score=round(n_score, 3),
            hits=tuple(sorted(hits, key=lambda h: -h.score)),
            unsorted=unsorted,
            model=decision,
        )

    def _model_process(self, decision: ModelDecision, rules_unsorted: bool,
                       rules_process: str | None) -> tuple[str | None, bool]:
        """The model's process; its "not ours" overrules a rules' process only when sure."""
        if decision.process != UNSORTED:
            return decision.process, False
        if rules_unsorted or (decision.process_probability
                              >= self.settings.model_unsorted_confidence):
            return None, True
        return rules_process, False

    def features(self, letter: Letter) -> dict[str, float]:
        """What the model reads: the letter's words and the rules' totals per code."""
        return self._features(letter, self._hits(letter))

    def _features(self, letter: Letter, hits: list[RuleHit]) -> dict[str, float]:
        feats = features(self._lemmatizer, letter.subject, letter.body)
        for kind in ("process", "need"):
            for code, total in _totals(hits, self._kinds, kind).items():
                feats[f"rule:{kind}:{code}"] = min(total, _RULE_FEATURE_CAP) / _RULE_FEATURE_SCALE
        return feats

    def _hits(self, letter: Letter) -> list[RuleHit]:
        zones = self._zones(letter)
        present = set().union(*(z.starts for z in zones))
        candidates: dict[int, list[int]] = defaultdict(list)
        for word in present:
            for at, index in self._by_first.get(word, ()):
                candidates[at].append(index)
        hits = []
        for at, plan in enumerate(self._plans):
            terms = candidates.get(at)
            if terms is None and plan.needs_terms:
                continue  # nothing the rule looks for is in the letter
            hit = self._score(plan, zones, letter.sender, terms or [])
            if hit:
                hits.append(hit)
        return hits

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

    def _word_ids(self, token: Token) -> frozenset[int]:
        """Rule words a token can stand for; a token's text decides its forms, so it is the key."""
        found = self._word_ids_by_text.get(token.text, None)
        if found is None:
            found = self._word_ids_uncached(token)
            self._word_ids_by_text.put(token.text, found)
        return found

    def _word_ids_uncached(self, token: Token) -> frozenset[int]:
        found = {self._vocab[f] for f in token.forms if f in self._vocab}
        if not found and not token.known:
            for form in {f for f in token.forms} | {_stem(f) for f in token.forms}:
                for key in _deletions(form, self.settings.fuzzy_min_length - 2):
                    found.update(self._fuzzy.get(key, ()))
        return frozenset(found)

    def _score(
        self, plan: _RulePlan, zones: tuple[_Zone, ...], sender: str, terms: list[int]
    ) -> RuleHit | None:
        rule = plan.rule
        if plan.senders and not _sender_matches(sender, plan.senders):
            return None
        active = [zones[i] for i in plan.zones]
        if plan.unless and any(_count(ids, z) for ids in plan.unless for z in active):
            return None
        if not rule.terms and not rule.patterns:
            return RuleHit(rule.name, (f"отправитель {sender}",), rule.weight)
        if not terms and not rule.patterns:
            return None
        found, score = self._term_score(plan, sorted(terms), active)
        for pattern in rule.patterns:
            weights = [z.weight for z in active if pattern.search(z.text)]
            if weights:
                found.append(f"/{pattern.pattern}/")
                score += rule.weight * max(weights)
        return RuleHit(rule.name, tuple(found), round(score, 3)) if score > 0 else None

    def _term_score(
        self, plan: _RulePlan, terms: list[int], zones: list[_Zone]
    ) -> tuple[list[str], float]:
        """Score the rule's terms found in the letter (``terms``: their places in the rule)."""
        rule = plan.rule
        found: list[str] = []
        score = 0.0
        for index in terms:
            ids = plan.terms[index]
            total, best_weight = 0, None
            for zone in zones:
                count = _count(ids, zone)
                if count:
                    total += count
                    if best_weight is None or zone.weight > best_weight:
                        best_weight = zone.weight  # the first of equal weights, as max() does
            if best_weight is not None:
                repeats = min(total - 1, _MAX_REPEATS)
                score += rule.weight * best_weight * (1 + self.settings.repeat_bonus * repeats)
                found.append(rule.terms[index].text)
        return found, score


def rule_print(rule: Rule) -> str:
    """A short fingerprint of what a rule looks for and what it decides."""
    return hashlib.sha256(repr(rule).encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class _RulePlan:
    """What scoring a rule needs that does not depend on the letter, worked out once."""

    rule: Rule
    terms: tuple[tuple[int, ...], ...]  # word ids of each term, in the rule's order
    unless: tuple[tuple[int, ...], ...]
    senders: tuple[str, ...]  # normalised
    needs_terms: bool  # only a term of the rule found in the letter can make it hit
    zones: tuple[int, ...]  # which of the letter's zones the rule looks at

    @classmethod
    def of(cls, rule: Rule, vocab: dict[str, int]) -> _RulePlan:
        def ids(terms: tuple[Term, ...]) -> tuple[tuple[int, ...], ...]:
            return tuple(tuple(vocab[w] for w in t.words) for t in terms)

        return cls(rule, ids(rule.terms), ids(rule.unless),
                   tuple(normalize(p) for p in rule.senders),
                   bool(rule.terms) and not rule.patterns,
                   tuple(i for i, z in enumerate(ZONES) if _zone_allowed(rule.where, z)))


def _count(ids: tuple[int, ...], zone: _Zone) -> int:
    """How often a term (its word ids) occurs in a zone."""
    first = zone.starts.get(ids[0])
    if not first:
        return 0
    if len(ids) == 1:
        return len(first)
    rest, positions = ids[1:], zone.positions
    count = 0
    for at in first:
        if _follows(positions, at, rest):
            count += 1
    return count


def _follows(positions: tuple[frozenset[int], ...], at: int, rest: tuple[int, ...]) -> bool:
    """Each word of ``rest`` comes after the previous one with at most ``_MAX_GAP`` between."""
    end = len(positions)
    for word in rest:
        for step in range(at + 1, min(at + 2 + _MAX_GAP, end)):
            if word in positions[step]:
                at = step
                break
        else:
            return False
    return True


def _totals(
    hits: list[RuleHit], kinds: dict[str, tuple[str, str]], kind: str
) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for hit in hits:
        rule_kind, code = kinds[hit.rule]
        if rule_kind == kind:
            totals[code] += hit.score
    return totals


def _best(
    hits: list[RuleHit], kinds: dict[str, tuple[str, str]], kind: str
) -> tuple[str | None, float]:
    totals = _totals(hits, kinds, kind)
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
    """``patterns`` are normalised already."""
    address = normalize(sender).strip().strip("<>")
    domain = address.rpartition("@")[2]
    for p in patterns:
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
