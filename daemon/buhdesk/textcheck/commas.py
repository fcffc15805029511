"""Commas the way a proof-reader places them in business letters.

Every rule looks at one sentence (a token list) and reports only what it is sure of: a missing
comma before a subordinate clause, around an introductory word, around an address, before «а»,
«но», «однако» joining clauses, around participial and adverbial-participle phrases, and a comma
wrongly put between the subject and the predicate. A false alarm holds back a correct answer, so
each rule gives up whenever the sentence is not the plain case it knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from buhdesk.textcheck.findings import Finding, make, quote
from buhdesk.textcheck.sentences import Grammar, Info, Tok

RULES = ("subordinate", "introductory", "address", "conjunctions", "participles",
         "subject_predicate")

# subordinating conjunctions and relative words that open a clause after a comma
_SUBORDINATE = frozenset({"что", "чтобы", "если", "когда", "поскольку", "хотя", "где", "куда",
                          "откуда", "ибо", "будто", "словно", "который", "которая", "которое",
                          "которые", "которого", "которой", "которому", "которую", "которым",
                          "котором", "которых", "которыми", "почему", "зачем"})
# relative words whose clause often sits inside the sentence and needs a closing comma
_CLOSABLE = frozenset({"который", "которая", "которое", "которые", "которого", "которой",
                       "которому", "которую", "которым", "котором", "которых", "которыми"})
# indirect-question words: a clause only right after a verb («уточните, какой…»)
_INDIRECT = frozenset({"какой", "какая", "какое", "какие", "какого", "какую", "каким", "каком",
                       "каких", "сколько", "кому", "кого", "чем"})
# compound conjunctions: the comma goes before the first word or before the last one
_COMPOUNDS = tuple(tuple(c.split()) for c in (
    "потому что", "оттого что", "так как", "так что", "для того чтобы", "с тем чтобы",
    "после того как", "перед тем как", "до того как", "с тех пор как", "в то время как",
    "тем более что", "несмотря на то что", "в связи с тем что", "благодаря тому что",
    "вместо того чтобы", "так же как", "в случае если", "при условии что", "по мере того как",
    "в том случае если", "только если", "лишь если", "даже если", "особенно если",
    "только когда", "лишь когда", "даже когда", "особенно когда", "так чтобы", "как только",
    "в то время когда", "тогда как"))
_COORDINATING = frozenset({"и", "а", "но", "или", "либо", "да", "однако", "зато", "причем",
                           "ни", "не", "же", "ли", "бы", "именно", "даже", "лишь",
                           "только", "особенно", "также", "тоже", "чем", "как", "иначе"})
_NOT_CLAUSE_AFTER = {"что": {"иное", "угодно", "ли", "либо", "нибудь", "касается"},
                     "когда": {"угодно", "либо", "нибудь"}, "где": {"угодно", "либо", "нибудь"},
                     "куда": {"угодно", "либо", "нибудь"}, "хотя": {"бы"}}
# sentence-initial clauses that need a comma before the main clause
_OPENERS = tuple(tuple(c.split()) for c in (
    "если", "когда", "так как", "поскольку", "хотя", "чтобы", "после того как",
    "перед тем как", "до того как", "несмотря на то что", "в связи с тем что",
    "для того чтобы", "как только", "даже если", "в случае если"))
# introductory words and phrases; "start" ones only at the start of a sentence
_INTRODUCTORY = tuple(tuple(c.split()) for c in (
    "к сожалению", "к счастью", "например", "кроме того", "во-первых", "во-вторых",
    "в-третьих", "конечно", "конечно же", "безусловно", "разумеется", "кстати", "впрочем",
    "в частности", "в свою очередь", "по-видимому", "пожалуйста", "к примеру", "скорее всего",
    "как правило", "по нашему мнению", "на наш взгляд", "с одной стороны", "с другой стороны",
    "между прочим", "к тому же", "по-моему", "вероятно", "видимо", "таким образом",
    "следовательно"))
_INTRODUCTORY_AT_START = frozenset({("таким", "образом"), ("следовательно",)})
_JOINING = frozenset({"а", "но", "однако", "зато", "причем", "поэтому"})
_GREETING_BEFORE = frozenset({"день", "утро", "вечер", "здравствуйте", "спасибо"})
_ADDRESS_NEXT = frozenset({"мы", "вы", "вам", "вас", "вами", "ваш", "ваша", "ваше", "ваши",
                           "вашего", "вашей", "вашу", "благодарим", "спасибо", "прошу", "просим",
                           "сообщаем", "напоминаем", "направляем", "обращаем", "уведомляем"})
# participles that have become adjectives or nouns: no participial phrase
_LEXICAL_PARTICIPLES = ("следующ", "будущ", "настоящ", "бывш", "текущ", "ведущ", "действующ",
                        "заведующ", "управляющ", "исполняющ", "служащ", "трудящ", "учащ",
                        "отдыхающ", "подчиненн", "уполномоченн", "данн", "заинтересованн",
                        "образованн", "ограниченн", "определенн", "известн", "должн")
# adverbial participles used as prepositions or adverbs
_LEXICAL_GERUNDS = frozenset({"включая", "начиная", "исходя", "спустя", "благодаря", "погодя",
                              "несмотря", "невзирая", "смотря", "молча", "стоя", "сидя",
                              "лежа", "нехотя", "шутя", "не спеша"})
_PREDICATE_WORDS = frozenset({"нужно", "можно", "надо", "нельзя", "необходимо", "следует",
                              "должен", "должна", "должно", "должны", "нет"})
_SUBJECT_PRONOUNS = frozenset({"мы", "вы", "я", "он", "она", "оно", "они"})
_ADJECTIVE_ENDINGS = ("ий", "ый", "ой", "ая", "яя", "ое", "ее", "ые", "ие", "ого", "его", "ому",
                      "ему", "ую", "юю", "ым", "им", "ых", "их", "ыми", "ими", "ом", "ем", "ей")
# a participle ends like an adjective after -щ-, -ш-, -н-, -т- or -ем-/-им-/-ом-
_MAY_BE_PARTICIPLE = re.compile("(?:щ|ш|н|т|ем|им|ом)(?:" + "|".join(_ADJECTIVE_ENDINGS) + ")$")


def _may_be_participle(low: str) -> bool:
    return _MAY_BE_PARTICIPLE.search(low) is not None


_GERUND_ENDINGS = ("ая", "яя", "уя", "юя", "ея", "оя", "дя", "ся", "тя", "ря", "зя", "ив", "ыв",
                   "ав", "ев", "яв", "ув", "вши", "вшись", "ши", "шись", "ясь", "ась", "учи",
                   "ючи", "жа", "ча", "ша", "ща")
_BE = frozenset({"будет", "будут", "был", "была", "было", "были", "буду", "будем", "будете"})


def _by_first(phrases: tuple[tuple[str, ...], ...]) -> dict[str, list[tuple[str, ...]]]:
    """Phrases by their first word, longest first."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in sorted(phrases, key=len, reverse=True):
        index.setdefault(phrase[0], []).append(phrase)
    return index


