"""Migration 0006 on SQLite and PostgreSQL: a store filled under the old survey tables keeps its
answers (as period groups, reordered, under new keys), its unused links and the memory of used
ones, and loses the labels that tied answers to requests; the schema then matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel
from support import migrate_store

from buhdesk.store import models
from buhdesk.feedback import models as survey_models  # noqa: F401  (the tables compared below)
from buhdesk.store.engine import make_engine

OLD_ANSWERS = [(f"a{i:031d}", "payroll", "email" if i % 2 else "phone", "2026-Q4",
                f'{{"overall": {1 + i % 5}}}')
               for i in range(6)]


def test_old_survey_tables_become_unlinkable(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        migrate_store(engine, "0005_trust_rate_counts")
        with engine.begin() as conn:
            for row in OLD_ANSWERS:
                conn.execute(text("INSERT INTO survey_answers (id, process, channel, quarter, "
                                  "answers, comment) VALUES (:a, :b, :c, :d, :e, '')"),
                             dict(zip("abcde", row, strict=True)))
            conn.execute(text("INSERT INTO survey_tokens VALUES ('h1', 'payroll', 'email', "
                              "'2026-Q4', :t), ('h2', 'travel', 'phone', '2026-Q3', :f)"),
                         {"t": True, "f": False})
        migrate_store(engine, "head")
        with engine.connect() as conn:
            answers = conn.execute(text("SELECT id, process, period, answers FROM survey_answers"))
            got = list(answers)
            spent = list(conn.execute(text("SELECT token_hash FROM survey_spent")))
            tokens = list(conn.execute(text("SELECT token_hash, process, period, valid_until "
                                            "FROM survey_tokens")))
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert sorted(a for _, _, _, a in got) == sorted(r[4] for r in OLD_ANSWERS)
        assert {(p, per) for _, p, per, _ in got} == {("payroll", "2026-H2")}
        assert not {i for i, *_ in got} & {r[0] for r in OLD_ANSWERS}, "fresh keys"
        assert [s[0] for s in spent] == ["h1"]
        assert [(t[0], t[1], t[2], str(t[3])) for t in tokens] == [
            ("h2", "travel", "2026-H2", "2026-11-14")]
        cols = {c["name"] for c in inspect(engine).get_columns("survey_invited")}
        assert cols == {"request_id"}
        assert [d for d in diff if "survey" in repr(d)] == []
    finally:
        engine.dispose()
