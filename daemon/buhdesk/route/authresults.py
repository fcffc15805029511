"""A parser for the ``Authentication-Results`` header field (RFC 8601).

The grammar, in short::

    payload  = [CFWS] authserv-id [CFWS version] ( [CFWS] ";" [CFWS] "none" / 1*resinfo )
    resinfo  = [CFWS] ";" method [CFWS] "=" [CFWS] result [CFWS reasonspec] *(CFWS propspec)
    method   = Keyword [ "/" version ]           e.g. dkim, spf, dmarc, arc, auth, iprev
    reason   = "reason" [CFWS] "=" [CFWS] value   value = token / quoted-string
    propspec = ptype "." property "=" pvalue      e.g. header.from=example.com, smtp.mailfrom=a@b

CFWS includes comments in parentheses, which nest and may hold quoted pairs; they are kept beside
the result they follow. A result that does not parse is left out (and named in ``problems``), so
a damaged clause can never read as a "pass". Exchange Online writes the field without an
authserv-id (it starts with ``spf=…``); such a field parses with ``authserv_id == ""``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_SPECIALS = ";=()\""


class AuthResultsError(ValueError):
    """The field cannot be read at all (no authserv-id, unbalanced comment or quote)."""


@dataclass(frozen=True)
class Result:
    method: str  # lower case, without the version: "dmarc", "spf", "dkim", …
    result: str  # lower case: "pass", "fail", "softfail", "none", …
    reason: str = ""
    properties: dict[str, str] = field(default_factory=dict)  # "header.from" -> "example.com"
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str  # lower case; "" when the field has none (Exchange Online)
    version: int | None
    results: tuple[Result, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word", "quoted", "comment", or the special character itself
    text: str
    start: int
    end: int


def _delimited(value: str, start: int) -> tuple[str, int]:
    """The text of the comment or quoted string opening at ``value[start]``, quoted pairs
    unescaped, and the index after it. Comments nest; quoted strings do not."""
    comment = value[start] == "("
    close, depth, out, i = (")" if comment else '"'), 1, list[str](), start + 1
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        if comment and c == "(":
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return ("".join(out).strip() if comment else "".join(out)), i + 1
        out.append(c)
        i += 1
    raise AuthResultsError("незакрытый комментарий" if comment else "незакрытая строка в кавычках")


def tokens(value: str) -> list[_Tok]:
    found, i = [], 0
    while i < len(value):
        c = value[i]
        if c.isspace():
            i += 1
        elif c in "(\"":
            text, end = _delimited(value, i)
            found.append(_Tok("comment" if c == "(" else "quoted", text, i, end))
            i = end
        elif c in ";=)":
            found.append(_Tok(c, c, i, i + 1))
            i += 1
        else:
            start = i
            while i < len(value) and not value[i].isspace() and value[i] not in _SPECIALS:
                i += 1
            found.append(_Tok("word", value[start:i], start, i))
    return found


class _Reader:
    """Walks the tokens; comments are collected aside, as CFWS allows them anywhere."""

    def __init__(self, toks: list[_Tok]) -> None:
        self.toks, self.i, self.comments = toks, 0, list[str]()

    def peek(self) -> _Tok | None:
        while self.i < len(self.toks) and self.toks[self.i].kind == "comment":
            self.comments.append(self.toks[self.i].text)
            self.i += 1
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok | None:
        tok = self.peek()
        if tok is not None:
            self.i += 1
        return tok

    def glued_value(self) -> str | None:
        """A value: a word or a quoted string, with whatever is glued to it (base64 padding in
        ``header.b=ab+/=``, a quoted local part in ``"a b"@example.com``)."""
        first = self.take()
        if first is None or first.kind not in ("word", "quoted"):
            return None
        text, end = first.text, first.end
        while self.i < len(self.toks) and self.toks[self.i].start == end and \
                self.toks[self.i].kind in ("word", "quoted", "="):
            text, end = text + self.toks[self.i].text, self.toks[self.i].end
            self.i += 1
        return text

    def skip_to_semicolon(self) -> None:
        while (tok := self.peek()) is not None and tok.kind != ";":
            self.i += 1


def parse(value: str) -> AuthResults:
    """Parse one field's value (unfolded or folded; line breaks are whitespace)."""
    reader = _Reader(tokens(value))
    first = reader.peek()
    if first is None:
        raise AuthResultsError("пустое поле")
    authserv_id, version = "", None
    after = next((t for t in reader.toks[reader.i + 1:] if t.kind != "comment"), None)
    if first.kind in ("word", "quoted") and not (after is not None and after.kind == "="):
        reader.take()  # the token peeked at as ``first``
        authserv_id = first.text.lower()
        tok = reader.peek()
        if tok is not None and tok.kind == "word" and tok.text.isdigit():
            version = int(tok.text)
            reader.take()
    elif first.kind != "word":
        raise AuthResultsError("нет идентификатора проверяющего сервера")
    else:  # Exchange Online: no authserv-id, the first clause begins at once
        reader.toks.insert(reader.i, _Tok(";", ";", first.start, first.start))
    results, problems = [], []
    while (tok := reader.take()) is not None:
        if tok.kind != ";":
            problems.append(f"лишнее «{tok.text}» вне результата")
            reader.skip_to_semicolon()
            continue
        if reader.peek() is None:
            break  # a trailing ";" is common and harmless
        result = _resinfo(reader, problems)
        if result is not None:
            results.append(result)
    return AuthResults(authserv_id, version, tuple(results), tuple(problems))


def _name(reader: _Reader) -> str:
    """A method or property name up to its "=": CFWS may split it ("dkim / 1", "policy . x")."""
    words = []
    while (tok := reader.peek()) is not None and tok.kind == "word":
        words.append(tok.text)
        reader.take()
    return "".join(words).lower()


def _resinfo(reader: _Reader, problems: list[str]) -> Result | None:
    reader.comments = []
    method = _name(reader).split("/", 1)[0]
    following = reader.peek()
    if not method:
        problems.append("результат без названия метода")
        reader.skip_to_semicolon()
        return None
    if method == "none" and (following is None or following.kind == ";"):
        return None  # "no-result": nothing was checked
    result_tok = None
    if following is not None and following.kind == "=":
        reader.take()
        if (tok := reader.peek()) is not None and tok.kind == "word":
            result_tok = reader.take()
    if result_tok is None:
        problems.append(f"у метода «{method}» нет результата")
        reader.skip_to_semicolon()
        return None
    reason, props = "", {}
    while (tok := reader.peek()) is not None and tok.kind != ";":
        name = _name(reader)
        following = reader.peek()
        if not name or following is None or following.kind != "=":
            problems.append(f"у метода «{method}» непонятное свойство")
            reader.skip_to_semicolon()
            break
        reader.take()  # "="
        value = reader.glued_value()
        if value is None:
            problems.append(f"у свойства «{name}» метода «{method}» нет значения")
            reader.skip_to_semicolon()
            break
        if name == "reason":
            reason = value
        else:
            props[name] = value
    return Result(method, result_tok.text.lower(), reason, props, tuple(reader.comments))