_COMPOUNDS_BY_LAST: dict[str, list[tuple[str, ...]]] = {}
for _c in sorted(_COMPOUNDS, key=len, reverse=True):
    _COMPOUNDS_BY_LAST.setdefault(_c[-1], []).append(_c)
_OPENERS_BY_FIRST = _by_first(_OPENERS)
_INTRODUCTORY_BY_FIRST = _by_first(_INTRODUCTORY)
_TRIGGERS = _SUBORDINATE | _INDIRECT | frozenset(_COMPOUNDS_BY_LAST)


@dataclass(frozen=True)
class Context:
    text: str
    grammar: Grammar
    rules: frozenset[str]


def check(text: str, sentences: Sequence[list[Tok]], grammar: Grammar,
          rules: frozenset[str] = frozenset(RULES)) -> list[Finding]:
    """Comma findings over all sentences, one per place."""
    ctx = Context(text, grammar, rules)
    checks: tuple[tuple[str, Callable[[Context, list[Tok]], Iterator[Finding]]], ...] = (
        ("subordinate", _subordinate), ("subordinate", _opening_clause),
        ("subordinate", _closing),
        ("introductory", _introductory), ("address", _address), ("conjunctions", _joining),
        ("participles", _participle_after_noun), ("participles", _gerund),
        ("subject_predicate", _subject_predicate))
    found: list[Finding] = []
    for sentence in sentences:
        if not any(t.word for t in sentence):
            continue
        for name, rule in checks:
            if name in rules:
                found += [f for f in rule(ctx, sentence)
                          if not any(f.start < g.end and g.start < f.end for g in found)]
    return found


