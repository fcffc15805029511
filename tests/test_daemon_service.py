"""``buhdesk run`` as a systemd service sees it: READY, WATCHDOG and STOPPING on $NOTIFY_SOCKET,
exit code 0 on SIGTERM, rules reloaded on SIGHUP, ``/metrics`` and ``/healthz`` served.

The daemon runs as its own process over a Maildir source and a folder outbox; the test holds the
notification socket, as systemd would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from support import read_rows

from buhdesk.config import load_config, package_data_dir
from harness.loopback import free_port

WAIT = 60.0
UNCLEAR = "Добрый день! Подскажите, пожалуйста, к кому обратиться по моему вопросу?"


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    pause = threading.Event()
    deadline = threading.Timer(timeout, pause.set)
    deadline.start()
    try:
        while not pause.is_set():
            if predicate():
                return
            pause.wait(0.1)
    finally:
        deadline.cancel()
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class NotifySocket:
    """The AF_UNIX datagram socket systemd listens on; collects what the service sends."""

    path: Path
    sock: socket.socket
    received: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def bind(cls, folder: Path) -> NotifySocket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        path = folder / "notify"
        sock.bind(str(path))
        sock.settimeout(0.2)
        return cls(path, sock)

    def _drain(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.received.append(fields)

    def wait_for(self, predicate: Callable[[list[dict[str, str]]], bool], what: str) -> None:
        def seen() -> bool:
            self._drain()
            return predicate(self.received)

        wait_until(seen, what=f"{what}; got {self.received}")

    def after_ready(self) -> list[dict[str, str]]:
        ready = next(i for i, m in enumerate(self.received) if m.get("READY") == "1")
        return self.received[ready + 1:]

    def close(self) -> None:
        self.sock.close()


@dataclass
class Service:
    """A running ``buhdesk run`` and what it works on."""

    process: subprocess.Popen[bytes]
    config: Path
    notify: NotifySocket
    maildir: Path
    rules: Path
    metrics_port: int
    _letters: int = 0

    def log(self) -> str:
        return (self.config.parent / "daemon.log").read_text(encoding="utf-8", errors="replace")

    def deliver(self, data: bytes) -> None:
        """Put a letter into the Maildir the way an MTA does (tmp/, then rename into new/)."""
        self._letters += 1
        name = f"1700000000.M{self._letters}P{os.getpid()}.test"
        (self.maildir / "tmp" / name).write_bytes(data)
        os.rename(self.maildir / "tmp" / name, self.maildir / "new" / name)

    def assignees(self) -> list[str | None]:
        """Who each registered request went to, oldest first (read-only: the daemon writes)."""
        url = load_config(self.config).store.url
        return [row[0] for row in read_rows(url, "SELECT assignee FROM requests ORDER BY id")]

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def service(tmp_path: Path, make_config, store_url: str,  # type: ignore[no-untyped-def]
            secret_env: str) -> Iterator[Service]:
    rules = tmp_path / "rules"
    shutil.copytree(package_data_dir("rules"), rules)
    maildir = tmp_path / "maildir"
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True)
    port = free_port()
    config = make_config(tmp_path, f"""
