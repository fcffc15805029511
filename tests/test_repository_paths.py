"""The repository carries everything its tests, demo and docs use: no file names a path outside
the checkout (a user's clone has no shared folder beside it and no /work tree)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Built from pieces so that this file does not name the paths it looks for.
OUTSIDE = re.compile(
    rb"(?<![\w.-])/" + rb"work/"  # the development machine's absolute work tree
    rb"|\.\./+" + rb"shared\b"  # the shared folder beside the checkout
)
SKIPPED_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache",
                "buhdesk-demo", "build", "dist"}


def _repository_files() -> list[Path]:
    """Tracked and not-ignored new files when this is a git clone; otherwise every file."""
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"], check=True, capture_output=True).stdout
        return [ROOT / name for name in listed.decode().split("\0") if name]
    return [p for p in ROOT.rglob("*")
            if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(ROOT).parts)]


def _outside_paths(data: bytes) -> list[str]:
    return [m.group().decode(errors="replace") for m in OUTSIDE.finditer(data)]


def test_the_pattern_finds_paths_outside_the_repository() -> None:
    assert _outside_paths(b'SAMPLES = Path("/' + b'work/shared/delopro/samples")')
    assert _outside_paths(b"See `../" + b"shared/DESIGN.md` for the design.")
    assert not _outside_paths(b"tests/corpus/delopro_samples and docs/design.md")
    assert not _outside_paths(b"https://example.org/network/ and /var/lib/buhdesk")


def test_no_repository_file_names_a_path_outside_the_repository() -> None:
    files = _repository_files()
    assert len(files) > 100, "the repository listing looks wrong"
    offenders = {}
    for path in files:
        if not path.is_file():  # deleted in the work tree but still tracked
            continue
        found = _outside_paths(path.read_bytes())
        if found:
            offenders[str(path.relative_to(ROOT))] = sorted(set(found))
    if offenders:
        pytest.fail(f"files naming paths outside the repository: {offenders}")
