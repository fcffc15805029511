"""Real mail servers on loopback for tests, benchmarks and the demo.

``Dovecot`` runs a private Dovecot (IMAP + LMTP) under one root directory on free 127.0.0.1 ports;
``SmtpSink`` is an aiosmtpd server that records what it receives, injects faults and can relay
into a Dovecot over LMTP for a full loop. Nothing here touches a system-wide mail server.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from buhdesk.intake.leases import pid_alive

HOST = "127.0.0.1"
MAIL_UID = 5000
APT_PACKAGES = "dovecot-imapd dovecot-lmtpd"

_CONF = """\
instance_name = buhdesk-{name}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log/dovecot.log
info_log_path = {root}/log/dovecot.log
protocols = imap lmtp
listen = {host}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/users/%n
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {root}/users/%n
}}
first_valid_uid = {first_uid}
mail_location = maildir:{root}/mail/%n/Maildir
mail_fsync = never
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {lmtp_port}
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
{extra}"""


class DovecotMissing(RuntimeError):
    """The dovecot binary is not installed."""


class DovecotError(RuntimeError):
    """The private Dovecot failed to start, stop or take mail."""


def free_port(host: str = HOST) -> int:
    """Return a port that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_binary(name: str) -> str | None:
    """Find a binary on PATH or in the sbin directories a non-root PATH may lack."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def make_certificate(folder: Path, host: str = HOST) -> None:
    """Write a self-signed ``cert.pem``/``key.pem`` for ``host`` and localhost (openssl CLI)."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl = shutil.which("openssl")
    if openssl is None:
        raise DovecotError("TLS needs the openssl binary (Debian package openssl)")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", f"subjectAltName=IP:{host},DNS:localhost",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True,
    )
    (folder / "key.pem").chmod(0o600)


