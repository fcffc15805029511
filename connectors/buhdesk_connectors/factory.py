"""Wiring: the configuration names an implementation, this builds it (no registration, no
scanning)."""

from __future__ import annotations

from buhdesk.config import OutboxConfig, SourceConfig
from buhdesk.interfaces import Source, Transport


def make_source(cfg: SourceConfig) -> Source:
    if cfg.kind == "imap":
        from buhdesk_connectors.imap import ImapSource

        return ImapSource(
            name=cfg.name, host=cfg.host, port=cfg.port, user=cfg.user, password=cfg.password(),
            folder=cfg.folder, processed_folder=cfg.processed_folder, security=cfg.security,
            use_idle=cfg.use_idle, cafile=str(cfg.cafile) if cfg.cafile else None,
        )
    if cfg.kind == "maildir":
        from buhdesk_connectors.maildir import MaildirSource

        assert cfg.path is not None
        return MaildirSource(name=cfg.name, path=cfg.path, processed=cfg.processed_folder)
    raise ValueError(f"source kind {cfg.kind!r} is not a mail source")


def make_transport(cfg: OutboxConfig) -> Transport:
    if cfg.kind == "smtp":
        from buhdesk_connectors.smtp import SmtpTransport

        return SmtpTransport(
            host=cfg.host, port=cfg.port, security=cfg.security, user=cfg.user or None,
            password=cfg.password() or None, cafile=str(cfg.cafile) if cfg.cafile else None,
        )
    from buhdesk_connectors.fileoutbox import FileTransport

    assert cfg.path is not None
    return FileTransport(cfg.path)
