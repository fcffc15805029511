"""A linear model over lemmas and lemma pairs: read from JSON, scored by a sparse dot product.

The model is trained by ``buhdesk learn`` (:mod:`buhdesk.rules.learn`, scikit-learn) and saved as
``rules/classify_model.json`` beside the rules; this module only reads it and scores letters, so
the daemon never imports scikit-learn. Features are the same in training and here
(:func:`features`): lemmas of the subject and of the sender's own words (quoted history and the
signature cut off by :mod:`buhdesk.route.quoting`; a pure forward counts with the forwarded writer's
words), pairs of neighbouring lemmas, and a few question forms. Latin words are transliterated
to Cyrillic before lemmatisation, so «zarplata» meets «зарплата»; English words stay as written
and the model learns them from the corpus.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from buhdesk.route.quoting import split_quoted
from buhdesk.rules.lemmas import Lemmatizer, normalize

MODEL_FILE = "classify_model.json"
FORMAT = 1
UNSORTED = "none"  # the model's process class for "not an accounting matter"
_LATIN = re.compile(r"^[a-z]+$")
_TRANSLIT = (  # longest first; a transliterated word becomes Cyrillic only if pymorphy knows it
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
    ("yu", "ю"), ("ya", "я"), ("yo", "ё"), ("ye", "е"), ("iy", "ий"), ("yy", "ый"),
    ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"),
    ("i", "и"), ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"),
    ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"),
    ("c", "ц"), ("y", "ы"), ("w", "в"), ("x", "кс"), ("q", "к"), ("'", "ь"),
)
_TRANSLIT_RE = re.compile("|".join(re.escape(a) for a, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)
_QUESTION_WORDS = {  # first lemma of a sentence that ends with "?" -> question form feature
    "когда": "when", "сколько": "howmuch", "какой": "which", "как": "how", "почему": "why",
    "где": "where", "можно": "may", "нужно": "must", "надо": "must", "ли": "whether",
    "что": "what", "кто": "who", "зачем": "why", "каков": "which", "чем": "what",
    "when": "when", "how": "how", "what": "what", "why": "why", "where": "where",
    "can": "may", "could": "may", "should": "must", "do": "whether", "is": "whether",
    "has": "whether", "have": "whether", "did": "whether", "was": "whether",
}
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


class ModelError(ValueError):
    """The model file cannot be used (the message is for an administrator, in Russian)."""


@dataclass(frozen=True)
class Head:
    """One decision (process or need): its classes, biases and per-feature weights."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[tuple[int, float], ...]]  # feature -> (class index, weight)

    def scores(self, feats: dict[str, float]) -> list[float]:
        totals = list(self.bias)
        for feat, value in feats.items():
            for index, weight in self.weights.get(feat, ()):
                totals[index] += weight * value
        return totals

    def decide(self, feats: dict[str, float]) -> tuple[str, float, tuple[tuple[str, float], ...]]:
        """(best class, its probability, the features that pushed it most)."""
        totals = self.scores(feats)
        top = max(range(len(totals)), key=totals.__getitem__)
        peak = totals[top]
        probability = 1.0 / sum(math.exp(t - peak) for t in totals)
        reasons = sorted(((f, w * feats[f]) for f in feats for i, w in self.weights.get(f, ())
                          if i == top), key=lambda fw: -fw[1])
        return self.classes[top], probability, tuple((f, round(w, 3)) for f, w in reasons
                                                      if w > 0)


@dataclass(frozen=True)
class Model:
    process: Head
    need: Head
    trained_on: int
    rule_prints: dict[str, str]  # rule name -> fingerprint of the rule the model was trained with

    def decide(self, feats: dict[str, float]) -> ModelDecision:
        process = self.process.decide(feats)
        need = self.need.decide(feats)
        return ModelDecision(*process, *need)


@dataclass(frozen=True)
class ModelDecision:
    process: str
    process_probability: float
    process_features: tuple[tuple[str, float], ...]
    need: str
    need_probability: float
    need_features: tuple[tuple[str, float], ...]

    def to_dict(self, top: int = 8) -> dict[str, object]:
        return {
            "process": self.process, "process_probability": round(self.process_probability, 3),
            "process_features": [list(f) for f in self.process_features[:top]],
            "need": self.need, "need_probability": round(self.need_probability, 3),
            "need_features": [list(f) for f in self.need_features[:top]],
        }


