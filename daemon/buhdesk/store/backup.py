"""Backup and restore of the store and the attachment files, safe while the daemon runs.

SQLite: the online backup API copies a consistent snapshot of the live WAL database (writers go
on), then the attachment files are hard-linked (copied across file systems; they never change, being
named by their content). PostgreSQL: ``pg_dump -Fc`` into the backup folder, ``pg_restore`` back.
``manifest.json`` records the row counts and the SHA-256 of the database copy; restore checks it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from buhdesk.config import Config
from buhdesk.store.blobs import stored_files

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
SQLITE_COPY = "buhdesk.db"
PG_DUMP = "buhdesk.dump"
BLOBS = "blobs"
CORE_TABLES = ("requests", "messages", "attachments")


class BackupError(Exception):
    """A backup or restore was refused or failed; the message is Russian, for the administrator."""


@dataclass
class BlobCopy:
    files: int = 0
    bytes: int = 0
    linked: int = 0
    copied: int = 0


@dataclass
class Manifest:
    store: str  # "sqlite" | "postgresql"
    database: str  # the file name inside the backup folder
    sha256: str
    size: int
    counts: dict[str, int]
    blobs: BlobCopy
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    missing_blobs: list[str] = field(default_factory=list)
    format: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            data["blobs"] = BlobCopy(**data["blobs"])
            return cls(**data)
        except FileNotFoundError as e:
            raise BackupError(f"в {folder} нет файла {MANIFEST}: это не резервная копия") from e
        except (ValueError, TypeError, KeyError) as e:
            raise BackupError(f"файл {folder / MANIFEST} повреждён: {e}") from e


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL, ``None`` for other databases."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("база SQLite в памяти не может быть скопирована")
    return Path(parsed.database)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- backup -------------------------------------------------------------------------------------
def backup(config: Config, dest_dir: Path) -> Manifest:
    """Copy the store and the attachment files into ``dest_dir`` (new or empty)."""
    dest = Path(dest_dir)
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"каталог {dest} не пуст: укажите новый каталог для резервной копии")
    dest.mkdir(parents=True, exist_ok=True)
    db = sqlite_path(config.store.url)
    if db is None:
        manifest, hashes = _dump_postgres(config.store.url, dest)
    else:
        manifest = _copy_sqlite(db, dest / SQLITE_COPY)
    manifest.blobs = copy_tree(Path(config.store.blobs), dest / BLOBS)
    if db is not None:
        hashes = _sqlite_live_hashes(dest / SQLITE_COPY)
    manifest.missing_blobs = _missing_blobs(hashes, dest / BLOBS)
    (dest / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    log.info("backup: %s written (%s, %d blobs)", dest, manifest.counts, manifest.blobs.files)
    return manifest


def _copy_sqlite(db: Path, target: Path) -> Manifest:
    if not db.is_file():
        raise BackupError(f"файл базы данных {db} не найден")
    src = sqlite3.connect(db, timeout=60)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # one step: a consistent snapshot even while others write
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        _check_integrity(dst, target)
        counts = _counts(dst)
    finally:
        dst.close()
        src.close()
    return Manifest(store="sqlite", database=SQLITE_COPY, sha256=file_sha256(target),
                    size=target.stat().st_size, counts=counts, blobs=BlobCopy())


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"копия базы {path} не прошла проверку целостности: {result}")


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


# the files live attachments name, and those stored letters kept without their attachments need
LIVE_HASHES = ("SELECT sha256 FROM attachments WHERE NOT purged AND sha256 <> '' "
               "UNION SELECT sha256 FROM raw_cuts")


def _sqlite_live_hashes(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute(LIVE_HASHES)}
    finally:
        conn.close()


def _missing_blobs(hashes: set[str], blobs: Path) -> list[str]:
    """Live attachments whose file is not in the copy (purged between the two steps, say)."""
    missing = sorted(h for h in hashes if not (blobs / h[:2] / h[2:4] / h).is_file())
    for sha in missing:
        log.warning("backup: attachment file %s is missing", sha)
    return missing


def copy_tree(src: Path, dest: Path) -> BlobCopy:
    """Hard-link (or copy) every attachment file; files being staged are skipped."""
    result = BlobCopy()
    for path in stored_files(src):
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            linked = _link_or_copy(path, target)
            result.linked += linked
            result.copied += not linked
        result.files += 1
        result.bytes += path.stat().st_size
    return result


def _link_or_copy(path: Path, target: Path) -> bool:
    try:
        os.link(path, target)
        return True
    except OSError:
        shutil.copy2(path, target)
        return False


def _pg_url(url: str) -> str:
    """A URL libpq understands (without SQLAlchemy's driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _run(args: list[str], what: str) -> None:
    binary = shutil.which(args[0])
    if binary is None:
        raise BackupError(f"программа {args[0]} не найдена: установите пакет postgresql-client")
    try:
        subprocess.run([binary, *args[1:]], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as e:
        raise BackupError(f"{what} завершился с ошибкой: {e.stderr.strip()}") from e


def _dump_postgres(url: str, dest: Path) -> tuple[Manifest, set[str]]:
    """The dump, and the live attachments' hashes read after it and before the files are
    copied: every attachment of the dump is among them, and each one's file was written before
    its row was committed."""
    target = dest / PG_DUMP
    _run(["pg_dump", "-Fc", "--no-owner", "-f", str(target), _pg_url(url)], "pg_dump")
    counts, hashes = _pg_facts(url)
    return Manifest(store="postgresql", database=PG_DUMP, sha256=file_sha256(target),
                    size=target.stat().st_size, counts=counts, blobs=BlobCopy()), hashes


def _pg_facts(url: str) -> tuple[dict[str, int], set[str]]:
    """Rows of the core tables, and the hashes of the live attachments."""
    from sqlalchemy import text

    from buhdesk.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            counts = {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())
                      for t in CORE_TABLES}
            return counts, set(conn.execute(text(LIVE_HASHES)).scalars())
    finally:
        engine.dispose()


# --- restore ------------------------------------------------------------------------------------
@dataclass
class RestoreReport:
    manifest: Manifest
    target: str
    blobs: BlobCopy


def restore(config: Config, src_dir: Path, *, force: bool = False) -> RestoreReport:
    """Put a backup back; refuses a store that holds data unless ``force``. Stop the daemon
    first."""
    src = Path(src_dir)
    manifest = Manifest.read(src)
    verify(src, manifest)
    db = sqlite_path(config.store.url)
    if not force and not store_is_empty(config):
        raise BackupError("хранилище не пусто: восстановление перезаписало бы данные; "
                          "остановите службу и повторите с --force, если это и нужно")
    if manifest.store == "sqlite":
        if db is None:
            raise BackupError("копия сделана из SQLite, а в настройках указан PostgreSQL")
        _restore_sqlite(src / manifest.database, db)
        target = str(db)
    else:
        if db is not None:
            raise BackupError("копия сделана из PostgreSQL, а в настройках указана SQLite")
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "-d",
              _pg_url(config.store.url), str(src / manifest.database)], "pg_restore")
        target = make_url(config.store.url).render_as_string(hide_password=True)
    blobs = copy_tree(src / BLOBS, Path(config.store.blobs))
    log.info("restore: %s restored from %s (%d blobs)", target, src, blobs.files)
    return RestoreReport(manifest=manifest, target=target, blobs=blobs)


