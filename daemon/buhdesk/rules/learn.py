"""Train the classification model (``buhdesk learn``) and measure the classifier on a corpus.

Training reads labelled letters (the corpus format of ``tests/corpus/requests``: ``Subject``,
``From``, ``Process``, ``Need`` header lines, a blank line, the body) and accountants'
corrections from the store, fits two multinomial logistic regressions (scikit-learn, the
optional ``[learn]`` extra) over :func:`buhdesk.rules.classify_model.features`, and writes the
weights as JSON that people can read and diff. Measuring needs no scikit-learn.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from buhdesk.rules.classify import NEEDS, PROCESSES, Classifier, Letter, rule_print
from buhdesk.rules.classify_model import FORMAT, UNSORTED

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

REGULARISATION = 4.0  # scikit-learn's C: larger fits the corpus closer
MIN_WEIGHT = 0.05  # weights smaller than this are left out of the file: no effect, less to read
MIN_LETTERS = 2  # a feature seen in fewer training letters is dropped: it names one letter
PROCESS_CODES = (*PROCESSES, UNSORTED)


@dataclass(frozen=True)
class Sample:
    name: str
    letter: Letter
    process: str  # "none" for a letter that is not an accounting matter
    need: str


def read_sample(path: Path) -> Sample:
    """One labelled letter of the corpus format."""
    head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
    fields = {}
    for line in head.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    sender = fields.get("From", "")
    address = sender.rpartition("<")[2].rstrip(">") if "<" in sender else sender
    letter = Letter(subject=fields.get("Subject", ""), body=body, sender=address,
                    sender_name=sender.partition("<")[0].strip().strip('"'))
    return Sample(path.name, letter, fields["Process"], fields["Need"])


def read_corpus(directory: Path) -> list[Sample]:
    return [read_sample(p) for p in sorted(Path(directory).glob("*.txt"))]


def train(samples: Sequence[Sample], rules: Classifier, *,
          regularisation: float = REGULARISATION) -> dict[str, object]:
    """The model file's content (a JSON-ready dict) fitted on ``samples``.

    ``rules`` reads the letters: their words and the rules' totals per code are the features.
    """
    try:
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError as e:
        raise RuntimeError("для обучения нужен scikit-learn: pip install 'buhdesk[learn]'") from e
    rows = [rules.features(s.letter) for s in samples]
    seen = Counter(f for row in rows for f in row)
    rows = [{f: v for f, v in row.items() if seen[f] >= MIN_LETTERS} for row in rows]
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(rows)
    names = vectorizer.get_feature_names_out()
    model: dict[str, object] = {"format": FORMAT, "trained_on": len(samples),
                                "regularisation": regularisation,
                                "rules": {r.name: rule_print(r) for r in rules.rules}}
    for head, labels in (("process", [s.process for s in samples]),
                         ("need", [s.need for s in samples])):
        fitted = LogisticRegression(C=regularisation, max_iter=3000).fit(matrix, labels)
        classes = [str(c) for c in fitted.classes_]
        coef = fitted.coef_
        bias = fitted.intercept_
        if len(classes) == 2:  # scikit-learn keeps one row for two classes
            coef = [-coef[0], coef[0]]
            bias = [-bias[0], bias[0]]
        weights: dict[str, dict[str, float]] = {}
        for column, name in enumerate(names):
            per_class = {c: round(float(coef[i][column]), 3) for i, c in enumerate(classes)
                         if abs(coef[i][column]) >= MIN_WEIGHT}
            if per_class:
                weights[str(name)] = per_class
        model[head] = {"classes": classes, "bias": [round(float(b), 3) for b in bias],
                       "weights": dict(sorted(weights.items()))}
    return model


def dump_model(model: dict[str, object]) -> str:
    """One feature per line, keys sorted: a retrained model diffs line by line."""
    lines = ["{"]
    items = list(model.items())
    for at, (key, value) in enumerate(items):
        comma = "," if at < len(items) - 1 else ""
        if isinstance(value, dict) and "weights" in value:
            lines.append(f'  "{key}": {{')
            lines.append(f'    "classes": {json.dumps(value["classes"])},')
            lines.append(f'    "bias": {json.dumps(value["bias"])},')
            lines.append('    "weights": {')
            weights = list(value["weights"].items())
            for i, (feat, per_class) in enumerate(weights):
                tail = "," if i < len(weights) - 1 else ""
                lines.append(f"      {json.dumps(feat, ensure_ascii=False)}: "
                             f"{json.dumps(per_class, ensure_ascii=False)}{tail}")
            lines.append("    }")
            lines.append(f"  }}{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Score:
    total: int
    process: float
    need: float
    process_pairs: tuple[tuple[str, str], ...]  # (expected, got) per letter
    need_pairs: tuple[tuple[str, str], ...]
    names: tuple[str, ...]

    def wrong(self) -> dict[str, tuple[str, str]]:
        """Letters whose process or need was wrong: name -> (got process, got need)."""
        rows = zip(self.names, self.process_pairs, self.need_pairs, strict=False)
        return {n: (p[1], q[1]) for n, p, q in rows if p[0] != p[1] or q[0] != q[1]}


def measure(classifier: Classifier, samples: Iterable[Sample]) -> Score:
    """Process and need accuracy of ``classifier`` on labelled letters (unsorted = "none")."""
    process_pairs, need_pairs, names = [], [], []
    for sample in samples:
        result = classifier.classify(sample.letter)
        process_pairs.append((sample.process, result.process or UNSORTED))
        need_pairs.append((sample.need, result.need or "other"))
        names.append(sample.name)
    total = len(names)
    right_p = sum(a == b for a, b in process_pairs)
    right_n = sum(a == b for a, b in need_pairs)
    return Score(total, right_p / total if total else 0.0, right_n / total if total else 0.0,
                 tuple(process_pairs), tuple(need_pairs), tuple(names))


def confusion_table(pairs: Sequence[tuple[str, str]], codes: Sequence[str]) -> str:
    """Rows: the label; columns: what the classifier said."""
    counts = Counter(pairs)
    width = max(len(c) for c in codes) + 1
    lines = [" " * width + " ".join(f"{c[:6]:>6}" for c in codes) + "   <- предсказано"]
    for expected in codes:
        row = " ".join(f"{counts[(expected, got)] or '.':>6}" for got in codes)
        lines.append(f"{expected:<{width}}{row}")
    return "\n".join(lines)


def report(title: str, score: Score) -> str:
    """Accuracy figures and both confusion tables, in Russian, for ``learn`` and CI."""
    return "\n".join((
        f"{title}: писем {score.total}, процесс {score.process:.3f}, потребность {score.need:.3f}",
        "Процесс (строки — разметка, столбцы — решение):",
        confusion_table(score.process_pairs, PROCESS_CODES),
        "Потребность:",
        confusion_table(score.need_pairs, NEEDS),
    ))


def corrected_samples(engine: Engine) -> list[Sample]:
    """Requests an accountant corrected (``correct``): their first letter, labelled as corrected.

    A transfer alone changes who answers, not the process or need, so it teaches nothing here;
    a transfer followed by a correction is learnt through the correction.
    """
    from sqlalchemy import select
    from sqlmodel import Session, col

    from buhdesk.store.models import Event, Message, Request

    samples = []
    with Session(engine) as session:
        ids = set(session.execute(select(col(Event.request_id)).where(
            col(Event.stage) == "route", col(Event.action) == "corrected")).scalars())
        for request in session.execute(select(Request).where(
                col(Request.id).in_(ids)).order_by(col(Request.id))).scalars():
            first = session.execute(select(Message).where(
                col(Message.request_id) == request.id, col(Message.direction) == "in",
                col(Message.kind) == "request").order_by(col(Message.id))).scalars().first()
            if first is None:
                continue
            letter = Letter(subject=first.subject, body=first.body_text or "",
                            sender=first.from_addr or "")
            samples.append(Sample(f"обращение {request.number}", letter,
                                  request.process or UNSORTED, request.need or "other"))
    return samples
