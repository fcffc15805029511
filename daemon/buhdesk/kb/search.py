"""Word-form search over the knowledge base: every word is reduced to its normal forms
(:mod:`buhdesk.rules.lemmas`), so «справку», «справки» and «справка» all find the same article.

An article's words weigh by where they stand: title and keywords most, the body less (with
diminishing returns for repeats). A query scores each article by the rarer words it shares.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from buhdesk.kb.article import Article
from buhdesk.kb.markdown import to_text
from buhdesk.rules.lemmas import Lemmatizer, Token

TITLE_WEIGHT = 3.0
KEYWORD_WEIGHT = 3.0
BODY_WEIGHT = 1.0
_STOP_TEXT = """
а без бы в во вы да для до если же за и из или им их к как ко ли либо мне мой мы на над не нет ни
но о об обо от по под при про с со так также то тот у уже чем что чтобы это этот я ты он она они
оно мочь быть весь свой наш ваш который какой где когда прошу просить добрый день здравствуйте
спасибо пожалуйста уважаемый уважать подсказать сказать можно нужно надо хотеть очень
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True)
class Match:
    score: float
    words: tuple[str, ...]  # the query's words that matched, as written
    keywords: tuple[str, ...]  # the article's keywords the query contains whole


def _useful(token: Token) -> bool:
    low = token.text.lower()
    return len(low) > 1 and not (low.isdigit() and len(low) < 3) and not (
        token.forms & STOP_WORDS)


class SearchIndex:
    """Forms → weight per article, built once when the knowledge base loads, and inverted (form →
    the articles that have it) so that a query only visits the articles it shares words with."""

    def __init__(self, articles: Sequence[Article], lemmatizer: Lemmatizer) -> None:
        self._lemmatizer = lemmatizer
        self._articles = list(articles)
        weights = [self._weigh(a) for a in self._articles]
        self._keywords = [[self._forms_of(k) for k in a.keywords] for a in self._articles]
        df: dict[str, int] = defaultdict(int)
        for article_weights in weights:
            for form in article_weights:
                df[form] += 1
        n = max(len(self._articles), 1)
        idf = {form: math.log(1 + n / count) for form, count in df.items()}
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for at, article_weights in enumerate(weights):
            for form, weight in article_weights.items():
                self._postings[form].append((at, weight * idf[form]))

    def _forms_of(self, text: str) -> list[frozenset[str]]:
        return [t.forms for t in self._lemmatizer.tokens(text) if _useful(t)]

    def _weigh(self, article: Article) -> dict[str, float]:
        weights: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for forms in self._forms_of(to_text(article.body, base="")):
            for form in forms:
                counts[form] += 1
        for form, count in counts.items():
            weights[form] = BODY_WEIGHT * (1 + math.log(count))
        for field, weight in ((article.title, TITLE_WEIGHT),
                              (" ".join(article.keywords), KEYWORD_WEIGHT)):
            for forms in self._forms_of(field):
                for form in forms:
                    weights[form] = max(weights[form], weight + BODY_WEIGHT)
        return dict(weights)

    def match(self, text: str) -> list[tuple[Article, Match]]:
        """Articles sharing words with ``text``, best first."""
        tokens = [t for t in self._lemmatizer.tokens(text) if _useful(t)]
        query_forms = set().union(*(t.forms for t in tokens)) if tokens else set()
        scores: dict[int, _Tally] = {}
        best_of: dict[frozenset[str], dict[int, tuple[float, str]]] = {}
        for token in tokens:
            best = best_of.get(token.forms)
            if best is None:
                best = best_of[token.forms] = self._best_forms(token.forms)
            for at, (value, form) in best.items():
                tally = scores.get(at)
                if tally is None:
                    tally = scores[at] = _Tally()
                tally.add(value, form, token.text)
        results = []
        for at in sorted(scores):
            article, tally = self._articles[at], scores[at]
            whole = tuple(k for k, forms in zip(article.keywords, self._keywords[at], strict=True)
                          if forms and all(f & query_forms for f in forms))
            score = tally.score + KEYWORD_WEIGHT * len(whole)
            if score > 0:
                results.append((article, Match(round(score, 3), tuple(tally.words), whole)))
        results.sort(key=lambda r: (-r[1].score, r[0].title))
        return results

    def _best_forms(self, forms: frozenset[str]) -> dict[int, tuple[float, str]]:
        """Per article that has any of ``forms``: the heaviest of them (by weight, then form)."""
        best: dict[int, tuple[float, str]] = {}
        for form in forms:
            for at, value in self._postings.get(form, ()):
                candidate = (value, form)
                if at not in best or candidate > best[at]:
                    best[at] = candidate
        return best


class _Tally:
    """One article's score for a query: each of its forms counts once, for the first word that
    brings it."""

    __slots__ = ("score", "seen", "words")

    def __init__(self) -> None:
        self.score = 0.0
        self.words: list[str] = []
        self.seen: set[str] = set()

    def add(self, value: float, form: str, word: str) -> None:
        if form in self.seen:
            return
        self.seen.add(form)
        self.score += value
        self.words.append(word)
