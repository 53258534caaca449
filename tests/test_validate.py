"""The validator: passes on the shipped data, and names file:line for each kind of error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.gazetteer import Gazetteer
from knowledge.loader import Problem, load_knowledge
from knowledge.paths import PACKAGE_DATA

GOOD_ENTRY = """\
  - id: shengyu.test-entry
    question: 测试问题是什么？
    alternates:
      - 测试一下
      - 问个测试
      - 测试咋整
    answer: |
      这是一条测试答案。
    region: 山西
    schemes: [生育保险]
    tags: [测试]
    answers: {产假: [期限]}
    source: 003_f215eef1e4dd9f67.txt
    date: 2025-03-16
"""

SECOND_ENTRY = """\
  - id: shengyu.second-entry
    question: 第二个问题？
    alternates: [第二个, 再问一个, 又一个]
    answer: 第二条答案。
    region: 全国
    schemes: [全部]
    tags: [测试]
    answers: {生育津贴: [金额, 计算]}
    source: 003_f215eef1e4dd9f67.txt
    date: 2025-03-16
    related: [shengyu.test-entry]
"""


def make_dir(tmp_path: Path, files: dict[str, str], data: dict[str, str] | None = None) -> Path:
    """A knowledge directory with the shipped data files (or `data` in their place) and the
    given entry files."""
    base = tmp_path / "kb"
    (base / "entries").mkdir(parents=True)
    for path in PACKAGE_DATA.iterdir():
        if path.is_file():
            shutil.copy(path, base / path.name)
    for name, text in (data or {}).items():
        (base / name).write_text(text, encoding="utf-8")
    for name, text in files.items():
        (base / "entries" / name).write_text(text, encoding="utf-8")
    return base


def problems_for(
    tmp_path: Path, gazetteer: Gazetteer, text: str, name: str = "shengyu.yaml"
) -> list[Problem]:
    base = make_dir(tmp_path, {name: text})
    _kb, problems = load_knowledge(base, gazetteer)
    return problems


def doc(*entries: str, topic: str = "生育") -> str:
    return f"topic: {topic}\nentries:\n" + "".join(entries)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_shipped_data_is_valid(gazetteer: Gazetteer) -> None:
    kb, problems = load_knowledge(PACKAGE_DATA, gazetteer)
    assert problems == []
    assert len(kb) >= 80


def test_minimal_valid_file(tmp_path: Path, gazetteer: Gazetteer) -> None:
    assert problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY, SECOND_ENTRY)) == []


def test_yaml_syntax_error_reports_line(tmp_path: Path, gazetteer: Gazetteer) -> None:
    broken = doc(GOOD_ENTRY).replace("    tags: [测试]", "    tags: [测试", 1)
    problem = only(problems_for(tmp_path, gazetteer, broken))
    assert problem.file.endswith("shengyu.yaml")
    assert "YAML syntax" in problem.message
    assert problem.line >= 13


def test_missing_field(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY.replace("    tags: [测试]\n", ""))))
    assert problem.line == 3
    assert "missing field `tags`" in problem.message


def test_unknown_field(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY + "    answr: 拼错了\n")))
    assert "unknown field(s) answr" in problem.message


def test_duplicate_id(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY, GOOD_ENTRY)))
    assert problem.line == 17
    assert "duplicate id 'shengyu.test-entry' (first at " in problem.message
    assert problem.message.endswith("shengyu.yaml:3)")


def test_id_prefix_must_match_file(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY, topic="慢特病"), name="manbing.yaml"))
    assert "id must start with `manbing.`" in problem.message


def test_dangling_related_id(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(SECOND_ENTRY)))
    assert problem.line == 3
    assert "related id 'shengyu.test-entry' does not exist" in problem.message


def test_related_to_itself(tmp_path: Path, gazetteer: Gazetteer) -> None:
    own = GOOD_ENTRY + "    related: [shengyu.test-entry]\n"
    problem = only(problems_for(tmp_path, gazetteer, doc(own)))
    assert "refers to the entry itself" in problem.message


def test_dangling_conflict_id(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY + "    conflicts: [shengyu.nope]\n")))
    assert "conflicts id 'shengyu.nope' does not exist" in problem.message


def test_unknown_region(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY.replace("region: 山西", "region: 火星"))))
    assert "unknown region '火星'" in problem.message


def test_unknown_city_for_region(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("region: 山西", "region: 山西\n    city: 郑州"))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert "unknown city '郑州' in region '山西'" in problem.message


def test_city_in_its_region_is_fine(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("region: 山西", "region: 河南\n    city: 郑州"))
    assert problems_for(tmp_path, gazetteer, text) == []


def test_unknown_scheme(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY.replace("[生育保险]", "[车险]"))))
    assert "unknown scheme '车险'" in problem.message


def test_unknown_estimate(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY + "    estimate: 养老金\n")))
    assert "unknown estimate '养老金'" in problem.message


def test_known_estimate_is_kept(tmp_path: Path, gazetteer: Gazetteer) -> None:
    kb, problems = load_knowledge(
        make_dir(tmp_path, {"shengyu.yaml": doc(GOOD_ENTRY + "    estimate: 生育津贴\n")}), gazetteer
    )
    assert problems == []
    assert [e.estimate for e in kb.entries] == ["生育津贴"]


def test_empty_answer(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("    answer: |\n      这是一条测试答案。\n", '    answer: "  "\n'))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert "`answer` must be non-empty text" in problem.message


def test_too_few_alternates(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY.replace("      - 测试咋整\n", ""))))
    assert "needs at least 3 alternates, has 2" in problem.message


def test_missing_source(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("source: 003_f215eef1e4dd9f67.txt", 'source: ""'))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert "missing source" in problem.message


def test_unknown_source(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("003_f215eef1e4dd9f67.txt", "999_nope.txt"))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert "unknown source '999_nope.txt'" in problem.message


def test_missing_date(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY.replace("    date: 2025-03-16\n", ""))))
    assert "missing field `date`" in problem.message


def test_malformed_date(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("date: 2025-03-16", "date: 2025年3月"))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert "`date` must be a date written YYYY-MM-DD" in problem.message


def test_date_must_match_source(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("date: 2025-03-16", "date: 2025-03-15"))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert "differs from the source's date 2025-03-16" in problem.message


def test_bad_id(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("shengyu.test-entry", "Shengyu Test"))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert "id must look like" in problem.message


def test_topic_must_match_file(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY, topic="慢特病")))
    assert problem.line == 1
    assert "topic must be '生育'" in problem.message


def test_unknown_topic_file(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problems = problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY), name="misc.yaml")
    assert any("unknown topic file 'misc'" in p.message for p in problems)


def test_cli_exits_nonzero_with_file_line(tmp_path: Path) -> None:
    base = make_dir(tmp_path, {"shengyu.yaml": doc(GOOD_ENTRY.replace("[生育保险]", "[车险]"))})
    result = subprocess.run(
        [sys.executable, "-m", "knowledge", "--dir", str(base), "validate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        f"{base / 'entries' / 'shengyu.yaml'}:3: shengyu.test-entry: unknown scheme '车险'" in result.stdout
    )


def test_cli_passes_on_shipped_data() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "knowledge", "validate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: ")


@pytest.mark.parametrize("field", ["question", "answer", "region", "schemes", "source"])
def test_every_required_field_is_checked(tmp_path: Path, gazetteer: Gazetteer, field: str) -> None:
    lines = [ln for ln in GOOD_ENTRY.splitlines(keepends=True) if not ln.startswith(f"    {field}:")]
    if field == "answer":
        lines = [ln for ln in lines if "这是一条测试答案" not in ln]
    problem = only(problems_for(tmp_path, gazetteer, doc("".join(lines))))
    assert f"missing field `{field}`" in problem.message


def test_several_provinces_for_a_comparison(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("region: 山西", "region: [北京, 山西]"))
    base = make_dir(tmp_path, {"shengyu.yaml": text})
    kb, problems = load_knowledge(base, gazetteer)
    assert problems == []
    entry = kb.by_id["shengyu.test-entry"]
    assert entry.regions == ("北京", "山西")
    assert entry.applies_to("山西") and not entry.applies_to("河南")
    assert entry.where == "北京、山西"


def test_nationwide_cannot_be_combined(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = doc(GOOD_ENTRY.replace("region: 山西", "region: [全国, 山西]"))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert "全国 and 某省 cannot be combined" in problem.message


# -- what an entry answers ---------------------------------------------------------------------
def test_answers_are_required(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(
        problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY.replace("    answers: {产假: [期限]}\n", "")))
    )
    assert "missing field `answers`" in problem.message


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("{火星: [期限]}", "unknown subject '火星' (see subjects.yaml)"),
        ("{产假: [几时]}", "unknown kind of asking '几时' (see asks.yaml)"),
        ("{产假: [报多少]}", "'报多少' is only asked, not declared (answered by 比例 or 金额)"),
        ("{产假: [规定]}", "'规定' is only asked, not declared (answered by any entry)"),
        ("{产假: []}", "answers.产假 must be a non-empty list of kinds of asking"),
        ("[产假]", "`answers` must map each subject to the kinds of asking it answers"),
    ],
)
def test_answers_are_checked_against_the_vocabularies(
    tmp_path: Path, gazetteer: Gazetteer, answers: str, message: str
) -> None:
    text = doc(GOOD_ENTRY.replace("{产假: [期限]}", answers))
    problem = only(problems_for(tmp_path, gazetteer, text))
    assert problem.line == 3
    assert message in problem.message


def test_unknown_person(tmp_path: Path, gazetteer: Gazetteer) -> None:
    problem = only(problems_for(tmp_path, gazetteer, doc(GOOD_ENTRY + "    persons: [宇航员]\n")))
    assert "unknown person '宇航员' (see persons.yaml)" in problem.message


def test_unnamed_province_region(tmp_path: Path, gazetteer: Gazetteer) -> None:
    kb, problems = load_knowledge(
        make_dir(tmp_path, {"shengyu.yaml": doc(GOOD_ENTRY.replace("region: 山西", "region: 某省"))}),
        gazetteer,
    )
    assert problems == []
    entry = kb.by_id["shengyu.test-entry"]
    assert entry.is_unnamed_province and not entry.is_nationwide
    assert not entry.applies_to("山西")


# -- the other data files the engine loads -----------------------------------------------------
def data_problems(tmp_path: Path, gazetteer: Gazetteer, name: str, text: str) -> list[Problem]:
    base = make_dir(tmp_path, {"shengyu.yaml": doc(GOOD_ENTRY)}, {name: text})
    _kb, problems = load_knowledge(base, gazetteer)
    return problems


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("smalltalk.yaml", "greeting: [你好\n", 2, "YAML syntax"),
        ("smalltalk.yaml", "greeting: [你好]\nshouting: [喂]\n", 1, "unknown kind 'shouting'"),
        ("smalltalk.yaml", "greeting: 你好\n", 1, "greeting: must be a list of phrases"),
        ("stopwords.txt", "的\n了\n的\n", 3, "duplicate word '的' (first at line 1)"),
        ("generic_words.txt", "怎么\n怎么 办\n", 2, "one word a line"),
        (
            "subjects.yaml",
            "subjects:\n  - name: 产假\n    parent: 生孩子\n    terms: [产假]\n",
            2,
            "unknown parent '生孩子'",
        ),
        (
            "subjects.yaml",
            "subjects:\n  - name: 产假\n    terms: []\n",
            2,
            "`terms` must be a non-empty list",
        ),
        (
            "subjects.yaml",
            "subjects:\n  - name: 产假\n    terms: [['@假期', 天]]\n",
            2,
            "'@假期' names no subject",
        ),
        (
            "asks.yaml",
            "asks:\n  - name: 期限\n    label: 多久\n    cues: ['多久(']\n",
            2,
            "bad regular expression",
        ),
        ("asks.yaml", "asks:\n  - name: 期限\n    label: 多久\n", 2, "期限: needs at least one cue"),
        (
            "persons.yaml",
            "persons:\n  - name: 学生\n    terms: 学生\n",
            2,
            "`terms` must be a non-empty list",
        ),
        ("regions.tsv", "level\tname\n", 1, "missing column(s)"),
    ],
)
def test_every_data_file_is_checked_with_file_and_line(
    tmp_path: Path, gazetteer: Gazetteer, name: str, text: str, line: int, message: str
) -> None:
    problems = [p for p in data_problems(tmp_path, gazetteer, name, text) if p.file.endswith(name)]
    assert problems, f"no problem reported for {name}"
    assert any(p.line == line and message in p.message for p in problems), [str(p) for p in problems]


def test_a_subject_term_written_as_a_synonym_variant_is_refused(tmp_path: Path, gazetteer: Gazetteer) -> None:
    subjects = (PACKAGE_DATA / "subjects.yaml").read_text(encoding="utf-8")
    broken = subjects.replace("terms: [产假, ", "terms: [产假, 产假工资, ", 1)
    problems = data_problems(tmp_path, gazetteer, "subjects.yaml", broken)
    assert any("'产假工资' is written 生育津贴 after synonyms.yaml" in p.message for p in problems), [
        str(p) for p in problems
    ]
