"""The ``holidays`` package's Russian calendar, loaded without the package's other countries.

Any import of ``holidays.countries.russia`` (``holidays.country_holidays("RU")`` included) runs
``holidays/countries/__init__.py``, which imports every country the package knows: some 250
modules, about 8 MB of resident memory for the daemon's life. The Russian module imports only
the package's shared parts (absolute imports), so it is executed from its file under a private
name. Should that ever fail (a package laid out differently), the ordinary import is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

_PRIVATE_NAME = "buhdesk.worktime._holidays_russia"


@cache
def russia_module() -> ModuleType:
    """``holidays.countries.russia``, or a copy of it executed from its file alone."""
    try:
        package = importlib.util.find_spec("holidays")
        if package is None or package.origin is None:
            raise ImportError("holidays is not installed")
        path = Path(package.origin).parent / "countries" / "russia.py"
        spec = importlib.util.spec_from_file_location(_PRIVATE_NAME, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.Russia, module.RussiaStaticHolidays  # noqa: B018 - both must be there
    except Exception as error:  # any surprise: the ordinary, heavier import
        log.debug("holidays: Russian calendar by the ordinary import (%s)", error)
        return importlib.import_module("holidays.countries.russia")
    return module


def russian_holidays() -> Any:
    """What ``holidays.country_holidays("RU")`` returns, with the same defaults."""
    return russia_module().Russia()


def russian_static_holidays() -> Any:
    """``RussiaStaticHolidays``: the decrees on transferred days off, by year."""
    return russia_module().RussiaStaticHolidays