# ---------------------------------------------------------------- helpers


def _prev_word(sentence: list[Tok], i: int) -> Tok | None:
    """The token before i when it is a word (a mark or the sentence start give None)."""
    return sentence[i - 1] if i > 0 and sentence[i - 1].word else None


def _matches(sentence: list[Tok], i: int, phrase: tuple[str, ...]) -> bool:
    if i < 0 or i + len(phrase) > len(sentence):
        return False
    return all(sentence[i + k].word and sentence[i + k].low == w for k, w in enumerate(phrase))


def _missing_before(ctx: Context, sentence: list[Tok], i: int, message: str) -> Finding:
    """A finding for a comma missing before token i (span: the word before and token i)."""
    left, right = sentence[i - 1], sentence[i]
    fixed = f"{left.text}, {ctx.text[right.start:right.end]}"
    return make("punctuation", ctx.text, left.start, right.end, message, (fixed,))


def _is_predicate(info: Info, word: Tok, *, infinitive: bool) -> bool:
    if word.low in _PREDICATE_WORDS:
        return True
    pos = info.pos
    if pos == "VERB":
        return info.first("indc") or info.first("impr")
    if pos == "INFN":
        return infinitive
    return pos in ("PRTS", "ADJS", "PRED")


def _subject_start(ctx: Context, sentence: list[Tok], j: int, low: int) -> int:
    """Index where the main clause whose predicate is token j begins: before a subject pronoun,
    or an agreeing nominative noun with its adjectives (a prepositional group between the subject
    and the predicate is stepped over), and before «не»."""
    k = j
    if k - 1 > low and sentence[k - 1].low in ("не", "бы"):
        k -= 1
    if k - 1 > low and sentence[k - 1].low in _SUBJECT_PRONOUNS:
        return k - 1
    verb = ctx.grammar(sentence[j].text)
    direct = k - 1
    if direct - 1 > low and ctx.grammar(sentence[direct - 1].text).pos == "PREP":
        direct = -1  # «за май»: a noun after a preposition is no subject
    for cand in (direct, _before_group(ctx, sentence, k - 1, low)):
        if cand > low and _agrees_as_subject(ctx.grammar(sentence[cand].text), verb):
            while cand - 1 > low and ctx.grammar(sentence[cand - 1].text).has("ADJF", "nomn"):
                cand -= 1
            return cand
    return k


def _before_group(ctx: Context, sentence: list[Tok], i: int, low: int) -> int:
    """The index before a prepositional group ending at token i («за май»), or -1."""
    m = i
    while m > low and (sentence[m].text[0].isdigit()
                       or ctx.grammar(sentence[m].text).pos in ("NOUN", "ADJF", "NUMR")):
        m -= 1
    if m < i and m > low and ctx.grammar(sentence[m].text).pos == "PREP":
        return m - 1
    return -1


def _agrees_as_subject(noun: Info, verb: Info) -> bool:
    for pos, gs in noun.readings:
        if pos != "NOUN" or "nomn" not in gs:
            continue
        for vpos, vgs in verb.readings:
            if vpos not in ("VERB", "PRTS", "ADJS") or "1per" in vgs or "2per" in vgs:
                continue
            number = "plur" if "plur" in gs else "sing"
            if number not in vgs:
                continue
            genders = {"masc", "femn", "neut"} & vgs
            if number == "sing" and genders and not genders & gs and "ms-f" not in gs:
                continue
            return True
    return False


