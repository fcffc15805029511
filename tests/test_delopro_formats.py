"""«ДелоПро» packages in all three formats map onto one normalised card."""

from __future__ import annotations

import codecs
import shutil
from datetime import date
from pathlib import Path

import pytest

from buhdesk_connectors.delopro import Limits, PackageError, load_package
from buhdesk_connectors.delopro.card import strip_delo_index

SAMPLES = Path(__file__).parent / "corpus" / "delopro_samples"  # the «ДелоПро» contract samples
DOC_UID = "b8d1c6e2-5a7f-4c3e-8f21-9e0a7d3c4b55"


def make_package(kind: str, dest: Path) -> Path:
    """Copy a sample package (writable); the СЭВ sample's declared sizes are set to the real ones."""
    src = {"card": SAMPLES / "contract" / "pkg", "sev": SAMPLES / "sev", "medo": SAMPLES / "medo"}
    shutil.copytree(src[kind], dest, copy_function=shutil.copyfile)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if kind == "sev":
        xml = (dest / "DocInfo.xml").read_text("utf-8")
        xml = xml.replace(
            'Size="184320"', f'Size="{(dest / "Служебная_записка_Ковалева.pdf").stat().st_size}"'
        )
        xml = xml.replace(
            'Size="23552"', f'Size="{(dest / "Авансовый_отчет_март.xlsx").stat().st_size}"'
        )
        (dest / "DocInfo.xml").write_text(xml, "utf-8")
    return dest


def card_name(kind: str) -> str:
    return {"card": "card.xml", "sev": "DocInfo.xml", "medo": "passport.xml"}[kind]


def edit(pkg: Path, name: str, old: str, new: str, encoding: str = "utf-8") -> None:
    text = (pkg / name).read_text(encoding)
    assert old in text
    (pkg / name).write_text(text.replace(old, new), encoding)


def enc(kind: str) -> str:
    return "utf-8" if kind == "sev" else "cp1251"


@pytest.mark.parametrize("kind", ["card", "sev", "medo"])
def test_every_format_gives_the_same_registration(tmp_path: Path, kind: str) -> None:
    card = load_package(make_package(kind, tmp_path / "pkg"), Limits())
    assert card.format == kind
    assert (card.doc_uid, card.reg_number, card.reg_date) == (
        DOC_UID,
        "ВН-1245/25",
        date(2025, 3, 12),
    )
    assert card.author is not None and card.author.fio.startswith("Ковалева")
    assert card.author.department == "Отдел бюджетной политики"
    assert "Петрова" in card.addressee
    assert "командировке в г. Москву" in card.summary
    assert card.channel == "sed"
    assert card.original == (tmp_path / "pkg" / card_name(kind)).read_bytes()
    assert card.original_name == card_name(kind)
    main = [f for f in card.files if f.role == "main"]
    assert len(main) == 1 and main[0].name.startswith("Служебная")
    for f in card.files:
        assert f.path.is_file() and f.path.is_relative_to((tmp_path / "pkg").resolve())
        assert f.size == f.path.stat().st_size
        assert f.sha256 is not None and len(f.sha256) == 64


def test_contract_card_fields(tmp_path: Path) -> None:
    card = load_package(make_package("card", tmp_path / "pkg"), Limits())
    assert card.journal == "Служебные записки" and card.doc_kind == "Служебная записка"
    assert card.author and card.author.email == "a.kovaleva@example.invalid"
    assert card.author.phone == "(4812) 00-00-00, доб. 123"
    assert card.text.startswith("Прошу проверить авансовый отчет")
    assert card.deadline == date(2025, 3, 19)
    (res,) = card.resolutions
    assert (res.id, res.date, res.deadline) == ("5521", date(2025, 3, 12), date(2025, 3, 19))
    assert res.author and res.author.fio == "Петрова Наталья Викторовна"
    assert res.responsible and res.responsible.fio == "Смирнов Денис Игоревич"
    assert [f.name for f in card.files] == [
        "Служебная записка Ковалева.pdf",
        "Авансовый отчет (март).xlsx",
    ]
    assert card.files[1].path.name == "002_avansovyi_otchet.xlsx"


