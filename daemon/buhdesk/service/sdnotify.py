"""systemd's notification protocol (READY, WATCHDOG, STATUS, STOPPING) over $NOTIFY_SOCKET."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """Sends notifications when run under systemd (or a test holding the socket); else no-op."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self.address = address or None
        if self.address and self.address.startswith("@"):
            self.address = "\0" + self.address[1:]  # abstract namespace
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        meant_for_us = not pid or pid == str(os.getpid())
        self.watchdog_interval = (int(usec) / 2_000_000 if usec and usec.isdigit() and meant_for_us
                                  else None)

    def send(self, **fields: str) -> None:
        if not self.address:
            return
        payload = "\n".join(f"{k.upper()}={v}" for k, v in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(payload)
        except OSError as e:
            log.warning("sd_notify to %s failed: %s", self.address, e)

    def ready(self, status: str) -> None:
        self.send(ready="1", status=status)

    def watchdog(self, status: str) -> None:
        self.send(watchdog="1", status=status)

    def stopping(self) -> None:
        self.send(stopping="1", status="остановка")