def _wait_banner(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                if sock.recv(256).startswith(b"* OK"):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def _children(parent: int) -> list[int]:
    """Process ids whose parent is ``parent`` (from /proc; empty where there is none)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry.parent.name))
    return found


class Dovecot:
    """A private Dovecot instance: IMAP and LMTP on free 127.0.0.1 ports, mail under ``root``."""

    def __init__(
        self, root: str | Path | None = None, *, host: str = HOST, tls: bool = False
    ) -> None:
        binary = find_binary("dovecot")
        doveadm = find_binary("doveadm")
        if binary is None or doveadm is None:
            raise DovecotMissing(
                f"dovecot is not installed; install the Debian packages: {APT_PACKAGES} "
                "(or run .ci/install-mailstack)"
            )
        self._binary, self._doveadm_bin = binary, doveadm
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="buhdesk-dovecot-") if root is None else root)
        self.host = host
        self.imap_port = 0
        self.lmtp_port = 0
        self.imaps_port = 0
        self.tls = tls
        self._passwords: dict[str, str] = {}
        self._running = False
        self._uid = MAIL_UID if os.geteuid() == 0 else os.geteuid()
        self._gid = MAIL_UID if os.geteuid() == 0 else os.getegid()
        self._prepare_root()

    # -- layout -------------------------------------------------------------------------------

    @property
    def conf_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "log" / "dovecot.log"

    def _prepare_root(self) -> None:
        for sub in ("run", "state", "log", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        # One passwd-file per user: Dovecot re-reads a changed file at most once a second,
        # a new file at once.
        (self.root / "users").mkdir(mode=0o750, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.root / "mail", self._uid, self._gid)
            with contextlib.suppress(KeyError, OSError):
                shutil.chown(self.root / "users", group="dovecot")

    @property
    def cafile(self) -> Path:
        """The self-signed certificate to trust when ``tls`` is on."""
        return self.root / "tls" / "cert.pem"

    def _ssl_conf(self) -> str:
        if not self.tls:
            return "ssl = no"
        tls = self.root / "tls"
        if not self.cafile.exists():
            make_certificate(tls, self.host)
        return f"ssl = yes\nssl_cert = <{tls}/cert.pem\nssl_key = <{tls}/key.pem"

    def _extra_conf(self) -> str:
        if os.geteuid() == 0:
            return ""
        import grp
        import pwd

        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
        return (
            f"default_login_user = {user}\ndefault_internal_user = {user}\n"
            f"default_internal_group = {group}\n"
        )

    def _write_conf(self) -> None:
        text = _CONF.format(
            name=self.root.name, root=self.root, host=self.host, imap_port=self.imap_port,
            lmtp_port=self.lmtp_port, imaps_port=self.imaps_port, ssl=self._ssl_conf(),
            first_uid=min(1000, self._uid), extra=self._extra_conf(),
        )
        self.conf_path.write_text(text, encoding="utf-8")

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        """Start the server and wait for the IMAP banner; keeps its ports across restarts."""
        if self._running:
            return
        fixed = self.imap_port != 0
        for _attempt in range(1 if fixed else 5):
            if not fixed:
                self.imap_port, self.lmtp_port = free_port(self.host), free_port(self.host)
                self.imaps_port = free_port(self.host) if self.tls else 0
            self._write_conf()
            if self._launch(timeout):
                self._running = True
                return
            self._kill_master()
        raise DovecotError(f"dovecot did not start; see {self.log_path}: {self._log_tail()}")

    def _launch(self, timeout: float) -> bool:
        # The daemon's children keep inherited pipes open: send its stderr to a file instead.
        errors = self.root / "log" / "start.err"
        with errors.open("wb") as err:
            done = subprocess.run(
                [self._binary, "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, check=False,
            )
        message = errors.read_text(errors="replace").strip()
        if done.returncode != 0:
            if "in use" in message or "in use" in self._log_tail():
                return False
            raise DovecotError(f"dovecot failed to start: {message}")
        return _wait_banner(self.host, self.imap_port, timeout)

    def _master_pid(self) -> int | None:
        try:
            return int((self.root / "run" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _kill_master(self, sig: signal.Signals = signal.SIGKILL, wait: float = 10.0) -> None:
        pid = self._master_pid()
        if pid is None or not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM to the master, wait for it to exit)."""
        self._kill_master(signal.SIGTERM)
        self._kill_master(signal.SIGKILL)
        self._running = False

    def kill(self) -> None:
        """SIGKILL the master and its processes, as a crash would; open sessions break.

        ``start()`` afterwards serves the same mail on the same ports.
        """
        master = self._master_pid()
        children = _children(master) if master is not None else []
        # all at once: waiting for the master first would leave open sessions served meanwhile
        for pid in [master, *children] if master is not None else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._kill_master(signal.SIGKILL)
        self._running = False
        self._wait_port_free(self.imap_port)

    def _wait_port_free(self, port: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, port), timeout=0.5).close()
            except OSError:
                return
            time.sleep(0.02)

    def cleanup(self) -> None:
        """Stop and remove the root directory if this object created it."""
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- users and mail -----------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add a mail user (the passwd-file is re-read by Dovecot on change)."""
        if not name or any(c in name for c in ":/%\n") or any(c in password for c in ":\n"):
            raise ValueError("user name or password contains ':', '/', '%' or a newline")
        home = self.root / "mail" / name
        line = f"{name}:{{PLAIN}}{password}:{self._uid}:{self._gid}::{home}\n"
        path = self.root / "users" / name
        path.write_text(line, encoding="utf-8")
        path.chmod(0o640)
        if os.geteuid() == 0:
            with contextlib.suppress(KeyError, OSError):
                shutil.chown(path, group="dovecot")
        self._passwords[name] = password

    def password(self, user: str) -> str:
        return self._passwords[user]

    def connect(self, user: str) -> imaplib.IMAP4:
        """Open a logged-in imaplib connection as ``user`` (caller logs out)."""
        client = imaplib.IMAP4(self.host, self.imap_port, timeout=30)
        try:
            client.login(user, self._passwords[user])
        except (imaplib.IMAP4.error, OSError):
            client.shutdown()
            raise
        return client

    def append(self, user: str, folder: str, messages: Iterable[bytes]) -> int:
        """APPEND messages over one IMAP connection, creating the folder if missing."""
        client = self.connect(user)
        try:
            client.create(folder)  # NO [ALREADYEXISTS] is fine
            count = 0
            for raw in messages:
                typ, data = client.append(folder, None, None, raw)
                if typ != "OK":
                    raise DovecotError(f"APPEND to {folder} failed: {data!r}")
                count += 1
            return count
        finally:
            client.logout()

    def count(self, user: str, folder: str = "INBOX") -> int:
        """Number of messages in a folder (0 if it does not exist)."""
        client = self.connect(user)
        try:
            typ, data = client.status(folder, "(MESSAGES)")
            if typ != "OK":
                return 0
            return int(data[0].split(b"MESSAGES")[1].strip(b" )"))
        finally:
            client.logout()

    def fill_fast(self, user: str, messages: Sequence[bytes], folder: str = "INBOX") -> int:
        """Load messages with ``doveadm import`` from a temporary Maildir (fast bulk fill)."""
        source = Path(tempfile.mkdtemp(prefix="import-", dir=self.root))
        try:
            box = source if folder == "INBOX" else source / f".{folder}"
            for sub in ("cur", "new", "tmp"):
                (box / sub).mkdir(parents=True, exist_ok=True)
                (source / sub).mkdir(parents=True, exist_ok=True)
            stamp = int(time.time())
            for number, raw in enumerate(messages):
                (box / "cur" / f"{stamp}.M{number}P{os.getpid()}.buhdesk:2,").write_bytes(raw)
            self._chown_tree(source)
            self._doveadm("import", "-u", user, f"maildir:{source}:INDEX=MEMORY", "",
                          "mailbox", folder)
            return len(messages)
        finally:
            shutil.rmtree(source, ignore_errors=True)

    def _chown_tree(self, top: Path) -> None:
        if os.geteuid() != 0:
            return
        for folder, dirs, files in os.walk(top):
            os.chown(folder, self._uid, self._gid)
            for name in dirs + files:
                os.chown(os.path.join(folder, name), self._uid, self._gid)

    def _doveadm(self, *args: str) -> str:
        done = subprocess.run(
            [self._doveadm_bin, "-c", str(self.conf_path), *args],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise DovecotError(f"doveadm {args[0]} failed: {done.stderr.strip()}")
        return done.stdout


# -- SMTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the sink accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


_DROP = "drop"


class _LongLineSMTP(SMTP):
    """aiosmtpd with a line limit that real, broken mailers exceed without harm, and a server
    that can hang after answering QUIT."""

    line_length_limit = 1 << 20

    async def smtp_QUIT(self, arg: str) -> None:
        stall = 0.0 if arg else self.event_handler.sink.take_quit_stall()
        if not stall:
            await super().smtp_QUIT(arg)
            return
        await self.push("221 Bye")
        time.sleep(stall)  # noqa: ASYNC251  # the server hangs: not even TLS close_notify is sent
        self._handler_coroutine.cancel()  # type: ignore[union-attr]
        self.transport.close()  # type: ignore[union-attr]


class _SinkHandler:
    """aiosmtpd handler: records, rejects and fails on request."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.sink.rejected:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        fault = self.sink.take_fault()
        if fault == _DROP:
            server.transport.close()
            return "421 4.3.2 Connection dropped by the test"
        if fault is not None:
            return fault
        data = envelope.original_content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        message = ReceivedMessage(str(envelope.mail_from), tuple(envelope.rcpt_tos), data)
        if self.sink.relay is not None:
            loop = asyncio.get_running_loop()
            relayed = await loop.run_in_executor(None, self.sink.relay_lmtp, message)
            if relayed is not None:
                return relayed
        self.sink.record(message)
        return "250 2.0.0 OK: queued"


