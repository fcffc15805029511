"""Word-form search over the knowledge base: every word is reduced to its normal forms
(:mod:`buhdesk.lemmas`), so «справку», «справки» and «справка» all find the same article.

An article's words weigh by where they stand: title and keywords most, the body less (with
diminishing returns for repeats). A query scores each article by the rarer words it shares.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from buhdesk.kb_article import Article
from buhdesk.kb_markdown import to_text
from buhdesk.lemmas import Lemmatizer, Token

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
    """Forms → weight per article, built once when the knowledge base loads."""

    def __init__(self, articles: Sequence[Article], lemmatizer: Lemmatizer) -> None:
        self._lemmatizer = lemmatizer
        self._articles = list(articles)
        self._weights = [self._weigh(a) for a in self._articles]
        self._keywords = [[self._forms_of(k) for k in a.keywords] for a in self._articles]
        df: dict[str, int] = defaultdict(int)
        for weights in self._weights:
            for form in weights:
                df[form] += 1
        n = max(len(self._articles), 1)
        self._idf = {form: math.log(1 + n / count) for form, count in df.items()}

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
        results = []
        for article, weights, keywords in zip(self._articles, self._weights, self._keywords):
            score, words = self._score(tokens, weights)
            whole = tuple(k for k, forms in zip(article.keywords, keywords)
                          if forms and all(f & query_forms for f in forms))
            score += KEYWORD_WEIGHT * len(whole)
            if score > 0:
                results.append((article, Match(round(score, 3), words, whole)))
        results.sort(key=lambda r: (-r[1].score, r[0].title))
        return results

    def _score(self, tokens: Iterable[Token], weights: dict[str, float]) -> tuple[float, tuple[str, ...]]:
        score, words, seen = 0.0, [], set()
        for token in tokens:
            best = max(((weights[f] * self._idf.get(f, 0.0), f) for f in token.forms
                        if f in weights), default=None)
            if best is None or best[1] in seen:
                continue
            seen.add(best[1])
            score += best[0]
            words.append(token.text)
        return score, tuple(words)
