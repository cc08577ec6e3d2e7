"""Imported first by every bench script: offline model loading, and the project on sys.path.

Run as `python bench/NAME.py`, a script sees only `bench/` on its path; the project and the
tests' real-server helpers (tests/servers.py, tests/browser_support.py, ...) are added here,
so each script starts its servers exactly as the tests do. The environment itself is the
project's (`index/environment.py`).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT / "tests", ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from index.environment import OFFLINE_ENV, offline_env, use_offline_env  # noqa: E402

use_offline_env()

__all__ = ["OFFLINE_ENV", "ROOT", "offline_env", "use_offline_env"]
