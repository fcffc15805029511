from array import array
from pathlib import Path
from typing import Self

class Dictionary:
    ROOT: int
    _units: array[int]

class RecordDAWG:
    dct: Dictionary
    def __init__(self, fmt: str | bytes, payload_separator: bytes = b"\x01") -> None: ...
    def load(self, path: str | Path) -> Self: ...
