"""Write ecosystem/asyncapi/asyncapi.yaml from the protocol models: `.venv/bin/python ecosystem/asyncapi/generate.py`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from protocol.asyncapi import asyncapi_yaml  # noqa: E402

if __name__ == "__main__":
    target = Path(__file__).with_name("asyncapi.yaml")
    target.write_text(asyncapi_yaml())
    print(f"wrote {target.relative_to(ROOT)}")
