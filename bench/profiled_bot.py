"""`python -m bot` under cProfile, for bench/bench_bot.py --profile: profiling starts on
SIGUSR1 (sent once the bot is polling, so start-up is not counted) and the statistics are
written to $YB_PROFILE when the process stops (SIGTERM)."""

from __future__ import annotations

import cProfile
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.__main__ import main

profile = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda _sig, _frame: profile.enable())
try:
    code = main()
finally:
    profile.disable()
    profile.dump_stats(os.environ["YB_PROFILE"])
sys.exit(code)
