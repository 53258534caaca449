"""Answers are written in our own words: no long run copied from the cited source page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="source pages (../shared/seeds) not present")
def test_no_answer_copies_its_source() -> None:
    files = sorted(str(p) for p in (ROOT / "knowledge" / "data" / "entries").glob("*.yaml"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "copycheck.py"), *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.skipif(not SEEDS.is_dir(), reason="source pages (../shared/seeds) not present")
def test_copycheck_catches_a_copied_sentence(tmp_path: Path) -> None:
    seed = (SEEDS / "000_cd542fb42787e5ef.txt").read_text(encoding="utf-8")
    copied = next(line.strip() for line in seed.splitlines() if len(line.strip()) > 40)
    entry = tmp_path / "x.yaml"
    entry.write_text(
        f"entries:\n  - id: x.y\n    source: 000_cd542fb42787e5ef.txt\n    answer: {copied!r}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "copycheck.py"), str(entry)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "copied run" in result.stdout