[paths]
rules = "rules"
[[sources]]
name = "minfin"
kind = "maildir"
path = "maildir"
poll_interval = 1
[web]
metrics_port = {port}
""", store=store_url)
    # a short folder: AF_UNIX socket paths are limited to about a hundred bytes
    folder = Path(tempfile.mkdtemp(prefix="sd-"))
    notify = NotifySocket.bind(folder)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000"}
    env.pop("WATCHDOG_PID", None)
    with open(tmp_path / "daemon.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "buhdesk.cli.command", "--config", str(config), "run"],
            env=env, stdout=subprocess.DEVNULL, stderr=log)
    svc = Service(process, config, notify, maildir, rules, port)
    try:
        yield svc
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        notify.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_ready_then_watchdog_then_stopping_and_exit_code_zero(service: Service) -> None:
    service.notify.wait_for(lambda got: any(m.get("READY") == "1" for m in got), "READY=1")
    ready = next(m for m in service.notify.received if m.get("READY") == "1")
    assert "outbox" in ready.get("STATUS", ""), ready
    service.notify.wait_for(
        lambda got: sum(m.get("WATCHDOG") == "1" for m in service.notify.after_ready()) >= 2,
        "two WATCHDOG=1 after READY")
    assert all(m.get("STATUS") for m in service.notify.after_ready())
    assert service.stop() == 0, service.log()
    service.notify.wait_for(lambda got: any(m.get("STOPPING") == "1" for m in got), "STOPPING=1")
    assert "daemon: stopped" in service.log()


def test_sighup_reloads_rules_and_the_next_letter_follows_them(
        service: Service, make_message) -> None:  # type: ignore[no-untyped-def]
    service.notify.wait_for(lambda got: any(m.get("READY") == "1" for m in got), "READY=1")
    service.deliver(make_message(sender="petrov@culture.example", subject="Вопрос", body=UNCLEAR))
    wait_until(lambda: len(service.assignees()) == 1, what="the first letter registered")
    first = service.assignees()[0]
    assert first == "kovaleva"  # the unsorted queue of the shipped rules
    assert "taken into use" not in service.log()
    service.process.send_signal(signal.SIGHUP)  # nothing changed: reloaded all the same
    # the configuration and the rules each log «taken into use»; count the rules' reloads
    wait_until(lambda: service.log().count("rules from") == 1, what="reload on SIGHUP")
    classify = service.rules / "classify.toml"
    text = classify.read_text(encoding="utf-8")
    assert 'unsorted_queue = "kovaleva"' in text
    classify.write_text(text.replace('unsorted_queue = "kovaleva"', 'unsorted_queue = "nikolaev"'),
                        encoding="utf-8")
    service.process.send_signal(signal.SIGHUP)
    wait_until(lambda: service.log().count("rules from") >= 2, what="reload of changed rules")
    service.deliver(make_message(sender="sidorov@culture.example", subject="Вопрос",
                                 body=UNCLEAR))
    wait_until(lambda: len(service.assignees()) == 2, what="the second letter registered")
    assert service.assignees()[1] == "nikolaev"
    assert service.stop() == 0, service.log()


def test_a_broken_rule_file_on_sighup_keeps_the_old_rules(
        service: Service, make_message) -> None:  # type: ignore[no-untyped-def]
    service.notify.wait_for(lambda got: any(m.get("READY") == "1" for m in got), "READY=1")
    classify = service.rules / "classify.toml"
    classify.write_text(classify.read_text(encoding="utf-8").replace(
        'unsorted_queue = "kovaleva"', 'unsorted_queue = "nobody"'), encoding="utf-8")
    service.process.send_signal(signal.SIGHUP)
    wait_until(lambda: "refused" in service.log(), what="the broken rules refused")
    service.deliver(make_message(sender="petrov@culture.example", subject="Вопрос", body=UNCLEAR))
    wait_until(lambda: len(service.assignees()) == 1, what="the letter registered")
    assert service.assignees()[0] == "kovaleva"
    assert service.process.poll() is None  # still running
    assert service.stop() == 0, service.log()


def _metric(text: str, name: str) -> float:
    """The value of one sample line (``name`` with its labels); 0 when the line is absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _served(service: Service) -> bool:
    try:
        return service.get("/healthz").status_code in (200, 503)
    except httpx.TransportError:
        return False


def test_metrics_and_healthz_are_served_and_follow_the_intake(
        service: Service, make_message) -> None:  # type: ignore[no-untyped-def]
    service.notify.wait_for(lambda got: any(m.get("READY") == "1" for m in got), "READY=1")
    wait_until(lambda: _served(service), timeout=15, what="/healthz served")
    health = service.get("/healthz")
    assert health.status_code == 200 and json.loads(health.text)["status"] == "ok"
    before = service.get("/metrics")
    assert before.headers["content-type"].startswith("text/plain; version=0.0.4")
    taken = 'buhdesk_messages_taken_in_total{source="minfin"}'
    assert _metric(before.text, taken) == 0
    assert 'buhdesk_source_last_poll_timestamp_seconds{source="minfin"}' in before.text
    service.deliver(make_message(sender="petrov@culture.example", subject="Справка 2-НДФЛ",
                                 body="Прошу выдать справку 2-НДФЛ за 2025 год."))
    wait_until(lambda: _metric(service.get("/metrics").text, taken) == 1, what="taken in = 1")
    wait_until(lambda: _metric(service.get("/metrics").text, "buhdesk_requests{state=\"new\"}")
               + _metric(service.get("/metrics").text, "buhdesk_requests{state=\"assigned\"}")
               == 1, what="one open request")
    assert service.get("/healthz").status_code == 200
    assert service.stop() == 0, service.log()
