"""Leases in the store: at most one instance fetches from a source at a time.

A lease is a row (name, holder, expires_at). Its holder renews it while working; when the holder
dies the lease expires after ``ttl`` seconds and any instance may take it over with one atomic
``UPDATE ... WHERE expires_at < now``. A holder that died on this very host is recognised at once
(its process is gone), so a restarted daemon resumes without waiting for the expiry.

On PostgreSQL the database's clock decides expiry, so instances on several machines agree even
when their own clocks drift; on SQLite (one machine) the local clock is used.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from buhdesk.store.models import Lease

log = logging.getLogger(__name__)


def new_holder_id() -> str:
    """``hostname:pid:random``: unique per process start, and tells which host and process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_here(holder: str, hostname: str | None = None) -> bool:
    """True when ``holder`` names a process on this host that no longer exists."""
    host, _, rest = holder.rpartition(":")[0].rpartition(":")
    if not host or not rest.isdigit():
        return False
    pid = int(rest)
    return host == (hostname or socket.gethostname()) and pid != os.getpid() and not pid_alive(pid)


class LeaseKeeper:
    """Acquire, renew and release named leases for one holder."""

    def __init__(self, engine: Engine, holder_id: str, ttl: float = 30.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        if ttl <= 0:
            raise ValueError("lease ttl must be positive")
        self.engine, self.holder, self.ttl = engine, holder_id, timedelta(seconds=ttl)
        self._clock = clock
        self.held: set[str] = set()

    def _now(self, conn: Connection) -> datetime:
        if self._clock is not None:
            return self._clock()
        if self.engine.dialect.name == "postgresql":
            value = conn.execute(select(func.now())).scalar_one()
            return value.astimezone(UTC)
        return datetime.now(UTC)

    def try_acquire(self, name: str) -> bool:
        """Hold ``name`` for another ``ttl``: renew it, take it over if expired, or create it."""
        with self.engine.begin() as conn:
            now = self._now(conn)
            until = now + self.ttl
            mine = update(Lease).where(col(Lease.name) == name, col(Lease.holder) == self.holder)
            if conn.execute(mine.values(expires_at=until)).rowcount:
                return self._got(name, "renewed")
            expired = update(Lease).where(col(Lease.name) == name, col(Lease.expires_at) < now)
            if conn.execute(expired.values(holder=self.holder, expires_at=until)).rowcount:
                return self._got(name, "took over an expired lease on")
            current = conn.execute(
                select(col(Lease.holder)).where(col(Lease.name) == name)).scalar()
            if current is not None and dead_here(current):
                gone = update(Lease).where(col(Lease.name) == name, col(Lease.holder) == current)
                if conn.execute(gone.values(holder=self.holder, expires_at=until)).rowcount:
                    return self._got(name, f"took over from dead local process {current} on")
            if current is not None:
                return self._lost(name)
        try:
            with self.engine.begin() as conn:
                now = self._now(conn)
                conn.execute(insert(Lease).values(name=name, holder=self.holder,
                                                  expires_at=now + self.ttl))
        except IntegrityError:  # another instance created it first
            return self._lost(name)
        return self._got(name, "acquired")

    def renew(self, name: str) -> bool:
        """Extend a lease this holder has; False when it was lost (expired and taken over)."""
        with self.engine.begin() as conn:
            until = self._now(conn) + self.ttl
            stmt = update(Lease).where(col(Lease.name) == name, col(Lease.holder) == self.holder)
            if conn.execute(stmt.values(expires_at=until)).rowcount:
                self.held.add(name)
                return True
        return self._lost(name)

    def release(self, name: str) -> None:
        """Give ``name`` up at once (on stop), so another instance need not wait for expiry."""
        with self.engine.begin() as conn:
            conn.execute(delete(Lease).where(col(Lease.name) == name,
                                             col(Lease.holder) == self.holder))
        if name in self.held:
            log.info("lease: released %s", name)
        self.held.discard(name)

    def release_all(self) -> None:
        for name in sorted(self.held):
            self.release(name)

    def _got(self, name: str, how: str) -> bool:
        if name not in self.held:
            log.info("lease: %s %s as %s", how, name, self.holder)
        self.held.add(name)
        return True

    def _lost(self, name: str) -> bool:
        if name in self.held:
            log.warning("lease: lost %s (another instance holds it now)", name)
        self.held.discard(name)
        return False
