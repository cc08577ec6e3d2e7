"""Imported first by every bench script: offline model loading, and the project on sys.path.

Run as `python bench/NAME.py`, a script sees only `bench/` on its path; the project and tests/
are added here, so a script imports the tests' helpers as the tests do (`support.servers`,
`support.browser_support`, ...: tests/support/) and starts its servers exactly as they do.
The environment itself is the project's (`index/environment.py`).
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
