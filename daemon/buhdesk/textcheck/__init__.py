"""Offline check of a written answer for spelling, punctuation, typography, style and greeting
errors (order 76, §2.5: «Недопустимо в ответе на обращение орфографических, стилистических,
пунктуальных ошибок»).

    checker = TextChecker.load(Path("rules")).with_names(["Ковалева Мария Петровна"])
    for finding in checker.check(text):
        print(finding.to_dict())
"""

from buhdesk.textcheck.checker import TextChecker
from buhdesk.textcheck.findings import KINDS, Finding
from buhdesk.textcheck.rules import TextCheckRulesError

__all__ = ["KINDS", "Finding", "TextCheckRulesError", "TextChecker"]
