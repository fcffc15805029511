"""«ДелоПро» packages through the core: registration, re-exports, conflicts, broken packages,
concurrent daemons, crash recovery, answer packages and receipts, and `buhdesk explain`."""

from __future__ import annotations

import io
import json
import secrets
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.reply.answers import Commands, process_answer
from buhdesk.reply.compose import FileToSend
from buhdesk.config import load_config
from buhdesk.rules.documents import DocumentSettingsError, load_document_settings
from buhdesk.cli.explain import run_explain
from buhdesk.interfaces import PackageProblem
from buhdesk.store.models import Attachment, Event, Message, Raw, Request
from buhdesk.intake.packages import commit_document
from buhdesk.service.runner import Daemon
from buhdesk.service.runtime import Runtime, build_runtime
from buhdesk.trust.keys import THREAD
from buhdesk_connectors.delopro import DeloproFolder
from buhdesk_connectors.delopro_outbox import DeloproAnswerTransport
from buhdesk_connectors.delopro_source import DeloproSource
from harness.memory import MemoryTransport

SAMPLES = Path(__file__).parent / "corpus" / "delopro_samples"  # the «ДелоПро» contract samples
RULES = Path(__file__).resolve().parents[1] / "rules"
NS = "{urn:ru-67-minfin:delopro-export:1}"
DOC_UID = "b8d1c6e2-5a7f-4c3e-8f21-9e0a7d3c4b55"
NOW = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)  # a Wednesday, the day the sample was registered
CARD_NAME = {"card": "card.xml", "sev": "DocInfo.xml", "medo": "passport.xml"}
ENCODING = {"card": "cp1251", "sev": "utf-8", "medo": "cp1251"}


# --- packages -----------------------------------------------------------------------------------


