"""Incidents: a stage failing again and again is one incident, with one letter to the
administrators however many retries it takes, closed by the stage's recovery.

A failure shorter than ``alert_after`` seconds (a server restarting) is only logged. Once a failure
has lasted that long the letter is committed; while the store itself is the cause (disk full,
database locked) the letter cannot be committed, so it is tried again at each retry, and if the
stage recovers first a single letter tells both the failure and the recovery.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from buhdesk.reply import outbox
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Event

log = logging.getLogger(__name__)


@dataclass
class Incident:
    stage: str
    since: datetime
    reason: str
    failures: int = 1
    mailed: bool = False


class Incidents:
    """The open incidents of this daemon, by stage; thread-safe."""

    def __init__(self, rt: Runtime, *, alert_after: float = 60.0) -> None:
        self.rt, self.alert_after = rt, alert_after
        self._open: dict[str, Incident] = {}
        self._lock = threading.Lock()

    def failed(self, stage: str, reason: str) -> None:
        """Note a failure of ``stage``; open its incident, or mail it once it has lasted."""
        now = self.rt.now()
        with self._lock:
            incident = self._open.get(stage)
            if incident is None:
                incident = self._open[stage] = Incident(stage, now, reason)
                log.error("incident: %s failing: %s", stage, reason)
            else:
                incident.failures += 1
                incident.reason = reason
            due = not incident.mailed and (now - incident.since).total_seconds() >= self.alert_after
        if due:
            self._mail(incident, recovered_at=None)

    def recovered(self, stage: str) -> None:
        """``stage`` made progress: close its incident (mailing it if that is still owed)."""
        now = self.rt.now()
        with self._lock:
            incident = self._open.pop(stage, None)
        if incident is None:
            return
        lasted = (now - incident.since).total_seconds()
        log.warning("incident: %s recovered after %.0f s and %d failed attempts", stage, lasted,
                    incident.failures)
        if not incident.mailed and lasted >= self.alert_after:
            self._mail(incident, recovered_at=now)
        self._event(incident, "incident-closed", lasted=round(lasted, 1))

    def open(self) -> dict[str, Incident]:
        with self._lock:
            return dict(self._open)

    def _mail(self, incident: Incident, *, recovered_at: datetime | None) -> None:
        tz = self.rt.config.service.tz
        try:
            with Session(self.rt.engine) as session:
                session.add(Event(stage="service", action="incident-mailed", detail=json.dumps(
                    {"stage": incident.stage, "reason": incident.reason,
                     "failures": incident.failures}, ensure_ascii=False)))
                outbox.notify_admins(
                    session, self.rt, "stage-failed", stage=incident.stage,
                    reason=incident.reason, failures=incident.failures,
                    since=incident.since.astimezone(tz).strftime("%d.%m.%Y %H:%M:%S"),
                    recovered=recovered_at.astimezone(tz).strftime("%d.%m.%Y %H:%M:%S")
                    if recovered_at else None)
                session.commit()
        except Exception as e:  # the store is likely the cause: the next retry tries again
            log.warning("incident: letter about %s not recorded yet: %s", incident.stage, e)
            return
        incident.mailed = True

    def _event(self, incident: Incident, action: str, **detail: object) -> None:
        try:
            with Session(self.rt.engine) as session:
                session.add(Event(stage="service", action=action, detail=json.dumps(
                    {"stage": incident.stage, "failures": incident.failures, **detail},
                    ensure_ascii=False)))
                session.commit()
        except Exception as e:  # only the audit trail: the log line above says it too
            log.warning("incident: %s of %s not recorded: %s", action, incident.stage, e)
