"""SMTP submission as a buhdesk Transport, with aiosmtplib.

One connection per batch. Replies map to the core's two delivery errors: 5xx is permanent (a human
looks at it), 4xx, timeouts and lost connections are transient (the outbox retries with back-off).
A connection lost mid-batch is re-opened once; if that fails the rest of the batch is transient.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from typing import Literal

import aiosmtplib
from aiosmtplib.errors import (
    SMTPException,
    SMTPRecipientsRefused,
    SMTPResponseException,
)
from aiosmtplib.protocol import SMTPProtocol
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from buhdesk.interfaces import Envelope, PermanentDeliveryError, TransientDeliveryError

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]
# Failures of the connection itself: nothing is known about the message, try again later.
CONNECTION_ERRORS = (
    aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError,
    OSError, asyncio.TimeoutError,
)


CLOSE_GRACE = 2.0  # seconds a server gets to close a connection after QUIT


class _ConnectionLost(Exception):
    """Internal: the SMTP connection failed; the batch loop reconnects or gives up."""


class _LoginRefused(Exception):
    """Internal: the server refused our credentials; retrying now would not help."""


def delivery_error(error: Exception) -> TransientDeliveryError | PermanentDeliveryError:
    """Map an aiosmtplib failure for one message to the core's delivery error."""
    if isinstance(error, SMTPRecipientsRefused):
        return _refused(error)
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        # A configuration problem, not the message's: keep it queued.
        return TransientDeliveryError(f"SMTP authentication failed: {error.code} {error.message}")
    if isinstance(error, SMTPResponseException):
        text = f"SMTP {error.code} {error.message}"
        return PermanentDeliveryError(text) if error.code >= 500 else TransientDeliveryError(text)
    if isinstance(error, ValueError):
        return PermanentDeliveryError(f"address cannot be sent: {error}")
    return TransientDeliveryError(f"SMTP connection failed: {error!r}")


def _refused(error: SMTPRecipientsRefused) -> TransientDeliveryError | PermanentDeliveryError:
    parts = [f"{r.recipient}: {r.code} {r.message}" for r in error.recipients]
    text = "all recipients refused: " + "; ".join(parts)
    if error.recipients and all(r.code >= 500 for r in error.recipients):
        return PermanentDeliveryError(text)
    return TransientDeliveryError(text)


class SmtpTransport:
    """Send envelopes through an SMTP server (submission with STARTTLS by default)."""

    def __init__(
        self, *, host: str, port: int, security: Security = "starttls",
        user: str | None = None, password: str | None = None, timeout: float = 30,
        cafile: str | None = None, local_hostname: str | None = None,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"unknown SMTP security {security!r}")
        self.host, self.port, self.security = host, port, security
        self.user, self._password = user, password
        self.timeout, self.cafile, self.local_hostname = timeout, cafile, local_hostname

    def __repr__(self) -> str:
        return f"SmtpTransport({self.host}:{self.port}, security={self.security!r})"

    def send(self, envelopes: Sequence[Envelope], *,
             on_sent: Callable[[str], None] | None = None) -> dict[str, Exception | None]:
        """Send the batch over one connection; map each key to None or its delivery error.
        ``on_sent(key)`` runs as soon as the server has accepted that message."""
        if not envelopes:
            return {}
        return asyncio.run(self._send_all(envelopes, on_sent or (lambda _key: None)))

    def close(self) -> None:
        """Nothing to release: each batch opens and closes its own connection."""

    # -- internals ------------------------------------------------------------------------------

    def _client(self) -> aiosmtplib.SMTP:
        context = None
        if self.security != "none":
            context = ssl.create_default_context(cafile=self.cafile)
        return aiosmtplib.SMTP(
            hostname=self.host, port=self.port, username=self.user, password=self._password,
            local_hostname=self.local_hostname, timeout=self.timeout,
            use_tls=self.security == "ssl", start_tls=self.security == "starttls",
            tls_context=context,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as e:
            client.close()
            raise _LoginRefused(f"authentication failed: {e.code} {e.message}") from e
        except (*CONNECTION_ERRORS, SMTPException) as e:
            client.close()
            raise _ConnectionLost(str(e) or repr(e)) from e
        return client

    async def _open(self) -> aiosmtplib.SMTP:
        """Connect, trying a second time after a short pause if the first attempt fails."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(2), wait=wait_fixed(0.2), reraise=True,
            retry=retry_if_exception_type(_ConnectionLost),
            before_sleep=lambda state: log.warning(
                "SMTP %s:%s unreachable (%s); trying once more", self.host, self.port,
                state.outcome.exception() if state.outcome else None),
        )
        async for attempt in retrying:
            with attempt:
                return await self._connect()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_all(self, envelopes: Sequence[Envelope],
                        on_sent: Callable[[str], None]) -> dict[str, Exception | None]:
        results: dict[str, Exception | None] = {}
        pending = list(envelopes)
        client: aiosmtplib.SMTP | None = None
        drops = 0
        try:
            while pending:
                if client is None:
                    client = await self._open()
                try:
                    outcome = await self._send_one(client, pending[0])
                except _ConnectionLost as e:
                    log.warning("SMTP connection lost while sending %s: %s", pending[0].key, e)
                    client.close()
                    client, drops = None, drops + 1
                    if drops > 1:
                        raise
                    continue
                envelope = pending.pop(0)
                results[envelope.key] = outcome
                if outcome is None:
                    on_sent(envelope.key)
        except (_ConnectionLost, _LoginRefused) as e:
            error = TransientDeliveryError(f"SMTP {self.host}:{self.port}: {e}")
            log.warning("SMTP %s:%s: %d messages left queued: %s",
                        self.host, self.port, len(pending), e)
            results.update((envelope.key, error) for envelope in pending)
        finally:
            if client is not None:
                await _quit(client)
        return results

    async def _send_one(self, client: aiosmtplib.SMTP, envelope: Envelope) -> Exception | None:
        try:
            errors, _reply = await client.sendmail(
                envelope.sender, list(envelope.recipients), envelope.data
            )
        except aiosmtplib.SMTPServerDisconnected as e:
            raise _ConnectionLost(str(e)) from e
        except (SMTPException, ValueError) as e:
            if isinstance(e, CONNECTION_ERRORS) and not isinstance(e, SMTPResponseException):
                raise _ConnectionLost(str(e) or repr(e)) from e
            error = delivery_error(e)
            log.warning("SMTP refused %s: %s", envelope.key, error)
            return error
        except CONNECTION_ERRORS as e:
            raise _ConnectionLost(str(e) or repr(e)) from e
        if errors:
            refused = "; ".join(f"{addr}: {r.code} {r.message}" for addr, r in errors.items())
            log.warning("SMTP sent %s, but some recipients were refused: %s",
                        envelope.key, refused)
        return None


async def _quit(client: aiosmtplib.SMTP) -> None:
    protocol = client.protocol
    try:
        await client.quit()
    except (SMTPException, OSError):
        client.close()
    if protocol is not None:
        await _closed(protocol)


async def _closed(protocol: SMTPProtocol) -> None:
    """Wait until the connection is gone. A TLS connection still says goodbye (close_notify)
    after ``close()`` returns; if the batch's event loop ended first, the socket would stay open
    until the garbage collector found it. A peer that does not answer is cut off."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_GRACE
    while protocol.transport is not None and loop.time() < deadline:
        await asyncio.sleep(0.005)
    if isinstance(protocol.transport, asyncio.WriteTransport):  # every stream transport is one
        protocol.transport.abort()
        for _ in range(10):  # the transports' connection_lost callbacks run
            if protocol.transport is None:
                break
            await asyncio.sleep(0)
