"""``python -m botfleet_demo_bot``."""

import sys

from botfleet_demo_bot.cli import main

sys.exit(main())
