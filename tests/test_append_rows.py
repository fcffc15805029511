"""new_row builds the same row as the model's constructor, at a fraction of the cost."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import SQLModel

from buhdesk.store.append_rows import new_row
from buhdesk.store.models import Attachment, Event, Message, Request

CASES: list[tuple[type[SQLModel], dict[str, object]]] = [
    (Request, {"number": "БУХ-2026-000001", "subject": "Справка", "process": "payroll"}),
    (Message, {"direction": "in", "status": "received", "source": "minfin", "source_key": "1:1"}),
    (Event, {"stage": "route", "action": "registered", "detail": "{}"}),
    (Attachment, {"message_pk": 1, "filename": "a.pdf", "size": 3, "sha256": "ab"}),
]


@pytest.mark.parametrize(("model", "values"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_new_row_equals_the_constructor(model: type[SQLModel], values: dict[str, object]) -> None:
    made, built = new_row(model, **values), model(**values)

    assert made.model_fields_set == built.model_fields_set == set(values)
    for name in model.model_fields:
        mine, theirs = getattr(made, name), getattr(built, name)
        if isinstance(theirs, datetime):  # a default factory: called anew for each row
            assert isinstance(mine, datetime) and abs((mine - theirs).total_seconds()) < 5
        else:
            assert mine == theirs, name


def test_new_row_refuses_a_missing_required_field() -> None:
    with pytest.raises(TypeError, match="required"):
        new_row(Attachment, filename="a.pdf")
