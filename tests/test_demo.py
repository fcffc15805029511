"""`buhdesk demo` leaves a workspace a new administrator can use with the commands it prints:
they run as printed (no PATH, no secret in the environment), read the workspace's own copies of
the rules and templates, and the survey and knowledge-base links in its letters lead to the page
`web` serves."""

from __future__ import annotations

import io
import os
import re
import shlex
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest
from support import wait_until

from buhdesk.cli.survey import default_web_port
from buhdesk.config import load_config, package_data_dir
from buhdesk.cli.demo import run_demo
from buhdesk.kb.mail import public_url

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("demo") / "buhdesk-demo"
    saved = {k: os.environ.pop(k) for k in ("BUHDESK_SECRET", "CREDENTIALS_DIRECTORY")
             if k in os.environ}
    try:
        out = io.StringIO()
        assert run_demo(root, out=out) == 0
    finally:
        os.environ.update(saved)
    return root, out.getvalue()


def hinted(text: str) -> dict[str, list[str]]:
    """The commands the demo tells the administrator to run, by subcommand."""
    commands = {}
    for line in text.splitlines():
        if " --config " in line and "#" in line:
            argv = shlex.split(line.split("#")[0])
            commands[argv[-1]] = argv
    return commands


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BUHDESK_SECRET",
                                                            "CREDENTIALS_DIRECTORY")}
    env["PATH"] = "/usr/bin:/bin"  # a fresh shell: the venv is not on the PATH
    return env


def test_the_workspace_has_its_own_rules_templates_and_a_private_secret(
        demo: tuple[Path, str]) -> None:
    root, _ = demo
    config = load_config(root / "buhdesk.toml")
    assert config.rules_dir == root / "rules" and config.templates_dir == root / "templates"
    shipped = package_data_dir("rules") / "staff.toml"
    assert (root / "rules" / "staff.toml").read_bytes() == shipped.read_bytes()
    assert sorted(p.name for p in (root / "templates").iterdir()) == sorted(
        p.name for p in package_data_dir("templates").iterdir())
    secret = config.service.secret_file
    assert secret == root / "secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(bytes.fromhex(secret.read_text(encoding="utf-8"))) >= 32


def test_every_hinted_command_runs_as_printed(demo: tuple[Path, str]) -> None:
    _, text = demo
    commands = hinted(text)
    assert {"check", "held", "list", "web"} <= set(commands)
    assert Path(commands["check"][0]).is_absolute()
    for name in ("check", "held", "list"):
        done = subprocess.run(commands[name], env=clean_env(), capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, (name, done.stdout, done.stderr)
    checked = subprocess.run(commands["check"], env=clean_env(), capture_output=True,
                             text=True, timeout=120, check=False).stdout
    assert "Проверка пройдена." in checked and str(demo[0] / "rules") in checked


def test_links_in_the_letters_lead_to_the_page_web_serves(demo: tuple[Path, str]) -> None:
    root, text = demo
    config = load_config(root / "buhdesk.toml")
    base = public_url(config)
    letters = "".join(p.read_text(encoding="utf-8", errors="replace")
                      for p in (root / "outbox").rglob("*") if p.is_file())
    survey = sorted(set(re.findall(re.escape(base) + r"/survey/[A-Za-z0-9_.=-]+", letters)))
    assert survey, "the demo sent survey invitations linking to the configured address"
    assert f"{base}/kb" in text
    assert base.endswith(f":{default_web_port(config)}")
    log = root / "web.log"
    with open(log, "wb") as err:
        web = subprocess.Popen(hinted(text)["web"], env=clean_env(), stdout=subprocess.DEVNULL,
                               stderr=err)
    try:
        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/kb", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return web.poll() is not None  # stop waiting if it died
        wait_until(answers, 60, "buhdesk web answering on the configured port")
        assert web.poll() is None, log.read_text(encoding="utf-8", errors="replace")
        with urllib.request.urlopen(survey[0], timeout=10) as r:
            assert r.status == 200
    finally:
        web.terminate()
        web.wait(timeout=30)