# ---------------------------------------------------------------- subordinate clauses


def _subordinate(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    for i, tok in enumerate(sentence):
        if not tok.word or tok.quoted or tok.text[0].isupper() and i > 0:
            continue
        low = tok.low
        if low not in _TRIGGERS:
            continue
        indirect = low in _INDIRECT
        if low not in _SUBORDINATE and not indirect and not _ends_compound(sentence, i):
            continue
        after = sentence[i + 1].low if i + 1 < len(sentence) else ""
        if after in _NOT_CLAUSE_AFTER.get(low, ()) or after == "-":
            continue
        start = _clause_start(ctx, sentence, i)
        if start is None:
            continue
        if indirect and not _verb_before(ctx, sentence, start):
            continue
        prev = _prev_word(sentence, start)
        if prev is None or prev.low in _COORDINATING:
            continue
        opener = " ".join(t.text for t in sentence[start:i + 1])
        yield _missing_before(ctx, sentence, start,
                              f"Перед придаточной частью с {quote(opener.lower())} "
                              "ставится запятая")


def _closing(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    """«Отчёт, который вы направили 12 марта[,] принят», «Работник, получивший аванс[,]
    отчитывается»: a clause or phrase inside the sentence ends with a comma too."""
    for i, tok in enumerate(sentence):
        if i < 2 or tok.quoted or sentence[i - 1].text != ",":
            continue
        if tok.low in _CLOSABLE:
            yield from _main_clause_comma(
                ctx, sentence, i + 1, infinitive=True, subject_search=False,
                why=f"Придаточная часть с {quote(tok.low)} выделяется запятыми с обеих сторон")
            return
        head = sentence[i - 2]
        if head.word and _may_be_participle(tok.low) and not tok.low.startswith(
                _LEXICAL_PARTICIPLES) and ctx.grammar(tok.text).has("PRTF") \
                and ctx.grammar(head.text).pos == "NOUN" \
                and _agree(ctx.grammar(head.text), ctx.grammar(tok.text)) \
                and not _noun_follows(ctx, sentence, i + 1, ctx.grammar(tok.text)):
            yield from _main_clause_comma(
                ctx, sentence, i + 1, infinitive=False, subject_search=False,
                why="Причастный оборот после определяемого слова выделяется запятыми "
                    "с обеих сторон")
            return


def _ends_compound(sentence: list[Tok], i: int) -> bool:
    return any(_matches(sentence, i - len(c) + 1, c)
               for c in _COMPOUNDS_BY_LAST.get(sentence[i].low, ()))


def _clause_start(ctx: Context, sentence: list[Tok], i: int) -> int | None:
    """Where the comma belongs: before a compound conjunction, a preposition governing the
    relative word, or «часть которых»; None when a compound is split by a comma already."""
    for compound in _COMPOUNDS_BY_LAST.get(sentence[i].low, ()):
        start = i - len(compound) + 1
        if _matches(sentence, start, compound):
            return start
        if len(compound) > 1 and sentence[i].low == compound[-1] and i >= len(compound) \
                and sentence[i - 1].text == "," \
                and _matches(sentence, i - len(compound), compound[:-1]):
            return None  # «потому, что»
    start = i
    if sentence[i].low.startswith("котор") and sentence[i].low in ("которого", "которой",
                                                                     "которых") \
            and start > 0 and sentence[start - 1].word \
            and ctx.grammar(sentence[start - 1].text).pos == "NOUN":
        start -= 1
    while start > 0 and sentence[start - 1].word and ctx.grammar(sentence[start - 1].text).pos \
            == "PREP" and sentence[start - 1].low not in ("чем",):
        start -= 1
    return start


def _verb_before(ctx: Context, sentence: list[Tok], i: int) -> bool:
    prev = _prev_word(sentence, i)
    return prev is not None and ctx.grammar(prev.text).pos in ("VERB", "INFN")


def _opening_clause(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    """«Если приказ подпишут до 15-го числа[,] доплата войдёт…»."""
    if sentence[-1].text == "?" or not sentence[0].word:
        return
    opener = next((o for o in _OPENERS_BY_FIRST.get(sentence[0].low, ())
                   if _matches(sentence, 0, o)), None)
    if opener is None:
        return
    if sentence[0].low == "хотя" and len(sentence) > 1 and sentence[1].low == "бы":
        return
    yield from _main_clause_comma(ctx, sentence, len(opener), infinitive=True,
                                  why=f"Придаточная часть с {quote(' '.join(opener))} "
                                      "отделяется запятой от главной")


def _main_clause_comma(ctx: Context, sentence: list[Tok], first: int, *, infinitive: bool,
                       why: str, subject_search: bool = True) -> Iterator[Finding]:
    """The comma before the main clause after an opening clause or phrase that has none."""
    seen_predicate = not infinitive  # a gerund phrase has its predicate in the gerund
    coordinated = False
    absorb_after_be = False
    for j in range(first, len(sentence)):
        tok = sentence[j]
        if not tok.word:
            return  # a mark already divides the sentence: not our plain case
        if tok.low in ("и", "или", "либо"):
            coordinated = True
            continue
        info = ctx.grammar(tok.text)
        if not seen_predicate:
            if _is_predicate(info, tok, infinitive=True):
                seen_predicate = True
                absorb_after_be = tok.low in _BE or tok.low in _PREDICATE_WORDS
            continue
        if absorb_after_be and (info.pos in ("PRTS", "INFN", "ADJS") or tok.low in _BE):
            # «должна быть подписана», «нужно будет сдать»: one predicate
            absorb_after_be = info.pos == "INFN" or tok.low in _BE
            continue
        absorb_after_be = False
        subject = tok.low in _SUBJECT_PRONOUNS and j > first
        if not subject and not _is_predicate(info, tok, infinitive=False):
            continue
        if coordinated:
            coordinated = False
            continue
        if subject or not subject_search:
            k = j - 1 if not subject and sentence[j - 1].low == "не" and j - 1 > first else j
        else:
            k = _subject_start(ctx, sentence, j, first)
        if k <= first:
            return
        yield _missing_before(ctx, sentence, k, why)
        return


# ---------------------------------------------------------------- introductory words


def _introductory(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    i = 0
    while i < len(sentence):
        phrase = next((p for p in _INTRODUCTORY_BY_FIRST.get(sentence[i].low, ())
                       if _matches(sentence, i, p)), None)
        if phrase is None or sentence[i].quoted:
            i += 1
            continue
        end = i + len(phrase)
        if phrase in _INTRODUCTORY_AT_START and i > 0:
            i = end
            continue
        finding = _introductory_commas(ctx, sentence, i, end, phrase)
        if finding is not None:
            yield finding
        i = end


def _introductory_commas(ctx: Context, sentence: list[Tok], i: int, end: int,
                         phrase: tuple[str, ...]) -> Finding | None:
    nxt = sentence[end] if end < len(sentence) else None
    if phrase == ("кроме", "того") and nxt is not None and nxt.word and (
            nxt.low in ("что", "как") or ctx.grammar(nxt.text).has("NOUN", "gent")
            or ctx.grammar(nxt.text).has("ADJF", "gent")):
        return None
    if phrase == ("таким", "образом") and nxt is not None and nxt.word and \
            ctx.grammar(nxt.text).pos in ("VERB", "PRTS", "INFN"):
        return None
    if phrase == ("например",) and nxt is not None and nxt.text == ":":
        return None
    prev = _prev_word(sentence, i)
    before = prev is not None and prev.low not in _COORDINATING and prev.low != "как"
    after = nxt is not None and nxt.word
    if not before and not after:
        return None
    words = " ".join(t.text for t in sentence[i:end])
    start = prev.start if before and prev else sentence[i].start
    stop = nxt.end if after and nxt else sentence[end - 1].end
    fixed = (f"{prev.text}, " if before and prev else "") + words + \
        (f", {nxt.text}" if after and nxt else "")
    return make("punctuation", ctx.text, start, stop,
                f"Вводное слово {quote(words.lower())} выделяется запятыми", (fixed,))


# ---------------------------------------------------------------- address


def _address(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    for i in range(len(sentence) - 1):
        first, second = sentence[i], sentence[i + 1]
        if not (first.word and second.word and first.text[0].isupper()
                and second.text[0].isupper()):
            continue
        if not second.low.endswith(("вич", "вна", "чна", "ич")):
            continue  # cheap test first: a patronymic
        if not (ctx.grammar(first.text).has("NOUN", "Name", "nomn")
                and ctx.grammar(second.text).has("NOUN", "Patr", "nomn")):
            continue
        prev = _prev_word(sentence, i)
        if prev is not None and prev.low in _GREETING_BEFORE:
            yield _missing_before(ctx, sentence, i, "Обращение отделяется запятой")
            continue
        starts = i == 0 or (prev is not None and prev.low in ("уважаемый", "уважаемая"))
        nxt = sentence[i + 2] if i + 2 < len(sentence) else None
        if starts and nxt is not None and nxt.word and _addressed(ctx.grammar(nxt.text), nxt):
            yield _missing_before(ctx, sentence, i + 2,
                                  "Обращение отделяется запятой от остального предложения")


def _addressed(info: Info, tok: Tok) -> bool:
    return tok.low in _ADDRESS_NEXT or info.first("impr") or (
        info.pos == "VERB" and (info.first("1per", "plur") or info.first("2per")))


# ---------------------------------------------------------------- «а», «но», «однако»


def _joining(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    for i, tok in enumerate(sentence):
        if not tok.word or tok.quoted or tok.text != tok.low or tok.low not in _JOINING:
            continue
        prev = _prev_word(sentence, i)
        if prev is None or prev.low in _COORDINATING or prev.low in ("не", "а", "и"):
            continue
        nxt = sentence[i + 1] if i + 1 < len(sentence) else None
        if nxt is None or not nxt.word and nxt.text != ",":
            continue
        if tok.low == "а" and nxt.text == ")":
            continue
        yield _missing_before(ctx, sentence, i,
                              f"Перед {quote(tok.text)}, соединяющим части предложения, "
                              "ставится запятая")


# ---------------------------------------------------------------- participial phrases


def _participle_after_noun(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    """«документы[,] поступившие после 20-го числа…»: a phrase after its noun."""
    for i in range(1, len(sentence) - 1):
        noun, part, nxt = sentence[i - 1], sentence[i], sentence[i + 1]
        if not (noun.word and part.word and nxt.word) or part.quoted:
            continue
        if not _may_be_participle(part.low):
            continue  # cheap test first
        pinfo = ctx.grammar(part.text)
        if pinfo.pos not in ("PRTF", "ADJF") or not pinfo.has("PRTF") or \
                part.low.startswith(_LEXICAL_PARTICIPLES):
            continue
        ninfo = ctx.grammar(noun.text)
        if ninfo.pos != "NOUN":
            continue
        if not _agree(ninfo, pinfo):  # «листок нетрудоспособности[,] открытый…»
            head = sentence[i - 2] if i >= 2 else None
            if head is None or not head.word or not ninfo.has("NOUN", "gent") or \
                    not _agree(ctx.grammar(head.text), pinfo):
                continue
        if _noun_follows(ctx, sentence, i + 1, pinfo):
            continue  # «списания пришедшего в негодность монитора»: it goes with a later noun
        yield _missing_before(ctx, sentence, i,
                              "Причастный оборот после определяемого слова выделяется запятыми")


def _noun_follows(ctx: Context, sentence: list[Tok], i: int, participle: Info) -> bool:
    """A later noun (not one governed by a preposition) agrees with the participle."""
    governed = False
    for k, tok in enumerate(sentence[i:i + 5]):
        if not tok.word:
            return False
        info = ctx.grammar(tok.text)
        if k == 0 and participle.has("PRTF", "actv", "tran") and info.has("NOUN", "accs") \
                and not _agree_cases(info, participle) - {"nomn", "accs"}:
            return False  # «получивший аванс»: the participle's object
        if info.pos == "PREP":
            governed = True
        elif info.pos == "NOUN":
            if not governed and _agree(info, participle):
                return True
            governed = False
    return False


def _agree(noun: Info, participle: Info) -> bool:
    return bool(_agree_cases(noun, participle))


def _agree_cases(noun: Info, participle: Info) -> set[str]:
    """The cases in which the noun and the participle (or adjective) agree."""
    cases: set[str] = set()
    for pos, gs in noun.readings:
        if pos != "NOUN":
            continue
        for ppos, pgs in participle.readings:
            if ppos not in ("PRTF", "ADJF"):
                continue
            case = {"nomn", "gent", "datv", "accs", "ablt", "loct"} & gs & pgs
            if not case:
                continue
            if ("plur" in gs and "plur" in pgs) or (
                    "sing" in gs and "sing" in pgs and {"masc", "femn", "neut"} & gs & pgs):
                cases |= case
    return cases


def _gerund(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    """«Рассмотрев ваше заявление[,] сообщаем…» and «…сдайте отчёт[,] приложив чеки»."""
    for i, tok in enumerate(sentence):
        if not tok.word or tok.quoted:
            continue
        if not tok.low.endswith(_GERUND_ENDINGS):
            continue  # cheap test first
        info = ctx.grammar(tok.text)
        if info.pos != "GRND" or tok.low in _LEXICAL_GERUNDS:
            continue
        head = i - 1 if i > 0 and sentence[i - 1].low == "не" else i
        if head == 0:
            yield from _main_clause_comma(ctx, sentence, i + 1, infinitive=False,
                                          why="Деепричастный оборот выделяется запятыми")
            continue
        prev = _prev_word(sentence, head)
        if prev is None or prev.low in _COORDINATING or \
                ctx.grammar(prev.text).pos not in ("NOUN", "VERB", "INFN"):
            continue  # «ничего не меняя», «быстро проверив»: the phrase may begin earlier
        yield _missing_before(ctx, sentence, head, "Деепричастный оборот выделяется запятыми")


# ---------------------------------------------------------------- subject and predicate


def _subject_predicate(ctx: Context, sentence: list[Tok]) -> Iterator[Finding]:
    """«Квитанция о приёме, пришла…»: no comma between the subject and the predicate."""
    comma = next((i for i, t in enumerate(sentence) if not t.word), None)
    if comma is None or comma == 0 or sentence[comma].text != "," or comma + 1 >= len(sentence):
        return
    after = sentence[comma + 1]
    if not after.word or ctx.grammar(after.text).pos not in ("VERB", "PRTS"):
        return  # cheap test first: a predicate right after the comma
    first = 0
    while first < comma and ctx.grammar(sentence[first].text).pos == "ADJF" and \
            ctx.grammar(sentence[first].text).has("ADJF", "nomn"):
        first += 1  # «Заработная плата, …»
    if first >= comma:
        return
    head = ctx.grammar(sentence[first].text)
    if head.pos != "NOUN" or not head.has("NOUN", "nomn") or \
            any(g in head.readings[0][1] for g in ("Name", "Patr", "Surn")):
        return
    for tok in sentence[first + 1:comma]:
        info = ctx.grammar(tok.text)
        if info.pos not in ("NOUN", "ADJF", "PREP", "NUMR", "NPRO") and not tok.text.isdigit():
            return
    verb_tok = sentence[comma + 1]
    if not verb_tok.word:
        return
    verb = ctx.grammar(verb_tok.text)
    if verb.pos not in ("VERB", "PRTS") or not (verb.first("indc") or verb.pos == "PRTS") \
            or verb.first("1per") or verb.first("2per"):
        return
    if not _agrees_as_subject(head, verb):
        return
    yield make("punctuation", ctx.text, sentence[comma - 1].start, verb_tok.end,
               "Между подлежащим и сказуемым запятая не ставится",
               (f"{sentence[comma - 1].text} {verb_tok.text}",))
