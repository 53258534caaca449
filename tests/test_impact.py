"""knowledge/impact.py: which known questions a knowledge change would answer differently."""

from __future__ import annotations

from knowledge import impact
from knowledge.engine import Engine
from knowledge.overlay import ALTERNATE, OUTSIDE, Change


def test_known_questions_are_every_phrasing_then_what_users_asked_once(engine: Engine) -> None:
    pool = impact.known_questions(engine, ["随便问问", "随便问问", engine.kb.entries[0].question])
    phrasings = sum(1 + len(e.alternates) for e in engine.kb.entries)
    assert len(pool) <= phrasings + 1 and pool[-1] == impact.Question("随便问问")
    assert pool[0] == impact.Question(engine.kb.entries[0].question, engine.kb.entries[0].id)


def test_likely_affected_are_the_alike_and_those_containing_the_word() -> None:
    pool = [impact.Question(t) for t in ("医保卡丢了怎么办", "产假多少天", "住院能报多少", "门诊报销比例")]
    assert [q.text for q in impact.likely_affected(pool, texts=["医保卡掉了怎么办"])] == ["医保卡丢了怎么办"]
    assert [q.text for q in impact.likely_affected(pool, words=["报"])] == ["住院能报多少", "门诊报销比例"]
    assert impact.likely_affected(pool) == []


def test_no_change_shifts_nothing(engine: Engine) -> None:
    pool = impact.known_questions(engine)
    assert impact.shifts(engine, engine, pool[:200]) == []


def test_a_word_marked_outside_that_we_answer_about_breaks_phrasings(engine: Engine) -> None:
    after, loaded = engine.with_changes(None, [Change(1, OUTSIDE, {"subject": "养老保险", "term": "住院"})])
    assert not loaded.rejected  # the validator lets it through; the impact check is what stops it
    pool = impact.known_questions(engine)
    found = impact.shifts(engine, after, impact.likely_affected(pool, words=["住院"]))
    broken = [s for s in found if s.loses_its_entry]
    assert broken and all("住院" in s.question.text and s.after.kind != "answer" for s in broken)
    assert found[: len(broken)] == broken  # the breaking ones first


def test_a_phrasing_on_the_right_entry_breaks_nothing(engine: Engine) -> None:
    text = "有医保的咨询电话没"
    change = Change(1, ALTERNATE, {"entry": "ka.hotline-12333", "text": text})
    after, _loaded = engine.with_changes(None, [change])
    pool = impact.known_questions(engine)
    found = impact.shifts(engine, after, impact.likely_affected(pool, [text]), [text])
    assert not [s for s in found if s.loses_its_entry]