def make_package(kind: str, dest: Path) -> Path:
    """A writable copy of a sample, complete (with its marker); СЭВ sizes set to the real ones."""
    src = {"card": SAMPLES / "contract" / "pkg", "sev": SAMPLES / "sev", "medo": SAMPLES / "medo"}
    tmp = dest.parent / f".tmp-{dest.name}"
    shutil.copytree(src[kind], tmp, copy_function=shutil.copyfile)
    for path in [tmp, *tmp.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if kind == "sev":
        xml = (tmp / "DocInfo.xml").read_text("utf-8")
        for name, size in (("Служебная_записка_Ковалева.pdf", "184320"),
                           ("Авансовый_отчет_март.xlsx", "23552")):
            xml = xml.replace(f'Size="{size}"', f'Size="{(tmp / name).stat().st_size}"')
        (tmp / "DocInfo.xml").write_text(xml, "utf-8")
        (tmp / "READY").write_bytes(b"")
    tmp.rename(dest)  # the exporter's rename: the package appears complete
    return dest


def edit(pkg: Path, kind: str, old: str, new: str) -> None:
    name, encoding = CARD_NAME[kind], ENCODING[kind]
    text = (pkg / name).read_text(encoding)
    assert old in text, old
    (pkg / name).write_text(text.replace(old, new), encoding)


def export(d: Daemon, name: str, kind: str = "card") -> Path:
    return make_package(kind, root_of(d) / "incoming" / name)


def root_of(d: Daemon) -> Path:
    return d.package_sources[0].folder.root  # type: ignore[attr-defined]


def processed(d: Daemon) -> list[Path]:
    return sorted((root_of(d) / "processed").glob("*/*/*"))


# --- daemon -------------------------------------------------------------------------------------


def write_config(tmp_path: Path, store_url: str, rules: Path = RULES) -> Path:
    cfg = tmp_path / "buhdesk.toml"
    cfg.write_text(f"""
[service]
name = "Бухгалтерия"
address = "buh@minfin.example"
domain = "minfin.example"
duty_accountant = "ivanova"
admins = ["admin@minfin.example"]
[store]
url = "{store_url}"
[paths]
rules = "{rules}"
[[sources]]
name = "edms"
kind = "delopro"
path = "edms"
[outbox]
kind = "files"
path = "outbox"
""", encoding="utf-8")
    return cfg


DaemonFactory = Callable[[Path], Daemon]


@pytest.fixture
def make_daemon(store_url: str) -> Iterator[DaemonFactory]:
    """``make_daemon(config)``: a Daemon on the config's store; its engine disposed at the end
    (the store fixture is listed so that this runs before its PostgreSQL database is dropped)."""
    made: list[Daemon] = []

    def make(cfg: Path) -> Daemon:
        rt = build_runtime(load_config(cfg), clock=lambda: NOW)
        root = cfg.parent / "edms"
        root.mkdir(exist_ok=True)
        source = DeloproSource("edms", root, stable_interval=30.0)
        answers = DeloproAnswerTransport(DeloproFolder(root), rt.blobs)
        made.append(Daemon(rt, [], MemoryTransport(), package_sources=[source],
                           transports={"delopro:edms": answers}))
        return made[-1]

    yield make
    for d in made:
        d.rt.engine.dispose()


@pytest.fixture
def daemon(tmp_path: Path, store_url: str, make_daemon: DaemonFactory,
           monkeypatch: pytest.MonkeyPatch) -> Daemon:
    monkeypatch.setenv("BUHDESK_SECRET", secrets.token_hex(32))
    d = make_daemon(write_config(tmp_path, store_url))
    d.package_sources[0].folder.ensure_layout()  # type: ignore[attr-defined]
    return d


def mail(d: Daemon) -> MemoryTransport:
    return d.transport  # type: ignore[return-value]


def requests(rt: Runtime) -> list[Request]:
    with Session(rt.engine) as s:
        return list(s.exec(select(Request).order_by(Request.id)).scalars())  # type: ignore[call-overload]


def events(rt: Runtime, action: str) -> list[Event]:
    with Session(rt.engine) as s:
        return list(s.exec(select(Event).where(Event.action == action)  # type: ignore[call-overload]
                           .order_by(Event.id)).scalars())


# --- registration -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["card", "sev", "medo"])
def test_each_format_becomes_a_request_with_the_card_and_files(daemon: Daemon, kind: str) -> None:
    pkg = export(daemon, "PKG1", kind)
    files = {p.name: p.read_bytes() for p in pkg.rglob("*") if p.is_file()}
    card_bytes = (pkg / CARD_NAME[kind]).read_bytes()
    daemon.drain()
    [req] = requests(daemon.rt)
    assert (req.channel, req.source, req.external_uid) == ("delopro", "edms", DOC_UID)
    assert (req.external_number, req.external_date) == ("ВН-1245/25", date(2025, 3, 12))
    assert req.client_name.startswith("Ковалева") and "командировке" in req.subject
    assert req.client_department == "Отдел бюджетной политики"
    assert req.assignee and req.due_at is not None and req.state == "assigned"
    with Session(daemon.rt.engine) as s:
        [msg] = s.exec(select(Message).where(Message.direction == "in")).scalars().all()  # type: ignore[call-overload]
        assert (msg.kind, msg.source, msg.request_id) == ("request", "edms", req.id)
        assert msg.source_key.startswith(DOC_UID + ":")  # type: ignore[union-attr]
        assert s.get(Raw, msg.id).letter() == card_bytes  # type: ignore[union-attr]
        stored = s.exec(select(Attachment).where(Attachment.message_pk == msg.id)).scalars().all()  # type: ignore[call-overload]
    by_name = {a.filename: daemon.rt.blobs.get(a.sha256) for a in stored}
    assert by_name.pop(CARD_NAME[kind]) == card_bytes
    assert any(n.startswith("Служебная") for n in by_name)
    assert all(data in files.values() for data in by_name.values())
    [done] = processed(daemon)
    assert json.loads((done / "receipt.json").read_text("utf-8"))["request"] == req.number
    assert not list((root_of(daemon) / "work").iterdir())
    notice = mail(daemon).to(daemon.rt.rules.staff[req.assignee].email)[0].get_content()
    assert req.number in notice and "Рег. № ВН-1245/25 от 12 марта 2025 г." in notice
    if req.client_email:
        [ack] = mail(daemon).to(req.client_email)
        assert "Рег. № ВН-1245/25" in ack.get_content()


def test_card_author_with_address_gets_the_acknowledgment(daemon: Daemon) -> None:
    export(daemon, "PKG1")
    daemon.drain()
    [req] = requests(daemon.rt)
    assert req.client_email == "a.kovaleva@example.invalid"
    [ack] = mail(daemon).to("a.kovaleva@example.invalid")
    assert req.number in ack["Subject"]


def test_earlier_card_deadline_wins_and_a_later_one_does_not(daemon: Daemon) -> None:
    early = export(daemon, "EARLY")
    edit(early, "card", "<Deadline>2025-03-19</Deadline>\n  <Files>",
         "<Deadline>2025-03-13</Deadline>\n  <Files>")
    late = export(daemon, "LATE")
    edit(late, "card", DOC_UID, "11111111-2222-3333-4444-555555555555")
    edit(late, "card", "<Deadline>2025-03-19</Deadline>\n  <Files>",
         "<Deadline>2025-06-30</Deadline>\n  <Files>")
    daemon.drain()
    tz = daemon.rt.config.service.tz
    due = {r.external_uid: r.due_at.astimezone(tz) for r in requests(daemon.rt)}  # type: ignore[union-attr]
    assert due[DOC_UID].date() == date(2025, 3, 13)
    assert due["11111111-2222-3333-4444-555555555555"].date() < date(2025, 6, 30)


def test_responsible_executor_known_to_staff_is_assigned(daemon: Daemon) -> None:
    pkg = export(daemon, "PKG1")
    edit(pkg, "card", "<FIO>Смирнов Денис Игоревич</FIO>", "<FIO>Григорьева М.Ю.</FIO>")
    daemon.drain()
    [req] = requests(daemon.rt)
    assert req.assignee == "grigorieva"
    [decided] = events(daemon.rt, "decided")
    assert any(r.get("rule") == "card-executor" for r in json.loads(decided.detail)["rules"])


def test_executor_wins_can_be_switched_off(tmp_path: Path, store_url: str,
                                           make_daemon: DaemonFactory,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUHDESK_SECRET", secrets.token_hex(32))
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "delopro.toml").write_text("executor_wins = false\n", encoding="utf-8")
    d = make_daemon(write_config(tmp_path, store_url, rules))
    d.package_sources[0].folder.ensure_layout()  # type: ignore[attr-defined]
    pkg = export(d, "PKG1")
    edit(pkg, "card", "<FIO>Смирнов Денис Игоревич</FIO>", "<FIO>Григорьева М.Ю.</FIO>")
    d.drain()
    [decided] = events(d.rt, "decided")
    assert not any(r.get("rule") == "card-executor" for r in json.loads(decided.detail)["rules"])


def test_wrong_settings_file_is_named_in_russian(tmp_path: Path) -> None:
    (tmp_path / "delopro.toml").write_text('executor_wins = "да"\n', encoding="utf-8")
    with pytest.raises(DocumentSettingsError, match=r"delopro\.toml:1: .*true или false"):
        load_document_settings(tmp_path)


# --- re-exports and conflicts -------------------------------------------------------------------


def test_unchanged_reexport_adds_nothing(daemon: Daemon) -> None:
    export(daemon, "PKG1")
    daemon.drain()
    sent_before = len(mail(daemon).sent)
    export(daemon, "PKG1-again")
    daemon.drain()
    assert len(requests(daemon.rt)) == 1
    assert len(processed(daemon)) == 2
    assert len(mail(daemon).sent) == sent_before
    assert not events(daemon.rt, "amended")


def test_changed_reexport_is_an_amendment(daemon: Daemon) -> None:
    export(daemon, "PKG1")
    daemon.drain()
    [req] = requests(daemon.rt)
    staff_mail = daemon.rt.rules.staff[req.assignee].email  # type: ignore[index]
    pkg = export(daemon, "PKG1-v2")
    edit(pkg, "card", "<Deadline>2025-03-19</Deadline>\n  <Files>",
         "<Deadline>2025-03-14</Deadline>\n  <Files>")
    daemon.drain()
    [again] = requests(daemon.rt)
    assert again.id == req.id
    assert again.due_at.astimezone(daemon.rt.config.service.tz).date() == date(2025, 3, 14)  # type: ignore[union-attr]
    [amended] = events(daemon.rt, "amended")
    changes = json.loads(amended.detail)["changes"]
    assert changes["deadline"] == {"было": "2025-03-19", "стало": "2025-03-14"}
    with Session(daemon.rt.engine) as s:
        kinds = s.exec(select(Message.kind).where(Message.direction == "in")  # type: ignore[call-overload]
                       .order_by(Message.id)).scalars().all()
    assert kinds == ["request", "amendment"]
    letters = [m for m in mail(daemon).to(staff_mail)  # the morning list aside
               if "Мои обращения" not in str(m["Subject"])]
    assert len(letters) == 2 and "срок исполнения" in letters[1].get_content()
    assert len(processed(daemon)) == 2


def test_conflicting_duplicate_is_failed_and_admins_are_told(daemon: Daemon) -> None:
    export(daemon, "PKG1")
    daemon.drain()
    pkg = export(daemon, "CLASH")
    edit(pkg, "card", 'number="ВН-1245/25"', 'number="ВН-9999/25"')
    daemon.drain()
    assert len(requests(daemon.rt)) == 1
    error = json.loads((root_of(daemon) / "failed" / "CLASH" / "error.json").read_text("utf-8"))
    assert error["code"] == "conflict" and "ВН-9999/25" in error["message"]
    assert "ВН-1245/25" in error["message"] and error["file"] == "card.xml"
    assert datetime.fromisoformat(error["first_seen"]) == NOW
    [letter] = mail(daemon).to("admin@minfin.example")
    assert "CLASH" in letter["Subject"] and "ВН-9999/25" in letter.get_content()


def test_broken_package_is_failed_and_the_others_are_taken(daemon: Daemon) -> None:
    broken = export(daemon, "BROKEN")
    (broken / "files" / "002_avansovyi_otchet.xlsx").unlink()
    good = export(daemon, "GOOD", "medo")
    assert good.exists()
    daemon.drain()
    assert [r.external_number for r in requests(daemon.rt)] == ["ВН-1245/25"]
    error = json.loads((root_of(daemon) / "failed" / "BROKEN" / "error.json").read_text("utf-8"))
    assert error["code"] == "file_missing" and error["first_seen"]
    assert [p.name for p in processed(daemon)] == ["GOOD"]
    [letter] = mail(daemon).to("admin@minfin.example")
    assert "BROKEN" in letter["Subject"] and "002_avansovyi_otchet.xlsx" in letter.get_content()


# --- concurrency and crashes --------------------------------------------------------------------


def test_two_daemons_on_one_store_never_register_a_package_twice(
        tmp_path: Path, store_url: str, make_daemon: DaemonFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUHDESK_SECRET", secrets.token_hex(32))
    cfg = write_config(tmp_path, store_url)
    first, second = make_daemon(cfg), make_daemon(cfg)
    first.package_sources[0].folder.ensure_layout()  # type: ignore[attr-defined]
    uids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(12)]
    for n, uid in enumerate(uids):
        pkg = export(first, f"P{n:02d}")
        edit(pkg, "card", DOC_UID, uid)
        if n % 3 == 0:  # the same document exported twice: one request, both packages taken
            edit(export(first, f"P{n:02d}-copy"), "card", DOC_UID, uid)
    errors: list[BaseException] = []

    def run(d: Daemon) -> None:
        try:
            d.drain()
        except BaseException as e:  # noqa: BLE001  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(d,)) for d in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sorted(r.external_uid for r in requests(first.rt)) == uids
    assert len(processed(first)) == 16
    assert not list((tmp_path / "edms" / "incoming").iterdir())
    assert not list((tmp_path / "edms" / "work").iterdir())
    assert not list((tmp_path / "edms" / "failed").iterdir())


def test_crash_after_commit_before_the_move_loses_nothing_and_adds_nothing(
        tmp_path: Path, store_url: str, make_daemon: DaemonFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUHDESK_SECRET", secrets.token_hex(32))
    cfg = write_config(tmp_path, store_url)
    dying = make_daemon(cfg)
    export_root = tmp_path / "edms"
    source = dying.package_sources[0]
    source.folder.ensure_layout()  # type: ignore[attr-defined]
    export(dying, "PKG1")
    [(_handle, doc)] = source.fetch(10)
    commit_document(dying.rt, doc, load_document_settings(RULES))  # type: ignore[arg-type]
    # ... and the process dies here: the package is still in work/
    assert [p.name for p in (export_root / "work").iterdir()] == ["PKG1"]
    restarted = make_daemon(cfg)
    restarted.drain()
    [req] = requests(restarted.rt)
    assert [p.name for p in processed(restarted)] == ["PKG1"]
    assert not list((export_root / "work").iterdir())
    receipt = json.loads((processed(restarted)[0] / "receipt.json").read_text("utf-8"))
    assert receipt["request"] == req.number


# --- answers back -------------------------------------------------------------------------------


def answer(d: Daemon, text: str, *, close: bool,
           files: tuple[FileToSend, ...] = ()) -> Request:
    with Session(d.rt.engine) as s:
        req = s.exec(select(Request)).scalars().one()  # type: ignore[call-overload]
        findings = process_answer(s, d.rt, req, req.assignee, text,  # type: ignore[arg-type]
                                  Commands(close=close, force=True), files=files)
        assert findings is not None
        s.commit()
        s.refresh(req)
        return req


def test_answer_goes_back_as_an_answer_package_and_by_mail(daemon: Daemon) -> None:
    export(daemon, "PKG1")
    daemon.drain()
    spreadsheet = FileToSend("Расчет возмещения.xlsx", "application/vnd.ms-excel", b"xlsx-bytes")
    req = answer(daemon, "Авансовый отчет проверен, возмещение будет перечислено 14 марта.",
                 close=True, files=(spreadsheet,))
    daemon.drain()
    [out] = [p for p in (root_of(daemon) / "outgoing").iterdir() if not p.name.startswith(".")]
    assert (out / "READY").is_file()
    xml = ET.parse(out / "answer.xml").getroot()
    assert xml.findtext(f"{NS}RequestId") == req.number
    assert xml.findtext(f"{NS}Result") == "executed"
    reply_to = xml.find(f"{NS}InReplyTo")
    assert reply_to is not None
    assert (reply_to.get("number"), reply_to.get("date"), reply_to.get("docUid"),
            reply_to.get("resolutionId")) == ("ВН-1245/25", "2025-03-12", DOC_UID, "5521")
    assert "14 марта" in (xml.findtext(f"{NS}Summary") or "")
    assert xml.findtext(f"{NS}Addressee/{NS}FIO") == "Ковалева Анна Сергеевна"
    [listed] = xml.findall(f"{NS}Files/{NS}File")
    assert listed.get("name") == "Расчет возмещения.xlsx"
    assert (out / str(listed.get("path"))).read_bytes() == b"xlsx-bytes"
    letters = mail(daemon).to("a.kovaleva@example.invalid")
    assert any("Ответ на обращение" in m["Subject"] for m in letters)
    with Session(daemon.rt.engine) as s:
        row = s.exec(select(Message).where(Message.kind == "delopro-answer")).scalars().one()  # type: ignore[call-overload]
        assert (row.status, row.to_addrs, row.message_id) == ("sent", "delopro:edms", out.name)


def test_request_without_address_is_answered_through_the_edms_only(daemon: Daemon) -> None:
    pkg = export(daemon, "PKG1")
    edit(pkg, "card", "<Email>a.kovaleva@example.invalid</Email>", "")
    daemon.drain()
    answer(daemon, "Авансовый отчет проверен.", close=False)
    daemon.drain()
    [out] = [p for p in (root_of(daemon) / "outgoing").iterdir() if not p.name.startswith(".")]
    xml = ET.parse(out / "answer.xml").getroot()
    assert xml.findtext(f"{NS}Result") == "explained"
    assert not [e for e in mail(daemon).sent if "a.kovaleva" in " ".join(e.recipients)]


def test_receipts_are_recorded_on_the_request(daemon: Daemon) -> None:
    export(daemon, "PKG1")
    daemon.drain()
    req = answer(daemon, "Авансовый отчет проверен.", close=False)
    daemon.drain()
    [out] = [p for p in (root_of(daemon) / "outgoing").iterdir() if not p.name.startswith(".")]
    (root_of(daemon) / "receipts" / f"{out.name}.err").write_text("Не найден журнал", "utf-8")
    daemon.drain()
    [event] = events(daemon.rt, "receipt-error")
    assert event.request_id == req.id and "Не найден журнал" in event.detail


# --- explain ------------------------------------------------------------------------------------


def explain(paths: list[Path]) -> list[dict[str, object]]:
    out = io.StringIO()
    assert run_explain(paths, config=None, as_json=True, at=NOW, out=out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_explain_json_on_a_package_folder_and_zip_changes_nothing(tmp_path: Path) -> None:
    pkg = make_package("card", tmp_path / "PKG1")
    before = sorted((p.relative_to(pkg), p.read_bytes()) for p in pkg.rglob("*") if p.is_file())
    packed = tmp_path / "PKG2.zip"
    with zipfile.ZipFile(packed, "w") as zf:
        for path in pkg.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(pkg).as_posix())
    folder_result, zip_result = explain([pkg, packed])
    for result in (folder_result, zip_result):
        assert result["action"] == "new-request" and result["error"] is None
        assert result["from"] == "a.kovaleva@example.invalid"
        assert "командировке" in str(result["subject"])
        assert "Служебная записка Ковалева.pdf" in result["attachments"]  # type: ignore[operator]
        assert result["process"] and result["assignee"] and result["rules"]
    after = sorted((p.relative_to(pkg), p.read_bytes()) for p in pkg.rglob("*") if p.is_file())
    assert after == before and packed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PKG1", "PKG2.zip"]


def test_explain_reports_an_unreadable_package(tmp_path: Path) -> None:
    pkg = make_package("card", tmp_path / "PKG1")
    (pkg / "card.xml").write_bytes(b"<Card")
    [result] = explain([pkg])
    assert result["action"] == "fail" and "xml_malformed" in str(result["error"])


def test_explain_of_a_registered_package_names_its_request_and_document(
        daemon: Daemon, tmp_path: Path) -> None:
    from buhdesk.route.explain import ExplainContext, explain_path
    from buhdesk.cli.explain import _text
    from buhdesk_connectors.delopro_source import load_document

    export(daemon, "PKG1")
    daemon.drain()
    [req] = requests(daemon.rt)
    again = make_package("card", tmp_path / "PKG1-again")
    ctx = ExplainContext(rules=daemon.rt.rules, own_address="buh@minfin.example",
                         thread_keys=daemon.rt.keys.keys(THREAD), engine=daemon.rt.engine,
                         load_package=load_document)
    result = explain_path(ctx, again, at=NOW)  # used to fail with DetachedInstanceError
    assert (result["action"], result["request"], result["error"]) == ("duplicate", req.number, None)
    doc = load_document(again)
    assert not isinstance(doc, PackageProblem) and doc.author and doc.reg_date
    out = io.StringIO()
    _text(result, daemon.rt.rules, out)
    assert (f"документ «ДелоПро»: № {doc.reg_number} от {doc.reg_date:%d.%m.%Y}; "
            f"автор: {doc.author.name}") in out.getvalue()
