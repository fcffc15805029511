"""Wiring: the configuration names an implementation, this builds it (no registration, no
scanning)."""

from __future__ import annotations

from buhdesk.config import ImapSourceConfig, MaildirSourceConfig, OutboxConfig, SourceConfig
from buhdesk.interfaces import Source, Transport


def make_source(cfg: SourceConfig) -> Source:
    if isinstance(cfg, ImapSourceConfig):
        from buhdesk_connectors.imap import ImapSource

        return ImapSource(
            name=cfg.name, host=cfg.host, port=cfg.port, user=cfg.user, password=cfg.password(),
            folder=cfg.folder, processed_folder=cfg.processed_folder, security=cfg.security,
            use_idle=cfg.use_idle, cafile=str(cfg.cafile) if cfg.cafile else None,
        )
    if isinstance(cfg, MaildirSourceConfig):
        from buhdesk_connectors.maildir import MaildirSource

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

    if cfg.path is None:  # load_config requires it; an OutboxConfig made by hand may lack it
        raise ValueError("an outbox of kind 'files' needs a path")
    return FileTransport(cfg.path)