def verify(src: Path, manifest: Manifest) -> None:
    """The database copy and every attachment file are what the manifest and their names say."""
    db = src / manifest.database
    if not db.is_file():
        raise BackupError(f"в копии нет файла базы {db.name}")
    if file_sha256(db) != manifest.sha256:
        raise BackupError(f"контрольная сумма {db.name} не совпадает с {MANIFEST}: "
                          "копия повреждена")
    files = [p for p in (src / BLOBS).rglob("*") if p.is_file()] if (src / BLOBS).is_dir() else []
    if len(files) != manifest.blobs.files:
        raise BackupError(f"в копии {len(files)} файлов вложений, а в {MANIFEST} — "
                          f"{manifest.blobs.files}")
    for path in files:
        if file_sha256(path) != path.name:
            raise BackupError(f"файл вложения {path} повреждён (содержимое не совпадает с именем)")


def store_is_empty(config: Config) -> bool:
    """No requests, no messages and no attachment files."""
    blobs = Path(config.store.blobs)
    if any(True for _ in stored_files(blobs)):
        return False
    db = sqlite_path(config.store.url)
    if db is None:
        try:
            return not any(_pg_facts(config.store.url)[0].values())
        except SQLAlchemyError as e:  # an unmigrated database has no tables: empty
            log.info("restore: store has no readable tables (%s); treating it as empty", e)
            return True
    if not db.exists():
        return True
    conn = sqlite3.connect(db, timeout=60)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return not any(conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()
                       for t in CORE_TABLES if t in names)
    finally:
        conn.close()


def _restore_sqlite(copy: Path, db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.restore")
    shutil.copyfile(copy, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    for suffix in ("-wal", "-shm", "-journal"):  # journals of the old file would corrupt the new
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, db)
    conn = sqlite3.connect(db)
    try:
        _check_integrity(conn, db)
    finally:
        conn.close()
