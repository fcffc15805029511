"""``python -m buhdesk.cli``."""
import sys

from buhdesk.cli.command import main

sys.exit(main())
