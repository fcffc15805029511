"""A throwaway PostgreSQL cluster for the test suite, started the way the tests start Dovecot.

``ThrowawayPostgres`` runs Debian's ``postgresql`` binaries (``initdb``, ``pg_ctl``) on a fresh
data directory in a temporary folder, listening on a free 127.0.0.1 port with trust
authentication for the ``postgres`` role, and removes everything when stopped. initdb refuses to
run as root, so under root the cluster runs as the ``postgres`` system user (created by the
package) through ``runuser``. Durability is switched off: the data lives for one test session.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

HOST = "127.0.0.1"
APT_PACKAGES = "postgresql"
SERVICE_USER = "postgres"


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed (or cannot run here)."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name)) or (0,)


def server_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory (Debian keeps it off the PATH)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version_key)
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresMissing(f"PostgreSQL server not installed (apt-get install {APT_PACKAGES})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class ThrowawayPostgres:
    """One private PostgreSQL server; ``start()``, use ``admin_url``, ``stop()``."""

    def __init__(self) -> None:
        self.bindir = server_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="buhdesk-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SERVICE_USER)
            except KeyError as e:
                shutil.rmtree(self.root, ignore_errors=True)
                raise PostgresMissing(f"no '{SERVICE_USER}' system user to run initdb as "
                                      f"(apt-get install {APT_PACKAGES})") from e
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_user = ["runuser", "-u", SERVICE_USER, "--"]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [*self._as_user, str(self.bindir / args[0]), *args[1:]]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresMissing(f"{args[0]} failed ({done.returncode}): "
                                  f"{done.stderr.strip() or done.stdout.strip()}\n{tail}")

    def start(self) -> None:
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
            options = (f"-c listen_addresses={HOST} -p {self.port} "
                       f"-c unix_socket_directories='{self.root}' -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            self._run("pg_ctl", "-D", str(self.data), "-o", options,
                      "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except PostgresMissing:
                pass  # the folder goes anyway; a stray server dies with its data directory
        shutil.rmtree(self.root, ignore_errors=True)
