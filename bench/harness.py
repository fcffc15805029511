"""The tests' harness for benchmarks: real Dovecot and SMTP on 127.0.0.1 and in-memory connectors.

It lives in tests/harness/, outside the installed package; this module loads it by path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HARNESS = Path(__file__).resolve().parents[1] / "tests" / "harness"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"buhdesk_bench_{name}", HARNESS / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HARNESS / name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_loopback = _load("loopback")
_memory = _load("memory")
Dovecot = _loopback.Dovecot
SmtpSink = _loopback.SmtpSink
MemorySource = _memory.MemorySource
MemoryTransport = _memory.MemoryTransport
