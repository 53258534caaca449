"""knowledge/selfcheck.py: the bot answers the knowledge base's own phrasings with their entry."""

from __future__ import annotations

import pytest

from knowledge.__main__ import main
from knowledge.engine import Engine
from knowledge.selfcheck import CLARIFY, DECLINE, OTHER, OWN, Result, check, summary

# Raise these when the data or the engine gets better (figures in knowledge/README.md).
OWN_FLOOR = 0.66  # share of all phrasings answered by their own entry (0.682 on 2026-12-02)
OTHER_CEILING = 0.045  # answered with another entry: a confident answer to something else (0.039)


@pytest.fixture(scope="module")
def results(engine: Engine) -> list[Result]:
    return check(engine)


def test_every_phrasing_is_checked_once(engine: Engine, results: list[Result]) -> None:
    phrasings = {t for e in engine.kb.entries for t in (e.question, *e.alternates)}
    assert len(results) == len(phrasings) == len({r.text for r in results})
    assert {r.outcome for r in results} <= {OWN, OTHER, CLARIFY, DECLINE}
    other = [r for r in results if r.outcome == OTHER]
    assert all(r.detail in engine.kb.by_id and r.detail != r.entry_id for r in other)


def test_floor(results: list[Result]) -> None:
    own = sum(r.outcome == OWN for r in results) / len(results)
    other = sum(r.outcome == OTHER for r in results) / len(results)
    assert own >= OWN_FLOOR, f"own {own:.3f}"
    assert other <= OTHER_CEILING, f"other {other:.3f}"


def test_summary_and_cli(results: list[Result], capsys: pytest.CaptureFixture[str]) -> None:
    text = summary(results)
    assert text.splitlines()[0].startswith("all") and "yidi.yaml" in text
    assert main(["selfcheck", "--list"]) == 0
    out = capsys.readouterr().out
    assert "answered by their own entry" in out
    listed = [line for line in out.splitlines() if line.count("\t") == 2]
    assert len(listed) == sum(r.outcome != OWN for r in results)
