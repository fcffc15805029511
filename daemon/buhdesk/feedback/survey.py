"""The survey a ministry defines in ``rules/survey.toml`` (order 76, §5.1): its questions, validated
completely at load; every problem is Russian and names the file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buhdesk.rules.problems import Problems, RuleSetError, TomlDoc, check_keys, read_toml

KINDS = {"scale": "оценка по шкале", "yesno": "да/нет", "text": "свободный ответ"}
SURVEY_KEYS = ("title", "intro", "thanks")
QUESTION_KEYS = ("id", "kind", "text", "short", "required", "min", "max", "low_label", "high_label",
                 "max_length")


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # scale | yesno | text
    text: str
    required: bool = True
    low: int = 1
    high: int = 5
    low_label: str = ""
    high_label: str = ""
    max_length: int = 2000
    short: str = ""

    @property
    def label(self) -> str:
        """The column heading in reports."""
        return self.short or self.text

    def choices(self) -> list[tuple[str, str]]:
        """(value, label) pairs for the form."""
        if self.kind == "yesno":
            return [("yes", "Да"), ("no", "Нет")]
        if self.kind == "scale":
            return [(str(v), str(v)) for v in range(self.low, self.high + 1)]
        return []

    def parse(self, raw: str | None) -> tuple[Any, str | None]:
        """The stored value of a submitted field, or an error message in Russian."""
        raw = (raw or "").strip()
        if not raw:
            return None, ("Ответьте, пожалуйста, на этот вопрос." if self.required else None)
        if self.kind == "text":
            if len(raw) > self.max_length:
                return None, f"Ответ длиннее {self.max_length} знаков — сократите его."
            return raw, None
        if raw not in {v for v, _ in self.choices()}:
            return None, "Выберите один из предложенных вариантов."
        return (raw == "yes") if self.kind == "yesno" else int(raw), None


@dataclass(frozen=True)
class Survey:
    title: str
    intro: str
    thanks: str
    questions: tuple[Question, ...]

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)


def load_survey(rules_dir: Path) -> Survey:
    """Read ``survey.toml``; raise RuleSetError listing every problem."""
    problems = Problems()
    path = Path(rules_dir) / "survey.toml"
    doc = read_toml(path, problems)
    survey = _parse(doc, problems) if doc is not None else None
    problems.raise_if_any()
    if survey is None:  # reading and parsing record why they give nothing
        raise RuntimeError(f"{path}: no survey read and no problem recorded")
    return survey


def _parse(doc: TomlDoc, problems: Problems) -> Survey | None:
    head = doc.data.get("survey", {})
    check_keys(doc, ("", None), {k: v for k, v in doc.data.items()}, ("survey", "question"),
               problems, "файле")
    if not isinstance(head, dict):
        problems.add(doc.name, doc.key_line(("", None), "survey"), "[survey] должен быть таблицей")
        head = {}
    check_keys(doc, ("survey", None), head, SURVEY_KEYS, problems, "таблице [survey]")
    texts = {k: _text(doc, ("survey", None), head, k, problems, required=(k == "title"))
             for k in SURVEY_KEYS}
    raw_questions = doc.data.get("question", [])
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.add(doc.name, None, "нет ни одного вопроса: добавьте таблицы [[question]]")
        return None
    questions = [q for i, t in enumerate(raw_questions) if (q := _question(doc, i, t, problems))]
    _check_unique(doc, questions, problems)
    return Survey(texts["title"] or "Опрос", texts["intro"], texts["thanks"], tuple(questions))


def _text(doc: TomlDoc, owner: tuple[str, int | None], table: dict[str, Any], key: str,
          problems: Problems, *, required: bool) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        problems.add(doc.name, doc.key_line(owner, key), f"«{key}» должен быть строкой")
        return ""
    if required and not value.strip():
        problems.add(doc.name, doc.key_line(owner, key) if key in table else doc.table_line(owner),
                     f"не задан обязательный ключ «{key}»")
    return value.strip()


def _question(doc: TomlDoc, index: int, table: Any, problems: Problems) -> Question | None:
    owner = ("question", index)
    where = f"вопросе № {index + 1}"
    if not isinstance(table, dict):
        problems.add(doc.name, doc.table_line(owner), f"{where}: ожидается таблица [[question]]")
        return None
    count = len(problems.items)
    check_keys(doc, owner, table, QUESTION_KEYS, problems, where)
    qid = _text(doc, owner, table, "id", problems, required=True)
    text = _text(doc, owner, table, "text", problems, required=True)
    kind = table.get("kind", "")
    if kind not in KINDS:
        allowed = ", ".join(f"{k} ({v})" for k, v in KINDS.items())
        problems.add(doc.name, doc.key_line(owner, "kind"),
                     f"{where}: неизвестный вид вопроса «{kind}» (допустимы: {allowed})")
    numbers = {k: table.get(k, d) for k, d in (("min", 1), ("max", 5), ("max_length", 2000))}
    for key, value in numbers.items():
        if not isinstance(value, int) or isinstance(value, bool):
            problems.add(doc.name, doc.key_line(owner, key), f"{where}: «{key}» — целое число")
    if kind == "scale" and all(isinstance(v, int) for v in numbers.values()) and not (
            0 <= numbers["min"] < numbers["max"] <= 10):
        problems.add(doc.name, doc.key_line(owner, "max"),
                     f"{where}: шкала должна быть от min до max, 0 ≤ min < max ≤ 10")
    required = table.get("required", True)
    if not isinstance(required, bool):
        problems.add(doc.name, doc.key_line(owner, "required"), f"{where}: «required» — true/false")
    if len(problems.items) > count:
        return None
    return Question(qid, kind, text, required, numbers["min"], numbers["max"],
                    str(table.get("low_label", "")), str(table.get("high_label", "")),
                    numbers["max_length"], str(table.get("short", "")))


def _check_unique(doc: TomlDoc, questions: list[Question], problems: Problems) -> None:
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            problems.add(doc.name, doc.value_line(("question", None), q.id) or None,
                         f"вопрос с идентификатором «{q.id}» повторяется")
        seen.add(q.id)


__all__ = ["Question", "RuleSetError", "Survey", "load_survey"]
