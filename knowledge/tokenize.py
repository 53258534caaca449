"""Tokenisation for matching: jieba words (HMM off) rewritten to canonical synonyms, and
character bigrams as a second field so typos and different word splits still overlap."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import jieba
import jieba.posseg

from knowledge.paths import data_dir
from knowledge.vocab import Vocabulary, load_vocabulary

STOPWORDS = "stopwords.txt"
_CJK = range(0x3400, 0xA000)
# part-of-speech tags (jieba) of words that never carry what a question is about: pronouns,
# adverbs, prepositions, conjunctions, particles, numerals, measure words, direction and place
# words, time words, interjections
_FUNCTION_TAGS = ("r", "d", "p", "c", "u", "y", "m", "q", "f", "s", "t", "e", "o", "zg")


def _is_cjk(ch: str) -> bool:
    return ord(ch) in _CJK


@dataclass(frozen=True, slots=True)
class Tokens:
    words: tuple[str, ...]  # canonical words, stop words dropped, in order
    bigrams: tuple[str, ...]  # character bigrams of the canonical word string

    @property
    def text(self) -> str:
        return " ".join(self.words)


class Tokenizer:
    """One jieba dictionary per process; `tokens()` is deterministic (HMM off)."""

    def __init__(self, vocabulary: Vocabulary, stopwords: frozenset[str]) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        with vocabulary.userdict_path.open("rb") as fh:  # jieba leaves a path's file open
            self._jieba.load_userdict(fh)
        self._pos = jieba.posseg.POSTokenizer(self._jieba)
        self._added: set[str] = set()
        self._synonyms = vocabulary.synonyms
        self._userdict_words = vocabulary.words
        self._domain = (
            frozenset(vocabulary.words)
            | frozenset(vocabulary.synonyms)
            | frozenset(vocabulary.synonyms.values())
        )
        self._stop = stopwords
        for word in self._synonyms:
            # make sure multi-character variants survive segmentation as one token
            if len(word) > 1:
                self._jieba.add_word(word, freq=100)

    def add_words(self, words: set[str]) -> None:
        """Words jieba must keep whole (the reading vocabularies' terms); idempotent."""
        for word in words:
            if len(word) > 1 and word not in self._added:
                self._jieba.add_word(word, freq=100)
                self._added.add(word)

    def raw_words(self, text: str) -> list[str]:
        """Plain jieba words (no synonyms, no stop-word removal)."""
        return [w for w in self._jieba.lcut(text, HMM=False) if w.strip()]

    @property
    def word_freq(self) -> dict[str, int]:
        """jieba's dictionary frequencies (used to tell real words from mistyped ones)."""
        self._jieba.check_initialized()
        freq: dict[str, int] = self._jieba.FREQ
        return freq

    @property
    def vocabulary_words(self) -> set[str]:
        """The user dictionary's words plus both sides of the synonym table."""
        return {*self._userdict_words, *self._synonyms, *self._synonyms.values()}

    def canonical(self, word: str) -> str:
        """The form a single word takes after synonym rewriting."""
        return self._synonyms.get(word, word)

    def words(self, text: str) -> list[str]:
        """Precise-mode words, canonicalised; a domain compound (异地就医) also yields its
        dictionary sub-words (异地, 就医) so that either way of saying it matches. Ordinary
        long words (老头子) do not, so chatter does not multiply."""
        out: list[str] = []
        for raw in self._jieba.lcut(text, HMM=False):
            word = raw.strip()
            if not word:
                continue
            pieces = [word]
            if len(word) >= 3 and word in self._domain:
                pieces += [p for p in self._jieba.lcut_for_search(word, HMM=False) if p != word]
            for piece in pieces:
                canonical = self._synonyms.get(piece, piece)
                if canonical not in self._stop:
                    out.append(canonical)
        return out

    def content_words(self, text: str) -> list[str]:
        """Words that can carry what a question is about: plain jieba words (社会保障卡 stays one
        word), canonicalised, without stop words or function words (pronouns, adverbs,
        numerals, time and place words … by part of speech)."""
        out = []
        for pair in self._pos.lcut(text, HMM=False):
            word, tag = pair.word.strip(), pair.flag
            if not word or tag.startswith(_FUNCTION_TAGS):
                continue
            canonical = self._synonyms.get(word, word)
            if canonical not in self._stop:
                out.append(canonical)
        return out

    def tokens(self, text: str) -> Tokens:
        words = self.words(text)
        return Tokens(tuple(words), tuple(bigrams("".join(w for w in words if w != " "))))


def bigrams(text: str) -> list[str]:
    chars = [c for c in text if _is_cjk(c) or c.isalnum()]
    if len(chars) == 1:
        return chars
    return [chars[i] + chars[i + 1] for i in range(len(chars) - 1)]


def load_stopwords(directory: Path | str | None = None) -> frozenset[str]:
    path = data_dir(directory) / STOPWORDS
    words = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


def load_tokenizer(directory: Path | str | None = None) -> Tokenizer:
    vocabulary, _problems = load_vocabulary(directory)
    return Tokenizer(vocabulary, load_stopwords(directory))
