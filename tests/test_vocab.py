from __future__ import annotations

import shutil
from pathlib import Path

from knowledge.paths import PACKAGE_DATA
from knowledge.vocab import load_vocabulary


def copy_vocab(tmp_path: Path, synonyms: str | None = None, userdict: str | None = None) -> Path:
    for name in ("userdict.txt", "synonyms.yaml"):
        shutil.copy(PACKAGE_DATA / name, tmp_path / name)
    if synonyms is not None:
        (tmp_path / "synonyms.yaml").write_text(synonyms, encoding="utf-8")
    if userdict is not None:
        (tmp_path / "userdict.txt").write_text(userdict, encoding="utf-8")
    return tmp_path


def test_shipped_vocabulary_is_clean() -> None:
    vocab, problems = load_vocabulary(PACKAGE_DATA)
    assert problems == []
    assert {"异地就医", "家庭共济", "生育津贴", "统筹基金", "起付线", "门诊慢特病"} <= set(vocab.words)
    assert vocab.synonyms["新农合"] == "城乡居民医保"
    assert vocab.synonyms["生育险"] == "生育保险"
    assert vocab.synonyms["外省"] == "异地"
    assert vocab.synonyms["娃"] == "子女"


def test_variant_mapped_twice_is_reported(tmp_path: Path) -> None:
    base = copy_vocab(tmp_path, synonyms="synonyms:\n  甲: [乙]\n  丙: [乙]\n")
    _vocab, problems = load_vocabulary(base)
    assert any("'乙' maps to both '甲' and '丙'" in msg for _f, _l, msg in problems)


def test_chained_synonym_is_reported(tmp_path: Path) -> None:
    base = copy_vocab(tmp_path, synonyms="synonyms:\n  甲: [乙]\n  乙: [丙]\n")
    _vocab, problems = load_vocabulary(base)
    assert any("both a canonical form and a variant" in msg for _f, _l, msg in problems)


def test_bad_userdict_line_is_reported(tmp_path: Path) -> None:
    base = copy_vocab(tmp_path, userdict="医保 100 n\n异地就医 many n\n")
    _vocab, problems = load_vocabulary(base)
    assert problems == [
        (str(base / "userdict.txt"), 2, "expected `word [frequency] [tag]`, got '异地就医 many n'")
    ]