def test_contract_card_correspondent_links_and_executors(tmp_path: Path) -> None:
    pkg = make_package("card", tmp_path / "pkg")
    edit(
        pkg,
        "card.xml",
        "<Deadline>2025-03-19</Deadline>\n  <Files>",
        '<Deadline>2025-03-19</Deadline>\n  <Links><Link type="В ответ на" number="01-02/77" '
        'date="2025-02-28" docUid="u-77"/></Links>\n  <Files>',
        "cp1251",
    )
    edit(pkg, "card.xml", "<Channel>sed</Channel>", "<Channel>paper</Channel>", "cp1251")
    edit(
        pkg,
        "card.xml",
        '  <Addressee id="emp-0102">',
        "  <Correspondent><Organization>ОГБУ «Центр»</Organization></Correspondent>\n"
        '  <Addressee id="emp-0102">',
        "cp1251",
    )
    edit(
        pkg,
        "card.xml",
        'responsible="true"><FIO>Смирнов Денис Игоревич</FIO><Post>консультант</Post></Executor>',
        '><FIO>Иванов И.И.</FIO></Executor><Executor responsible="true"><FIO>Смирнов Д.И.</FIO></Executor>',
        "cp1251",
    )
    card = load_package(pkg, Limits())
    assert card.links[0].type == "В ответ на" and card.links[0].number == "01-02/77"
    assert card.links[0].date == date(2025, 2, 28) and card.links[0].doc_uid == "u-77"
    assert card.channel == "paper" and card.correspondent == "ОГБУ «Центр»"
    (res,) = card.resolutions
    assert [p.fio for p in res.executors] == ["Иванов И.И.", "Смирнов Д.И."]
    assert res.responsible and res.responsible.fio == "Смирнов Д.И."


@pytest.mark.parametrize("bom", [True, False])
def test_card_in_utf8_with_or_without_bom(tmp_path: Path, bom: bool) -> None:
    pkg = make_package("card", tmp_path / "pkg")
    text = (
        (pkg / "card.xml")
        .read_text("cp1251")
        .replace('encoding="windows-1251"', 'encoding="UTF-8"')
    )
    (pkg / "card.xml").write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    card = load_package(pkg, Limits())
    assert card.author and card.author.fio == "Ковалева Анна Сергеевна"


def test_bom_contradicting_declaration_is_refused(tmp_path: Path) -> None:
    pkg = make_package("card", tmp_path / "pkg")
    text = (pkg / "card.xml").read_text("cp1251")
    (pkg / "card.xml").write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "encoding" and "windows-1251" in err.value.message


def test_sev_resolutions_and_physical_names(tmp_path: Path) -> None:
    pkg = make_package("sev", tmp_path / "pkg")
    (pkg / "Авансовый_отчет_март.xlsx").rename(pkg / "0002.bin")
    edit(pkg, "DocInfo.xml", 'UniqueName="Авансовый_отчет_март.xlsx"', 'UniqueName="0002.bin"')
    edit(
        pkg,
        "DocInfo.xml",
        "<sev:Description>Авансовый_отчет_март.xlsx",
        "<sev:Description>Авансовый отчет[1].xlsx",
    )
    card = load_package(pkg, Limits())
    assert card.journal == "Служебные записки" and card.deadline == date(2025, 3, 19)
    assert card.author and (card.author.post, card.author.email) == (
        "главный специалист",
        "a.kovaleva@example.invalid",
    )
    assert card.correspondent is None  # the author is of our own organisation
    (res,) = card.resolutions
    assert (res.id, res.date, res.deadline) == ("5521", date(2025, 3, 12), date(2025, 3, 19))
    assert res.responsible and res.responsible.fio == "Смирнов Д.И."
    assert res.text == "Проверить авансовый отчет, подготовить ответ заявителю"
    attachment = card.files[1]
    assert (attachment.role, attachment.name, attachment.path.name) == (
        "attachment",
        "Авансовый отчет.xlsx",
        "0002.bin",
    )


def test_sev_signature_external_author_and_link(tmp_path: Path) -> None:
    pkg = make_package("sev", tmp_path / "pkg")
    (pkg / "main.sig").write_bytes(b"signature")
    edit(
        pkg,
        "DocInfo.xml",
        '<sev:Resource UID="2"',
        '<sev:Resource UID="3" UniqueName="main.sig"/>\n<sev:Resource UID="2"',
    )
    edit(
        pkg,
        "DocInfo.xml",
        "<sev:Extension>pdf</sev:Extension>",
        '<sev:Extension>pdf</sev:Extension><sev:EDS ResourceID="3">x</sev:EDS>',
    )
    edit(
        pkg,
        "DocInfo.xml",
        "<sev:Organization><sev:ShortName>Министерство финансов Смоленской области</sev:ShortName></sev:Organization>\n          <sev:Department><sev:Name>Отдел бюджетной",
        "<sev:Organization><sev:ShortName>ОГКУ «Центр»</sev:ShortName></sev:Organization>\n          <sev:Department><sev:Name>Отдел бюджетной",
    )
    edit(
        pkg,
        "DocInfo.xml",
        '<sev:AdditionalField Name="Канал',
        '<sev:Link DocumentID="9001" Description="№ 01-02/77 от 28.02.2025"><sev:LinkType>В ответ на</sev:LinkType></sev:Link>\n<sev:AdditionalField Name="Канал',
    )
    card = load_package(pkg, Limits())
    assert [f.role for f in card.files] == ["main", "signature", "attachment"]
    assert card.correspondent == "ОГКУ «Центр»"
    (link,) = card.links
    assert (link.type, link.number, link.date, link.doc_uid) == (
        "В ответ на",
        "01-02/77",
        date(2025, 2, 28),
        "9001",
    )


