"""Imported first by every bench script: offline model loading, and the project on sys.path.

Run as `python bench/NAME.py`, a script sees only `bench/` on its path; the project and the
tests' real-server helpers (tests/servers.py, tests/browser_support.py, ...) are added here,
so each script starts its servers exactly as the tests do.
"""

import os
import sys
from pathlib import Path

for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                    ("TOKENIZERS_PARALLELISM", "false"), ("ANONYMIZED_TELEMETRY", "False")):
    os.environ.setdefault(name, value)

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT / "tests", ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
