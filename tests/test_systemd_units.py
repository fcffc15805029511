"""The shipped systemd units: accepted by systemd itself, hardened, and consistent with the config.

``systemd-analyze verify`` needs the programs the units start to exist, so the units are checked
inside a throw-away root: the host's unit library is copied in, and each program an ``Exec*=`` line
names is a stub there. The directive checks below need no systemd and always run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from buhdesk.config import MISSING_CREDENTIAL

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "systemd"
UNITS = sorted(p.name for p in DEPLOY.glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None,
                                   reason="systemd-analyze missing (apt-get install systemd)")


def directives(unit: str) -> list[tuple[str, str, str]]:
    """(section, key, value) in order; repeated keys are kept, as systemd keeps them."""
    section, found = "", []
    for raw in (DEPLOY / unit).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{unit}: not a directive: {raw!r}"
        found.append((section, key.strip(), value.strip()))
    return found


def values(unit: str, key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in directives(unit) if s == section and k == key]


def one(unit: str, key: str) -> str:
    found = values(unit, key)
    assert len(found) == 1, f"{unit}: {key}= expected once, found {found}"
    return found[0]


def executables(unit: str) -> set[str]:
    exec_keys = ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop")
    return {v.lstrip("-@:+!").split()[0] for k in exec_keys for v in values(unit, k)}


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(DEPLOY / unit, units / unit)
    library = Path("/usr/lib/systemd/system")
    shutil.copytree(library, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    for program in set().union(*(executables(u) for u in UNITS)):
        stub = root / program.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
        stub.chmod(0o755)
    return root


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""}
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, env=env, timeout=120,
                          check=False)


@needs_analyze
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    result = analyze("verify", f"--root={root}", *UNITS)
    # verify exits 0 on unknown keys and bad values too, reporting them: any output is a finding
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        result.stdout + result.stderr)


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_units_stay_hardened(tmp_path: Path, unit: str) -> None:
    root = make_root(tmp_path)
    # systemd's exposure scale is 0..10, given here times ten; 2.5 stays well inside "OK"
    result = analyze("security", "--offline=yes", "--threshold=25", f"--root={root}", unit)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def test_daemon_unit_talks_to_systemd() -> None:
    unit = "buhdesk.service"
    assert one(unit, "Type") == "notify"
    assert one(unit, "WatchdogSec")
    assert one(unit, "ExecStart").endswith("buhdesk run")
    assert "buhdesk check" in one(unit, "ExecStartPre")
    assert "-HUP" in one(unit, "ExecReload")  # SIGHUP reloads the rules
    assert one(unit, "Restart") == "on-failure"
    assert one(unit, "User") == "buhdesk"


@pytest.mark.parametrize("unit", UNITS)
def test_units_are_confined(unit: str) -> None:
    assert one(unit, "ProtectSystem") == "strict"
    assert one(unit, "NoNewPrivileges") == "yes"
    assert one(unit, "CapabilityBoundingSet") == ""
    assert one(unit, "User") != "root"
    assert values(unit, "WantedBy", "Install") == ["multi-user.target"]


def test_every_secret_the_config_names_is_a_credential() -> None:
    config = tomllib.loads((DEPLOY / "buhdesk.example.toml").read_text(encoding="utf-8"))
    names = {config["service"]["secret_env"], config["outbox"]["password_env"]}
    names |= {s["password_env"] for s in config["sources"] if s.get("password_env")}
    loaded = {v.split(":", 1)[0] for v in values("buhdesk.service", "LoadCredential")}
    assert names <= loaded, f"missing LoadCredential= for {sorted(names - loaded)}"
    assert "BUHDESK_SECRET" in {v.split(":", 1)[0]
                                for v in values("buhdesk-web.service", "LoadCredential")}


def test_the_store_is_writable_under_protect_system() -> None:
    config = tomllib.loads((DEPLOY / "buhdesk.example.toml").read_text(encoding="utf-8"))
    db = Path(make_url(config["store"]["url"]).database or "")
    blobs = Path(config["store"]["blobs"])
    unit = "buhdesk.service"
    writable = [Path("/var/lib") / d for d in values(unit, "StateDirectory")]
    writable += [Path(p.lstrip("-")) for v in values(unit, "ReadWritePaths") for p in v.split()]
    for path in (db, blobs):
        assert any(path.is_relative_to(w) for w in writable), f"{path} is read-only for {unit}"


@pytest.mark.parametrize("unit", UNITS)
def test_a_missing_credential_file_is_named_not_fatal(unit: str) -> None:
    """systemd alone stops a unit whose LoadCredential= file is missing without saying which;
    the fallback marker lets `buhdesk check` name it (tests/test_cli_failures.py)."""
    loaded = {v.split(":", 1)[0] for v in values(unit, "LoadCredential")}
    fallbacks = dict(v.split(":", 1) for v in values(unit, "SetCredential"))
    assert loaded and set(fallbacks) == loaded
    assert set(fallbacks.values()) == {MISSING_CREDENTIAL}


@pytest.mark.parametrize("unit", UNITS)
def test_optional_paths_do_not_stop_the_unit(unit: str) -> None:
    """Paths a site may not have («ДелоПро» share) are "-"-prefixed: a missing one is skipped;
    only the daemon's state directory, which systemd creates (StateDirectory=), may be required."""
    state = Path("/var/lib") / one("buhdesk.service", "StateDirectory")
    required = [p for v in values(unit, "ReadWritePaths") for p in v.split()
                if not p.startswith("-")]
    assert all(Path(p).is_relative_to(state) for p in required), required
    assert "-/srv/delopro" in values("buhdesk.service", "ReadWritePaths")