def load_model(path: Path, processes: tuple[str, ...], needs: tuple[str, ...]) -> Model:
    """Read and check a model file; ModelError says what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"файл модели не читается: {e}") from e
    return model_from_data(data, processes, needs)


def model_from_data(data: object, processes: tuple[str, ...], needs: tuple[str, ...]) -> Model:
    """A model from the file's parsed JSON; ModelError says what is wrong with it."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"неизвестный формат файла модели (ожидается format = {FORMAT})")
    prints = data.get("rules", {})
    if not isinstance(prints, dict) or not all(isinstance(v, str) for v in prints.values()):
        raise ModelError("раздел «rules» должен сопоставлять имени правила строку-отпечаток")
    return Model(_head(data, "process", (*processes, UNSORTED)), _head(data, "need", needs),
                 int(data.get("trained_on", 0)), dict(prints))


def _head(data: Mapping[str, object], name: str, allowed: tuple[str, ...]) -> Head:
    raw = data.get(name)
    if not isinstance(raw, dict):
        raise ModelError(f"в файле модели нет раздела «{name}»")
    classes, bias, weights = raw.get("classes"), raw.get("bias"), raw.get("weights")
    if not (isinstance(classes, list) and isinstance(bias, list) and isinstance(weights, dict)):
        raise ModelError(f"раздел «{name}»: нужны списки classes, bias и таблица weights")
    unknown = [c for c in classes if c not in allowed]
    if unknown:
        raise ModelError(f"раздел «{name}»: неизвестные коды {', '.join(map(str, unknown))}")
    if len(bias) != len(classes) or not all(isinstance(b, (int, float)) for b in bias):
        raise ModelError(f"раздел «{name}»: bias должен содержать по числу на каждый класс")
    index = {c: i for i, c in enumerate(classes)}
    compiled: dict[str, tuple[tuple[int, float], ...]] = {}
    for feat, per_class in weights.items():
        if not isinstance(per_class, dict) or not all(
                c in index and isinstance(w, (int, float)) for c, w in per_class.items()):
            raise ModelError(f"раздел «{name}», признак «{feat}»: веса заданы неверно")
        compiled[feat] = tuple((index[c], float(w)) for c, w in per_class.items())
    return Head(tuple(classes), tuple(float(b) for b in bias), compiled)


def features(lemmatizer: Lemmatizer, subject: str, body: str) -> dict[str, float]:
    """Binary features of a letter: subject and own-words lemmas, lemma pairs, question forms."""
    parts = split_quoted(body)
    own = parts.own if parts.own.strip() else parts.forwarded
    feats: dict[str, float] = {}
    subject_lemmas = _lemmas(lemmatizer, subject)
    for lemma in subject_lemmas:
        feats["s:" + lemma] = 1.0
    for text in (subject, own):
        lemmas = _lemmas(lemmatizer, text)
        for lemma in lemmas:
            feats[lemma] = 1.0
        for a, b in pairwise(lemmas):
            feats[a + " " + b] = 1.0
    for sentence in _SENTENCE.findall(f"{subject}\n{own}"):
        if sentence.rstrip().endswith("?"):
            feats["?"] = 1.0
            words = _lemmas(lemmatizer, sentence)
            for word in words[:3]:
                form = _QUESTION_WORDS.get(word)
                if form:
                    feats["?" + form] = 1.0
    if not own.strip():
        feats["<empty>"] = 1.0
    return feats


def _lemmas(lemmatizer: Lemmatizer, text: str) -> list[str]:
    result = []
    for token in lemmatizer.tokens(text):
        low = normalize(token.text)
        if _LATIN.match(low):
            result.append(_latin(lemmatizer, low))
        elif not low.isdigit():
            result.append(lemmatizer.lemma(token.text))
    return result


def _latin(lemmatizer: Lemmatizer, word: str) -> str:
    """A transliterated Russian word as its Cyrillic lemma; any other Latin word as written."""
    if len(word) < 3:
        return word
    cyrillic = _TRANSLIT_RE.sub(lambda m: _TRANSLIT_MAP[m.group(0)], word)
    if lemmatizer.is_known(cyrillic):
        return lemmatizer.lemma(cyrillic)
    return word
