"""Property-based tests of the «ДелоПро» card parsers: whatever bytes arrive — random, or a real
card mutated at random — the parsers return a card or raise ``PackageError`` (which the folder
turns into a reasoned rejection), never any other exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buhdesk_connectors.delopro import PackageError, formats_card, formats_medo, formats_sev

CORPUS = Path(__file__).parent / "corpus" / "delopro_props"
PARSERS: dict[str, Callable[[bytes, str], object]] = {
    "card.xml": formats_card.parse,
    "DocInfo.xml": formats_sev.parse,
    "passport.xml": formats_medo.parse,
}
SETTINGS = settings(max_examples=250, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
ATTRIBUTE = re.compile(rb'="[^"]*"')
TEXT = re.compile(rb">([^<]+)<")


def sample(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def parses_or_refuses(name: str, data: bytes) -> None:
    try:
        PARSERS[name](data, name)
    except PackageError as e:
        assert e.args and str(e), "a refusal carries a reason"


def test_the_samples_parse() -> None:
    for name, parse in PARSERS.items():
        assert parse(sample(name), name) is not None


names = st.sampled_from(sorted(PARSERS))


@st.composite
def byte_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    """A sample with a few random byte-level edits: cut, insert, overwrite, duplicate, truncate."""
    name = draw(names)
    data = bytearray(sample(name))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        span = draw(st.integers(0, 40))
        kind = draw(st.sampled_from(["cut", "insert", "overwrite", "duplicate", "truncate"]))
        if kind == "cut":
            del data[at:at + span]
        elif kind == "insert":
            data[at:at] = draw(st.binary(max_size=40))
        elif kind == "overwrite":
            junk = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(junk)] = junk
        elif kind == "duplicate":
            data[at:at] = data[at:at + span]
        else:
            del data[at:]
    return name, bytes(data)


hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", " ", "0000-00-00", "2025-02-30", "9999-99-99", "-1", "1e309",
                     "../../etc/passwd", "C:\\Windows\\win.ini", "файл.pdf\x00.exe", "NaN",
                     "99999999999999999999", "&amp;", "]]>", "<", "\u202e"]),
)


def _escape(value: str) -> bytes:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return escaped.encode("utf-8", "surrogatepass")


@st.composite
def value_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    """A sample (re-encoded as UTF-8) whose attribute values and element texts are replaced by
    arbitrary well-escaped strings: well-formed XML with nonsense in the fields."""
    name = draw(names)
    data = sample(name)
    head, _, body = data.partition(b"?>")
    encoding = re.search(rb'encoding="([^"]+)"', head)
    text = body.decode(encoding.group(1).decode() if encoding else "utf-8")
    data = b'<?xml version="1.0" encoding="utf-8"?>' + text.encode("utf-8")
    spots = [*ATTRIBUTE.finditer(data), *TEXT.finditer(data)]
    chosen = draw(st.sets(st.integers(0, len(spots) - 1), min_size=1, max_size=5))
    for index in sorted(chosen, key=lambda i: spots[i].start(), reverse=True):
        spot = spots[index]
        value = _escape(draw(hostile_text))
        if spot.re is ATTRIBUTE:
            data = data[:spot.start()] + b'="' + value + b'"' + data[spot.end():]
        else:
            data = data[:spot.start(1)] + value + data[spot.end(1):]
    return name, data


@SETTINGS
@given(names, st.binary(max_size=2000))
def test_random_bytes_are_refused_with_a_reason(name: str, data: bytes) -> None:
    parses_or_refuses(name, data)


@SETTINGS
@given(names, st.text(max_size=300))
def test_random_text_in_an_xml_shell_is_refused_with_a_reason(name: str, body: str) -> None:
    data = f'<?xml version="1.0" encoding="utf-8"?><Card version="1">{body}</Card>'
    parses_or_refuses(name, data.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(byte_mutations())
def test_byte_mutated_cards_are_parsed_or_refused(case: tuple[str, bytes]) -> None:
    parses_or_refuses(*case)


@SETTINGS
@given(value_mutations())
def test_cards_with_nonsense_fields_are_parsed_or_refused(case: tuple[str, bytes]) -> None:
    parses_or_refuses(*case)


@SETTINGS
@given(st.binary(max_size=600))
def test_medo_envelopes_of_any_bytes_are_read_or_refused(data: bytes) -> None:
    try:
        files = formats_medo.envelope_files(data)
    except PackageError:
        return
    assert all(isinstance(f, str) and f for f in files)


@pytest.mark.parametrize("cut", [1, 10, 100, 500])
def test_truncated_envelope_is_read_or_refused(cut: int) -> None:
    data = sample("envelope.ini")[:-cut]
    try:
        formats_medo.envelope_files(data)
    except PackageError:
        pass
