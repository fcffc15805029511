from collections.abc import Iterable
from typing import Any, NamedTuple

class OpencorporaTag:
    POS: str | None
    gender: str | None
    number: str | None
    case: str | None
    grammemes: frozenset[str]
    def __contains__(self, grammeme: object) -> bool: ...

class Parse(NamedTuple):
    word: str
    tag: OpencorporaTag
    normal_form: str
    score: float
    methods_stack: tuple[Any, ...]
    @property
    def lexeme(self) -> list[Parse]: ...
    @property
    def normalized(self) -> Parse: ...
    def inflect(self, required_grammemes: Iterable[str]) -> Parse | None: ...

class _Dictionary:
    path: str
    # pymorphy3's word DAWG (of the DAWG2 C extension or the pure-Python reader): code that walks
    # it reads the reader's internals
    words: Any

class MorphAnalyzer:
    dictionary: _Dictionary
    def __init__(self, path: str | None = None, lang: str | None = None) -> None: ...
    def parse(self, word: str) -> list[Parse]: ...
    def tag(self, word: str) -> list[OpencorporaTag]: ...
    def normal_forms(self, word: str) -> list[str]: ...
    def word_is_known(self, word: str, strict: bool = False) -> bool: ...
