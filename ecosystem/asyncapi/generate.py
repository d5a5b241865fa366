"""Write ecosystem/asyncapi/asyncapi.yaml from the protocol models.

    .venv/bin/python ecosystem/asyncapi/generate.py           # (re)write the file
    .venv/bin/python ecosystem/asyncapi/generate.py --check   # exit 1 when the file is not current

tests/unit/test_asyncapi.py fails while the committed file differs from what the models generate.
`npm run check:asyncapi` in ecosystem/timeline-ui validates the file with the AsyncAPI parser (@asyncapi/parser).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(__file__).resolve().with_name("asyncapi.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when the file is not current")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from protocol.asyncapi import asyncapi_yaml

    text = asyncapi_yaml()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if args.check:
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is not current: run ecosystem/asyncapi/generate.py", file=sys.stderr)
            return 1
        print(f"{TARGET.relative_to(ROOT)} is current")
        return 0
    if current == text:
        print(f"{TARGET.relative_to(ROOT)} unchanged")
    else:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
