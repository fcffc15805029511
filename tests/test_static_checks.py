"""The shipped code passes its static checks: ``ruff check`` and ``mypy --strict`` (configured in
pyproject.toml) report nothing. They run here so that CI, which runs the README's test command,
runs them too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.static


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "--no-cache", "--output-format=concise")
    assert done.returncode == 0, f"ruff check:\n{done.stdout}{done.stderr}"


def test_mypy_strict_finds_nothing() -> None:
    done = _run("mypy", "--no-pretty")
    assert done.returncode == 0, f"mypy:\n{done.stdout}{done.stderr}"
