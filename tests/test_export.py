"""`python -m knowledge export`: the shipped files plus the operators' changes, written as files
that load to the same knowledge and differ from the shipped ones only by what was added."""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.engine import Engine, load_engine
from knowledge.export import ExportError, ExportReport, export
from knowledge.gazetteer import Gazetteer
from knowledge.loader import Loaded, load_knowledge, load_with_changes
from knowledge.overlay import Change, read_changes
from knowledge.paths import PACKAGE_DATA
from knowledge.schema import Entry, KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]

NEW_ENTRY = {
    "id": "ka.lost-abroad",
    "question": "在国外把医保卡弄丢了怎么挂失?",
    "alternates": ["出国医保卡丢了咋挂失", "人在国外社保卡丢了怎么办", "海外丢了医保卡怎么挂失"],
    "answer": "可以先打电话挂失，回国后再去补办。\n\n• 挂失电话：12393。\n• 回国后带身份证到网点补卡。",
    "region": "全国",
    "schemes": ["全部"],
    "tags": ["挂失", "国外"],
    "answers": {"医保卡挂失": ["办理"]},
    "source": "operator_2025-06-01.txt",
    "date": "2025-06-01",
    "source_title": "医保局电话咨询记录: 挂失",
    "related": ["ka.activate"],
}
ADDED = "医保卡到手了怎么启用"  # an alternate of the shipped ka.activate
ADDED_TO_NEW = "在外国丢了医保卡咋办"  # an alternate of the operator's entry
REVERTED = "医保卡咋激活呀撤回"
MISSING = "这条找不到它的条目"
CHANGES = [
    Change(1, "alternate", {"entry": "ka.activate", "text": ADDED}, by="op"),
    Change(2, "entry", {"topic": "ka", "item": NEW_ENTRY}, by="op"),
    Change(3, "alternate", {"entry": "ka.lost-abroad", "text": ADDED_TO_NEW}, by="op"),
    Change(4, "outside", {"subject": "养老保险", "term": "企业年金"}, by="op"),
    Change(5, "dismiss", {}, by="op", group="年金 · 领取"),
    Change(6, "alternate", {"entry": "ka.activate", "text": REVERTED}, by="op"),
    Change(7, "revert", {"change": 6}, by="op"),
    Change(8, "alternate", {"entry": "ka.no-such-entry", "text": MISSING}, by="op"),
]
OUTSIDE_QUESTION = "企业年金怎么领取"
CHANGED = {"entries/ka.yaml", "sources.yaml", "subjects.yaml"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExportReport]:
    out = tmp_path_factory.mktemp("export") / "data"
    return out, export(PACKAGE_DATA, out, CHANGES)


@pytest.fixture(scope="module")
def overlaid(engine: Engine) -> tuple[Engine, Loaded]:
    return engine.with_changes(PACKAGE_DATA, CHANGES)


@pytest.fixture(scope="module")
def out_engine(exported: tuple[Path, ExportReport]) -> Engine:
    return load_engine(exported[0])


def _fields(entry: Entry) -> tuple[object, ...]:
    return (
        entry.question, entry.alternates, entry.answer, entry.regions, entry.city, entry.schemes,
        entry.tags, entry.answers, entry.requires, entry.persons, entry.related, entry.conflicts,
        entry.group, entry.estimate, entry.source, entry.date,
    )  # fmt: skip


def _by_id(kb: KnowledgeBase) -> dict[str, tuple[object, ...]]:
    return {e.id: _fields(e) for e in kb.entries}


def test_the_report(exported: tuple[Path, ExportReport]) -> None:
    out, report = exported
    assert report.out_dir == out
    assert report.written == [1, 2, 3, 4]
    assert (report.alternates, report.entries, report.terms, report.sources) == (2, 1, 1, 1)
    assert set(report.files) == CHANGED
    assert list(report.skipped) == [8]
    assert "ka.no-such-entry" in report.skipped[8][0].message
    assert report.problems == []


def test_the_export_validates_and_holds_the_same_knowledge(
    exported: tuple[Path, ExportReport], gazetteer: Gazetteer, overlaid: tuple[Engine, Loaded]
) -> None:
    out, _report = exported
    kb, problems = load_knowledge(out)
    assert problems == []
    expected = load_with_changes(PACKAGE_DATA, gazetteer, CHANGES)
    assert [e.id for e in kb.entries] == [e.id for e in expected.kb.entries]
    assert _by_id(kb) == _by_id(expected.kb)
    assert _by_id(kb) == _by_id(overlaid[1].kb)
    assert kb.by_id["ka.activate"].alternates[-1] == ADDED
    assert kb.by_id["ka.lost-abroad"].alternates[-1] == ADDED_TO_NEW
    # the words for neighbouring topics too
    written = load_with_changes(out, gazetteer, []).vocabulary.subjects["养老保险"]
    assert written.terms == expected.vocabulary.subjects["养老保险"].terms
    assert ("企业年金",) in written.terms


def test_untouched_files_are_byte_identical(exported: tuple[Path, ExportReport]) -> None:
    out, _report = exported
    shipped = {p.relative_to(PACKAGE_DATA).as_posix() for p in PACKAGE_DATA.rglob("*") if p.is_file()}
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == shipped
    for name in shipped - CHANGED:
        assert (out / name).read_bytes() == (PACKAGE_DATA / name).read_bytes(), name


