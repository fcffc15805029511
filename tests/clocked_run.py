"""``buhdesk run`` for tests, with the daemon's clock shifted to a fixed moment.

    python tests/clocked_run.py CONFIG OFFSET_SECONDS [--once]

Like ``buhdesk --config CONFIG run [--once]`` (same logging, signals, crash points), but the
runtime's clock reads the wall clock plus OFFSET_SECONDS, so a test decides the date and hour the
daemon lives in (see ``support.clock_offset``) while time still runs on across restarts.
Run as a script, it finds ``support`` beside it (Python puts the script's folder on the path).
"""

from __future__ import annotations

import sys
from pathlib import Path

from support import shifted_clock

from buhdesk.cli.command import _setup_logging
from buhdesk.config import load_config
from buhdesk.service.main import run_daemon


def main(argv: list[str]) -> int:
    config, offset, *rest = argv
    _setup_logging(None, "run")
    return run_daemon(load_config(Path(config)), once="--once" in rest,
                      clock=shifted_clock(float(offset)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
