"""Style: words in capitals, «!!!» and «??», colloquialisms from ``style.toml``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from buhdesk.textcheck.findings import Finding, make, quote
from buhdesk.textcheck.lexicon import Lexicon
from buhdesk.textcheck.rules import Colloquialism, Phrase, Settings
from buhdesk.textcheck.sentences import Grammar, Tok
from buhdesk.textcheck.tokens import Word, inside, is_cyrillic

_MARKS = re.compile(r"!{2,}|\?{2,}|[!?]{3,}")
_EDGE_BEFORE = re.compile(r"(?:^|[.!?,;:—–(\n])[ \t]*$")
_EDGE_AFTER = re.compile(r"^[ \t]*(?:[.!?,;:…)\n]|$)")
_PREVIOUS = re.compile(r"([^\W_]+)[ \t\u00a0]+$")


def check(text: str, words: Iterable[Word], spans: list[tuple[int, int]], lexicon: Lexicon,
          colloquial: re.Pattern[str], rules: dict[str, Colloquialism]) -> list[Finding]:
    """All style findings in ``text``."""
    found = list(_colloquialisms(text, spans, lexicon, colloquial, rules))
    taken = {(f.start, f.end) for f in found}
    found += [f for f in _caps(text, words, lexicon) if (f.start, f.end) not in taken]
    found += _marks(text)
    return found


def compile_colloquialisms(rules: Iterable[Colloquialism]) -> tuple[re.Pattern[str],
                                                                     dict[str, Colloquialism]]:
    """One regex for all colloquial forms, and the rule behind each form."""
    by_word = {word: rule for rule in rules for word in rule.words}
    alternatives = "|".join(re.escape(w) for w in sorted(by_word, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w/-])(?:{alternatives or '(?!)'})(?![\w/-])", re.IGNORECASE)
    return pattern, by_word


def _colloquialisms(text: str, spans: list[tuple[int, int]], lexicon: Lexicon,
                    pattern: re.Pattern[str], rules: dict[str, Colloquialism]) -> Iterator[Finding]:
    for m in pattern.finditer(text):
        rule = rules[m.group().lower()]
        if inside(m.start(), spans) or not _applies(text, m, rule, lexicon):
            continue
        options = (rule.replacement,) if rule.replacement else ()
        yield make("style", text, m.start(), m.end(), rule.message, options)


def _applies(text: str, m: re.Match[str], rule: Colloquialism, lexicon: Lexicon) -> bool:
    if rule.context == "clause_edge" and not (
        _EDGE_BEFORE.search(text, 0, m.start()) or _EDGE_AFTER.match(text[m.end():m.end() + 40])
    ):
        return False
    if not rule.skip_after:
        return True
    previous = _PREVIOUS.search(text, 0, m.start())
    if previous is None:
        return True
    word = previous.group(1)
    if word.isdigit():
        return not any("NUMR" in skip for skip in rule.skip_after)
    grammemes = lexicon.morph.parse(word)[0].tag.grammemes
    return not any(skip <= grammemes for skip in rule.skip_after)


def _caps(text: str, words: Iterable[Word], lexicon: Lexicon) -> Iterator[Finding]:
    for word in words:
        if not word.is_caps or word.has_digit or not is_cyrillic(word.text):
            continue
        if lexicon.is_term(word.text) or not lexicon.is_plain_known(word.text.lower()):
            continue
        if _quoted_code(text, word) or lexicon.is_abbreviation(word.text):
            continue
        yield make("style", text, word.start, word.end,
                   f"Слово набрано заглавными буквами: {quote(word.text)} — "
                   "в деловом письме так не выделяют", (word.text.lower(),))


def _quoted_code(text: str, word: Word) -> bool:
    """A code in quotes, like «ОТ» or «Б» in a time sheet, is not shouting."""
    before = text[word.start - 1] if word.start > 0 else ""
    after = text[word.end] if word.end < len(text) else ""
    return bool(before and after) and before in "«\"„" and after in "»\"“"


def _marks(text: str) -> list[Finding]:
    return [make("style", text, m.start(), m.end(),
                 f"Несколько знаков подряд: {quote(m.group())} — в деловом письме "
                 "достаточно одного",
                 (m.group()[0],)) for m in _MARKS.finditer(text)]


# ---------------------------------------------------------------- clarity (order 76, §2.5)


def compile_phrases(phrases: Iterable[Phrase]) -> tuple[re.Pattern[str], list[Phrase]]:
    """One regex for all phrase patterns (longest first); group ``p<i>`` names phrase i."""
    alternatives = []
    ordered = sorted(phrases, key=lambda p: -sum(len(a) for a in p.pattern[0]) - 100 *
                     len(p.pattern))
    for i, phrase in enumerate(ordered):
        slots = [ "(?:" + "|".join(_slot(a) for a in slot) + ")" for slot in phrase.pattern]
        alternatives.append(f"(?P<p{i}>" + r"[ \t\u00a0]+".join(slots) + ")")
    body = "|".join(alternatives) or "(?!)"
    # the first letters up front let the engine skip most positions at once
    first = "".join(sorted({re.escape(a[0]) for p in ordered for a in p.pattern[0]})) or "^\\W\\w"
    return re.compile(rf"(?=[{first}])(?<![\w-])(?:{body})(?![\w-])"), ordered


def _slot(alternative: str) -> str:
    word = re.escape(alternative.rstrip("*").replace("ё", "е"))
    return word + (r"[^\W\d_]*" if alternative.endswith("*") else "")


def phrase_findings(text: str, spans: list[tuple[int, int]], pattern: re.Pattern[str],
                    phrases: list[Phrase], default_blocking: bool) -> Iterator[Finding]:
    folded = text.lower().replace("ё", "е")  # the pattern is lower case, ё as е
    if len(folded) != len(text):  # a letter whose lower case is longer: keep offsets right
        folded = "".join(ch.lower()[:1] for ch in text).replace("ё", "е")
    for m in pattern.finditer(folded):
        if inside(m.start(), spans):
            continue
        if m.lastgroup is None:
            raise ValueError(f"phrase pattern without a named group: {pattern.pattern[:80]!r}")
        phrase = phrases[int(m.lastgroup[1:])]
        blocking = phrase.blocking if phrase.blocking is not None else (
            default_blocking if phrase.kind == "style" else True)
        found = text[m.start():m.end()]
        options = (_match_case(found, phrase.replacement),) if phrase.replacement else ("",)
        yield replace(make(phrase.kind, text, m.start(), m.end(), phrase.message, options),
                      blocking=blocking)


def _match_case(found: str, replacement: str) -> str:
    return replacement[:1].upper() + replacement[1:] if found[:1].isupper() else replacement


def clarity(text: str, sentences: Iterable[list[Tok]], grammar: Grammar, settings: Settings,
            ) -> Iterator[Finding]:
    """Overlong sentences, strings of nouns, chains of passive forms (advice by default)."""
    for sentence in sentences:
        words = [t for t in sentence if t.word]
        if not words:
            continue
        start, end = sentence[0].start, sentence[-1].end
        longest = _longest_part(sentence)  # a list after «:» or «;» reads part by part
        if settings.sentence_max_words and longest > settings.sentence_max_words:
            yield _advice(text, start, end, settings,
                          f"Предложение из {len(words)} слов трудно читать: разделите его на "
                          f"несколько (не больше {settings.sentence_max_words} слов)")
            continue
        chain = _noun_chain(sentence, grammar, settings.noun_chain)
        if chain is not None:
            yield _advice(text, chain[0], chain[1], settings,
                          "Цепочка существительных трудна для восприятия: перестройте фразу "
                          "с глаголом («о выплате компенсации…» → «выплатим компенсацию…»)")
            continue
        passives = _passive_clauses(sentence, grammar)
        if settings.passive_chain and len(passives) >= settings.passive_chain:
            yield _advice(text, passives[0].start, passives[-1].end, settings,
                          "Цепочка страдательных оборотов в одном предложении: напишите, "
                          "кто что сделал («мы проверили…», «перечислим…»)")


_SHORT_PARTICIPLE = re.compile(r"(?:[аяеёи]н|[яыуои]т|[еио]м)[аоы]?$")
_CLAUSE_WORDS = frozenset({"что", "чтобы", "если", "когда", "как", "который", "которая",
                           "которое", "которые", "которого", "которой", "которых", "поскольку",
                           "пока", "после", "хотя", "где"})


def _passive_clauses(sentence: list[Tok], grammar: Grammar) -> list[Tok]:
    """The first short passive participle of each clause that has one («будет произведена после
    того, как будет получено…»); homogeneous «проверен, подписан и направлен» is one clause."""
    found: list[Tok] = []
    counted = False
    for tok in sentence:
        if tok.word and tok.low in _CLAUSE_WORDS:
            counted = False
        elif tok.word and not counted and _SHORT_PARTICIPLE.search(tok.low) \
                and grammar(tok.text).pos == "PRTS" \
                and not tok.low.startswith(("обязан", "вынужден")):
            found.append(tok)
            counted = True
    return found


_CHAIN_BREAKERS = frozenset({"и", "или", "а", "но", "не", "что", "чтобы", "как", "если", "когда",
                             "мы", "вы", "он", "она", "они", "это"})
_PREPOSITIONS = frozenset({"в", "во", "на", "о", "об", "обо", "по", "за", "для", "с", "со", "к",
                           "ко", "из", "от", "до", "у", "при", "без", "через", "под", "над",
                           "между", "про", "после", "перед"})


def _longest_part(sentence: list[Tok]) -> int:
    longest = count = 0
    for tok in sentence:
        if tok.text in (";", ":"):
            count = 0
        elif tok.word:
            count += 1
            longest = max(longest, count)
    return longest


def _advice(text: str, start: int, end: int, settings: Settings, message: str) -> Finding:
    return replace(make("style", text, start, end, message), blocking=settings.style_blocking)


_NOT_IN_CHAIN = frozenset({"VERB", "INFN", "PRTF", "PRTS", "GRND", "ADJS", "PRED", "CONJ",
                           "NPRO", "ADVB"})


def _noun_chain(sentence: list[Tok], grammar: Grammar, limit: int) -> tuple[int, int] | None:
    """The first stretch between marks and conjunctions holding ``limit`` nouns and no verb."""
    if not limit:
        return None
    for stretch in _stretches(sentence, limit):
        first = last = -1
        nouns = 0
        for tok in stretch:
            info = grammar(tok.text) if not tok.text[0].isdigit() else None
            if info is None or info.pos in _NOT_IN_CHAIN or tok.quoted:
                if nouns >= limit:
                    return first, last
                first, nouns = -1, 0
                continue
            if info.pos == "NOUN":
                nouns += 1
                first = tok.start if first < 0 else first
                last = tok.end
        if nouns >= limit:
            return first, last
    return None


def _stretches(sentence: list[Tok], limit: int) -> Iterator[list[Tok]]:
    """Runs of words between marks and conjunctions with at least ``limit`` words that are not
    prepositions (a cheap test before any dictionary look-up)."""
    run: list[Tok] = []
    for tok in [*sentence, None]:
        if tok is None or not tok.word or tok.low in _CHAIN_BREAKERS:
            if sum(t.low not in _PREPOSITIONS for t in run) >= limit:
                yield run
            run = []
        else:
            run.append(tok)