def test_the_changed_files_only_gain_lines(exported: tuple[Path, ExportReport]) -> None:
    out, _report = exported
    for name in ("entries/ka.yaml", "sources.yaml"):
        before = (PACKAGE_DATA / name).read_text(encoding="utf-8").splitlines()
        after = (out / name).read_text(encoding="utf-8").splitlines()
        ops = difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes()
        assert {op for op, *_ in ops} == {"equal", "insert"}, name
    ka = (out / "entries/ka.yaml").read_text(encoding="utf-8")
    assert f"      - 医保卡激活方式\n      - {ADDED}\n    answer: |\n" in ka
    assert ka.endswith(
        "\n\n  - id: ka.lost-abroad\n    question: 在国外把医保卡弄丢了怎么挂失?\n    alternates:\n"
        f"      - 出国医保卡丢了咋挂失\n      - 人在国外社保卡丢了怎么办\n      - 海外丢了医保卡怎么挂失\n"
        f"      - {ADDED_TO_NEW}\n"
        "    answer: |\n      可以先打电话挂失，回国后再去补办。\n\n      • 挂失电话：12393。\n"
        "      • 回国后带身份证到网点补卡。\n    region: 全国\n    schemes: [全部]\n    tags: [挂失, 国外]\n"
        "    answers: {医保卡挂失: [办理]}\n    source: operator_2025-06-01.txt\n    date: 2025-06-01\n"
        "    related: [ka.activate]\n"
    )
    assert "source_title" not in ka and "__" not in ka
    sources = (out / "sources.yaml").read_text(encoding="utf-8")
    assert sources.endswith(
        "  - file: operator_2025-06-01.txt\n    date: 2025-06-01\n"
        "    title: '医保局电话咨询记录: 挂失'\n    added_by: operator\n"
    )
    before = (PACKAGE_DATA / "subjects.yaml").read_text(encoding="utf-8").splitlines()
    after = (out / "subjects.yaml").read_text(encoding="utf-8").splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(changed[0][0], changed[0][0][:-1] + ", 企业年金]")]
    assert changed[0][0].startswith("    terms: [养老, ")


def test_reverted_and_rejected_changes_are_not_written(exported: tuple[Path, ExportReport]) -> None:
    out, _report = exported
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.yaml")))
    assert REVERTED not in text
    assert MISSING not in text


def test_the_exported_engine_decides_as_the_overlaid_one(
    out_engine: Engine, overlaid: tuple[Engine, Loaded]
) -> None:
    with_changes = overlaid[0]
    for question, entry_id in ((ADDED, "ka.activate"), (ADDED_TO_NEW, "ka.lost-abroad")):
        ours, theirs = out_engine.decide(question), with_changes.decide(question)
        assert (ours.kind, ours.entry and ours.entry.id) == (theirs.kind, theirs.entry and theirs.entry.id)
        assert (ours.kind, ours.entry and ours.entry.id) == ("answer", entry_id)
    for engine in (out_engine, with_changes):
        decision = engine.decide(OUTSIDE_QUESTION)
        assert (decision.kind, decision.decline, decision.out_of_scope) == (
            "not_found",
            "outside",
            "养老保险",
        )


def test_the_shipped_engine_did_not_know_the_word(engine: Engine) -> None:
    assert engine.decide(OUTSIDE_QUESTION).decline != "outside"


def test_a_non_empty_out_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="not empty"):
        export(PACKAGE_DATA, tmp_path, CHANGES)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    with pytest.raises(ExportError, match="inside the knowledge directory"):
        export(PACKAGE_DATA, PACKAGE_DATA / "out", [])


def test_an_entry_in_a_topic_without_a_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(PACKAGE_DATA, source)
    (source / "entries" / "shengyibao.yaml").unlink()
    yidi = source / "entries" / "yidi.yaml"
    yidi.write_text(
        re.sub(r",? shengyibao\.[a-z0-9-]+", "", yidi.read_text(encoding="utf-8")), encoding="utf-8"
    )
    item = {**NEW_ENTRY, "id": "shengyibao.lost-abroad", "related": [], "source": "000_cd542fb42787e5ef.txt"}
    item["date"] = "2025-03-15"
    report = export(source, tmp_path / "out", [Change(1, "entry", {"topic": "shengyibao", "item": item})])
    assert report.problems == [] and report.sources == 0
    text = (tmp_path / "out" / "entries" / "shengyibao.yaml").read_text(encoding="utf-8")
    assert text.startswith("topic: 省医保与市医保\nentries:\n  - id: shengyibao.lost-abroad\n")
    assert "    related: []\n" in text
    assert (tmp_path / "out" / "sources.yaml").read_bytes() == (source / "sources.yaml").read_bytes()


def _log(path: Path, changes: list[Change]) -> None:
    lines = [json.dumps(c.to_dict(), ensure_ascii=False) for c in changes]
    path.write_text(
        "\n".join([*lines[:3], "", '{"id": 99, "kind": "alt', *lines[3:]]) + "\n", encoding="utf-8"
    )


def test_read_changes_skips_blank_and_broken_lines(tmp_path: Path) -> None:
    _log(tmp_path / "log.jsonl", CHANGES)
    assert read_changes(tmp_path / "log.jsonl") == CHANGES


def test_the_command(tmp_path: Path, exported: tuple[Path, ExportReport]) -> None:
    _log(tmp_path / "log.jsonl", CHANGES)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "knowledge", "--dir", str(PACKAGE_DATA), "export", str(out)]
    command += ["--changes", str(tmp_path / "log.jsonl")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "alternates: 2  entries: 1  sources: 1  words for neighbouring topics: 1" in result.stdout
    assert "skipped 1 change(s)" in result.stdout and "#8: entry 'ka.no-such-entry'" in result.stdout
    for path in exported[0].rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(exported[0])).read_bytes() == path.read_bytes()
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert again.returncode == 1
    assert "not empty" in again.stderr