def test_sev_report_message_is_not_a_document(tmp_path: Path) -> None:
    pkg = make_package("sev", tmp_path / "pkg")
    edit(pkg, "DocInfo.xml", 'MessageType="MainDoc"', 'MessageType="Report"')
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "unsupported_message" and "Report" in err.value.message


def test_sev_file_referencing_unknown_resource(tmp_path: Path) -> None:
    pkg = make_package("sev", tmp_path / "pkg")
    edit(pkg, "DocInfo.xml", 'ResourceID="2"', 'ResourceID="7"')
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "bad_reference" and "7" in err.value.message


def test_medo_envelope_must_list_every_file(tmp_path: Path) -> None:
    pkg = make_package("medo", tmp_path / "pkg")
    edit(pkg, "envelope.ini", "1=Служебная_записка_Ковалева.pdf\n", "", "cp1251")
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "envelope_mismatch" and "envelope.ini" in err.value.message


def test_medo_envelope_listing_an_absent_file(tmp_path: Path) -> None:
    pkg = make_package("medo", tmp_path / "pkg")
    edit(
        pkg,
        "envelope.ini",
        "1=Служебная_записка_Ковалева.pdf",
        "1=Служебная_записка_Ковалева.pdf\n2=Приложение.pdf",
        "cp1251",
    )
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "file_missing" and "Приложение.pdf" in err.value.message


def test_medo_without_envelope(tmp_path: Path) -> None:
    pkg = make_package("medo", tmp_path / "pkg")
    (pkg / "envelope.ini").unlink()
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "envelope_missing"


def test_medo_deadline_from_clauses_and_links(tmp_path: Path) -> None:
    pkg = make_package("medo", tmp_path / "pkg")
    edit(
        pkg,
        "passport.xml",
        "<xdms:pages>2</xdms:pages>",
        "<xdms:pages>2</xdms:pages><xdms:clauses><xdms:clause><xdms:deadline>2025-03-25</xdms:deadline>"
        '</xdms:clause><xdms:clause xdms:deadline="2025-03-20"/></xdms:clauses>'
        '<xdms:links><xdms:link xdms:linkType="В ответ на"><xdms:reference xdms:uid="u-1">'
        "<xdms:num><xdms:number>12</xdms:number><xdms:date>2025-01-10</xdms:date></xdms:num>"
        "</xdms:reference></xdms:link></xdms:links>",
        "cp1251",
    )
    card = load_package(pkg, Limits())
    assert card.deadline == date(2025, 3, 20)
    assert card.links[0].type == "В ответ на" and card.links[0].number == "12"
    assert card.links[0].date == date(2025, 1, 10) and card.links[0].doc_uid == "u-1"


MANDATORY = [
    ("card", f'docUid="{DOC_UID}"', 'docUid=""', "docUid"),
    ("card", 'number="ВН-1245/25"', 'number=" "', "регистрационный номер"),
    ("sev", f'UID="{DOC_UID}"', "", "UID документа"),
    ("sev", "<sev:Number>ВН-1245/25</sev:Number>", "<sev:Number/>", "регистрационный номер"),
    ("medo", f'xdms:uid="{DOC_UID}"', "", "UID документа"),
    ("medo", "<xdms:number>ВН-1245/25</xdms:number>", "", "регистрационный номер"),
]


@pytest.mark.parametrize(("kind", "old", "new", "words"), MANDATORY)
def test_missing_mandatory_field(tmp_path: Path, kind: str, old: str, new: str, words: str) -> None:
    pkg = make_package(kind, tmp_path / "pkg")
    edit(pkg, card_name(kind), old, new, enc(kind))
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "missing_field"
    assert words in err.value.message and card_name(kind) in err.value.message


def test_bad_date_names_the_field(tmp_path: Path) -> None:
    pkg = make_package("card", tmp_path / "pkg")
    edit(pkg, "card.xml", 'date="2025-03-12" docUid', 'date="2025-13-45" docUid', "cp1251")
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "bad_value" and "2025-13-45" in err.value.message


def test_unknown_root_is_not_a_card(tmp_path: Path) -> None:
    pkg = make_package("card", tmp_path / "pkg")
    (pkg / "card.xml").write_bytes(b'<?xml version="1.0"?><Letter/>')
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "unsupported_format"


def test_package_without_card(tmp_path: Path) -> None:
    pkg = make_package("card", tmp_path / "pkg")
    (pkg / "card.xml").unlink()
    with pytest.raises(PackageError) as err:
        load_package(pkg, Limits())
    assert err.value.code == "no_card" and "card.xml" in err.value.message


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Авансовый отчет[1].xlsx", "Авансовый отчет.xlsx"),
        ("Письмо [2].pdf", "Письмо.pdf"),
        ("Скан[12]", "Скан"),
        ("Отчет [1] итог.pdf", "Отчет [1] итог.pdf"),
        ("[1].pdf", "[1].pdf"),
    ],
)
def test_delo_indices_are_stripped_from_names(raw: str, shown: str) -> None:
    assert strip_delo_index(raw) == shown
