"""The package layout: the folder tree reads as the flow, and test tools never ship in the wheel."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "daemon" / "buhdesk", ROOT / "connectors" / "buhdesk_connectors")
TEST_ONLY = ("aiosmtpd", "pytest", "harness", "conftest", "support")
STAGES = ("intake", "route", "reply", "deliver", "schedule", "feedback")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_shipped_code_imports_no_test_tool() -> None:
    offenders = [f"{p.relative_to(ROOT)}: {name}"
                 for source in SOURCES for p in sorted(source.rglob("*.py"))
                 for name in imported_modules(p) if name.split(".")[0] in TEST_ONLY]
    assert not offenders


def test_the_stages_are_packages_with_a_docstring() -> None:
    core = SOURCES[0]
    for stage in STAGES:
        init = core / stage / "__init__.py"
        assert init.is_file(), stage
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), stage


def test_no_flat_module_but_the_shared_seams() -> None:
    flat = sorted(p.name for p in SOURCES[0].glob("*.py"))
    assert flat == ["__init__.py", "config.py", "interfaces.py"]