class _SinkController(Controller):
    def __init__(self, handler: _SinkHandler, *, starttls: ssl.SSLContext | None = None,
                 users: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(handler, **kwargs)  # type: ignore[arg-type]
        self._starttls = starttls
        self._users = users
        self._connections: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def factory(self) -> SMTP:
        auth: dict[str, object] = {} if self._users is None else {
            "authenticator": self._authenticate, "auth_required": False,
            "auth_require_tls": False}
        server = _LongLineSMTP(self.handler, decode_data=False, hostname="sink.localhost",
                               tls_context=self._starttls, require_starttls=bool(self._starttls),
                               **auth)  # type: ignore[arg-type]
        self._connections.add(server)
        return server

    def _authenticate(self, _server: SMTP, _session: Session, _envelope: Envelope,
                      mechanism: str, data: object) -> AuthResult:
        users = self._users or {}
        ok = (mechanism in ("LOGIN", "PLAIN") and isinstance(data, LoginPassword)
              and users.get(data.login.decode()) == data.password.decode())
        return AuthResult(success=ok, handled=False)

    def stop(self, no_assert: bool = False) -> None:
        """Drop the open connections inside the server's loop, then stop it. aiosmtpd only
        cancels their tasks as the loop stops, so a socket could be left for the garbage
        collector to find (an "unclosed transport" warning wherever that happens)."""
        if self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._drop_connections(), self.loop).result(10)
        super().stop(no_assert)

    async def _drop_connections(self) -> None:
        # First stop accepting: a connection accepted just now has its transport, but its
        # protocol's connection_made (which names the transport) has not run yet; the loop is
        # let run so that it does, and only then is every connection aborted.
        if self.server is not None:
            self.server.close()
        for _ in range(3):
            await asyncio.sleep(0)
        for server in list(self._connections):
            if server.transport is not None:
                server.transport.abort()
        for _ in range(3):  # the transports' connection_lost callbacks run
            await asyncio.sleep(0)


