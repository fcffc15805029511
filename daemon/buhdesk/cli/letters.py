"""``buhdesk letters NUMBER --out DIR``: a request's letters exactly as they arrived.

The stored bytes of every incoming letter of the request are written as ``.eml`` files, so an
accountant gets what the notice said was not kept (a file over the size limit, parts past the part
limit) — the raw letter is kept whole until the retention term destroys it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from buhdesk.cli.parser import RussianArgumentParser
from buhdesk.config import Config

LoadConfig = Callable[[argparse.Namespace], Config]


def register(sub: argparse._SubParsersAction[RussianArgumentParser],
             load_config: LoadConfig) -> None:
    p = sub.add_parser("letters", help="выгрузить исходные письма обращения (.eml)",
                       description="Записать входящие письма обращения в папку файлами .eml — "
                                   "байт в байт, как они пришли, со всеми вложениями.")
    p.add_argument("number", help="номер обращения, например БУХ-2026-000123")
    p.add_argument("--out", required=True, help="папка, куда записать файлы")
    p.add_argument("--json", action="store_true", help="список записанных файлов в JSON")
    p.set_defaults(func=lambda args: run_letters(args, load_config))


def run_letters(args: argparse.Namespace, load_config: LoadConfig) -> int:
    from sqlalchemy import select
    from sqlmodel import Session, col

    from buhdesk.store.blobs import BlobStore
    from buhdesk.store.engine import opened_store
    from buhdesk.store.models import Message, Request
    from buhdesk.store.raw import has_raw, read_raw
    from buhdesk.trust.printsafe import safe_line

    number = args.number.strip().upper()
    out = Path(args.out)
    written: list[dict[str, object]] = []
    config = load_config(args)
    blobs = BlobStore(Path(config.store.blobs))  # letters kept without their attachments
    with opened_store(config.store.url) as engine, Session(engine) as session:
        request = session.execute(select(Request).where(Request.number == number)).scalars().first()
        if request is None:
            print(f"Ошибка: обращение {number} не найдено.", file=sys.stderr)
            return 1
        letters = session.execute(select(Message).where(
            col(Message.request_id) == request.id, col(Message.direction) == "in",
        ).order_by(col(Message.id))).scalars().all()
        out.mkdir(parents=True, exist_ok=True)
        for n, msg in enumerate(letters, 1):
            if not has_raw(session, msg.id):
                continue  # destroyed under the retention term
            path = out / f"{number}-{n:02d}.eml"
            data = read_raw(session, msg.id, blobs)
            path.write_bytes(bytes(data))
            written.append({"file": str(path), "message_id": msg.message_id, "size": len(data),
                            "from": msg.from_addr, "subject": msg.subject})
    if args.json:
        print(json.dumps({"number": number, "letters": written}, ensure_ascii=False, indent=2))
    else:
        for item in written:
            print(f"{safe_line(str(item['file']))}\t{item['size']} байт\t"
                  f"«{safe_line(str(item['subject'] or ''))}»")
        print(f"Записано писем: {len(written)}.")
    return 0
