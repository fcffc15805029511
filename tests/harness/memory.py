"""In-memory Source and Transport: the seam's simplest implementations, for tests and benchmarks."""

from __future__ import annotations

import email
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import Message
from email.policy import SMTP

from buhdesk.interfaces import Envelope, RawItem


class MemorySource:
    """Items put in are fetched until acknowledged; ``fail_ack`` simulates a lost connection."""

    def __init__(self, name: str = "memory",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.name, self.clock = name, clock
        self.items: list[RawItem] = []
        self.acked: list[str] = []
        self.fail_ack = False

    def put(self, data: bytes, key: str | None = None, at: datetime | None = None) -> RawItem:
        item = RawItem(self.name, key or f"1:{len(self.items) + 1}", data,
                       at or self.clock())
        self.items.append(item)
        return item

    def fetch(self, limit: int) -> Sequence[RawItem]:
        acked = set(self.acked)
        return [i for i in self.items if i.key not in acked][:limit]

    def ack(self, items: Sequence[RawItem]) -> None:
        if self.fail_ack:
            raise ConnectionError("connection lost before the move")
        self.acked.extend(i.key for i in items)

    def wait(self, timeout: float) -> None:
        pass

    def close(self) -> None:
        pass


class MemoryTransport:
    """Records what it sends; ``errors[recipient]`` lists failures to return for it, in turn."""

    def __init__(self) -> None:
        self.sent: list[Envelope] = []
        self.errors: dict[str, list[Exception]] = {}

    def send(self, envelopes: Sequence[Envelope], *,
             on_sent: Callable[[str], None] | None = None) -> dict[str, Exception | None]:
        result: dict[str, Exception | None] = {}
        for env in envelopes:
            queue = self.errors.get(env.recipients[0], [])
            if queue:
                result[env.key] = queue.pop(0)
            else:
                self.sent.append(env)
                result[env.key] = None
                if on_sent is not None:
                    on_sent(env.key)
        return result

    def close(self) -> None:
        pass

    def to(self, address: str) -> list[Message]:
        """Letters sent to ``address``, parsed."""
        return [email.message_from_bytes(e.data, policy=SMTP) for e in self.sent
                if address in e.recipients]
