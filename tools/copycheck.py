"""Report answer passages that copy the source pages verbatim.

Usage: python tools/copycheck.py knowledge/data/entries/*.yaml
Prints every run of >= 14 identical characters (punctuation ignored) shared
by an answer and the seed page it cites.
"""

import re
import sys
from pathlib import Path

import yaml

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
MIN_RUN = 14


def squash(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text)


def main() -> int:
    seeds = {p.name: squash(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}
    bad = 0
    for name in sys.argv[1:]:
        doc = yaml.safe_load(Path(name).read_text(encoding="utf-8")) or {}
        for entry in doc.get("entries", []):
            src = seeds.get(entry.get("source", ""), "")
            ans = squash(entry.get("answer", ""))
            i = 0
            while i + MIN_RUN <= len(ans):
                if ans[i : i + MIN_RUN] in src:
                    j = i + MIN_RUN
                    while j < len(ans) and ans[i : j + 1] in src:
                        j += 1
                    print(f"{name}: {entry.get('id')}: copied run: {ans[i:j]}")
                    bad += 1
                    i = j
                else:
                    i += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
