"""Print the WebSocket protocol's JSON Schema (what ``GET /api/protocol`` serves), for type generation offline.

Run from the repository root with the server's interpreter:
    .venv/bin/python ecosystem/timeline-ui/scripts/dump_schema.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from protocol import protocol_schema  # noqa: E402

if __name__ == "__main__":
    json.dump(protocol_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
