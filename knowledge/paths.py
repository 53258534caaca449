"""Where the shipped data lives, and how to point the code at another copy."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The knowledge directory: an explicit path, else $KNOWLEDGE_DIR, else the shipped data."""
    chosen = override or os.environ.get("KNOWLEDGE_DIR") or PACKAGE_DATA
    return Path(chosen)