class SmtpSink:
    """An SMTP server on a free 127.0.0.1 port that records what it accepts.

    Faults: ``fail_next(n, code)`` answers the next ``n`` DATA commands with ``code``;
    ``reject_recipient(addr)`` refuses an address with 550 5.1.1; ``drop_next(n)`` closes the
    connection at DATA instead of answering; ``stall_after_quit(s)`` hangs the server after
    it answers QUIT; ``down()``/``up()`` stop and resume listening on the same port. With
    ``relay`` set, accepted mail is delivered to that Dovecot over LMTP (recipients' local parts
    are its users). With ``users`` (login → password) the server offers AUTH and checks it.
    """

    def __init__(
        self, *, host: str = HOST, relay: Dovecot | None = None,
        tls: Literal["none", "starttls", "ssl"] = "none", users: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.users = users  # login -> password: AUTH offered and checked when set
        self.tls = tls
        self._certdir: Path | None = None
        self.port = 0
        self.relay = relay
        self.rejected: set[str] = set()
        self._messages: list[ReceivedMessage] = []
        self._faults: list[str] = []
        self._quit_stall = 0.0
        self._cond = threading.Condition()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._cond:
            return list(self._messages)

    def start(self) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        self.up()

    def up(self) -> None:
        """Listen (again) on the sink's port."""
        if self._controller is not None:
            return
        context = self._server_context()
        controller = _SinkController(
            _SinkHandler(self), hostname=self.host, port=self.port,
            starttls=context if self.tls == "starttls" else None,
            ssl_context=context if self.tls == "ssl" else None, users=self.users,
        )
        controller.start()
        self._controller = controller

    @property
    def cafile(self) -> Path:
        """The self-signed certificate clients should trust (``tls`` other than "none")."""
        if self._certdir is None:
            self._certdir = Path(tempfile.mkdtemp(prefix="buhdesk-sink-tls-"))
            make_certificate(self._certdir, self.host)
        return self._certdir / "cert.pem"

    def _server_context(self) -> ssl.SSLContext | None:
        if self.tls == "none":
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cafile, self.cafile.with_name("key.pem"))
        return context

    def down(self) -> None:
        """Stop listening; connections are refused until ``up()``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def stop(self) -> None:
        self.down()
        if self._certdir is not None:
            shutil.rmtree(self._certdir, ignore_errors=True)
            self._certdir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(self, count: int, code: int = 451) -> None:
        """Answer the next ``count`` messages' DATA with ``code`` (4xx transient, 5xx permanent)."""
        text = "4.3.0 Temporary failure, try again" if code < 500 else "5.7.1 Message rejected"
        with self._cond:
            self._faults.extend([f"{code} {text}"] * count)

    def drop_next(self, count: int) -> None:
        """Close the connection instead of answering the next ``count`` messages' DATA."""
        with self._cond:
            self._faults.extend([_DROP] * count)

    def stall_after_quit(self, seconds: float) -> None:
        """After answering the next QUIT, hang for ``seconds`` before closing the connection."""
        with self._cond:
            self._quit_stall = seconds

    def take_quit_stall(self) -> float:
        with self._cond:
            stall, self._quit_stall = self._quit_stall, 0.0
            return stall

    def reject_recipient(self, address: str) -> None:
        self.rejected.add(address.lower())

    def take_fault(self) -> str | None:
        with self._cond:
            return self._faults.pop(0) if self._faults else None

    def record(self, message: ReceivedMessage) -> None:
        with self._cond:
            self._messages.append(message)
            self._cond.notify_all()

    def relay_lmtp(self, message: ReceivedMessage) -> str | None:
        """Deliver to the relay Dovecot; return an SMTP error reply, or None when delivered."""
        if self.relay is None:
            return None
        try:
            with smtplib.LMTP(self.relay.host, self.relay.lmtp_port, local_hostname="localhost",
                              timeout=30) as lmtp:
                refused = lmtp.sendmail(message.mail_from, list(message.rcpt_tos), message.data)
        except smtplib.SMTPRecipientsRefused:
            return "550 5.1.1 Recipients refused by the mailbox server"
        except (smtplib.SMTPException, OSError):
            return "451 4.4.0 Mailbox server unavailable"
        if refused:
            return "451 4.4.0 Some recipients were not delivered"
        return None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages were received; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"sink got {len(self._messages)} of {count} messages")
            return list(self._messages)
