"""Retrieve and re-rank: which entries are worded most like the question.

BM25 over every phrasing (question + alternates), words and character bigrams, picks the
candidates; each is re-ranked by the best phrasing's idf-weighted coverage of the question
(`qcov`) and of the phrasing (`dcov`), rapidfuzz `ratio` of the word strings, coverage by the
answer text and by all the entry's phrasings together (`ecov`), plus region/scheme agreement.
Ranking only orders candidates; whether one answers is decided by knowledge/answers.py.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from knowledge.bm25 import BM25
from knowledge.decision import Candidate
from knowledge.gazetteer import Gazetteer
from knowledge.normalise import normalise
from knowledge.schema import ALL_SCHEMES, Entry
from knowledge.slots import EMPLOYEE, RESIDENT, Slots, extract_slots
from knowledge.tokenize import Tokenizer, Tokens


@dataclass(frozen=True, slots=True)
class Weights:
    """Ranking weights; tuned on knowledge/eval/dev*.yaml by bench/tune_engine.py (see README)."""

    query_coverage: float = 0.4  # share of the question's (idf-weighted) words found in a phrasing
    doc_coverage: float = 0.0  # share of the phrasing's words found in the question (tuned to 0)
    fuzzy: float = 0.2  # rapidfuzz similarity of the word strings
    answer: float = 0.0625  # words found in the answer text (low: answers are long)
    entry_coverage: float = 0.1  # the question's words found across all of an entry's phrasings
    unseen_idf_scale: float = 1.0  # weight of words the index has never seen (see Retriever.idf)
    region_match: float = 0.12
    region_mismatch: float = 0.25
    profile_region_match: float = 0.0625
    profile_region_mismatch: float = 0.08
    scheme_match: float = 0.05
    scheme_mismatch: float = 0.06
    candidate_docs: int = 80
    candidate_entries: int = 12
    subject_entries: int = 24  # entries about the question's subjects added, best worded first


@dataclass(slots=True)
class _Phrasing:
    entry_index: int
    joined: str
    words: frozenset[str] = frozenset()
    idf_sum: float = 1.0  # Σ idf of its words: query-independent, computed once


class Retriever:
    def __init__(self, entries: list[Entry], tokenizer: Tokenizer, topic_tokens: TopicTokens) -> None:
        self.entries = entries
        self.tokenizer = tokenizer
        self._freq = tokenizer.word_freq
        self._log_total = math.log(max(sum(self._freq.values()), 1))
        self._phrasings: list[_Phrasing] = []
        token_lists: list[Tokens] = []
        for index, entry in enumerate(entries):
            for text in (entry.question, *entry.alternates):
                tokens = topic_tokens(normalise(text))
                token_lists.append(tokens)
                self._phrasings.append(_Phrasing(index, "".join(tokens.words)))
        self._doc_entry = np.asarray([p.entry_index for p in self._phrasings], dtype=np.int32)
        self._docs_of: list[list[int]] = [[] for _ in entries]
        for doc, phrasing in enumerate(self._phrasings):
            self._docs_of[phrasing.entry_index].append(doc)
        self._words = BM25(t.words for t in token_lists)
        self._bigrams = BM25(t.bigrams for t in token_lists)
        # keep only the sets the re-ranking needs; the token lists are dropped with this frame
        for phrasing, tokens in zip(self._phrasings, token_lists, strict=True):
            phrasing.words = frozenset(tokens.words)
            phrasing.idf_sum = sum(self._words.idf[t] for t in phrasing.words) or 1.0
        self._answer_words = [set(tokenizer.words(normalise(e.answer))) for e in entries]
        self._entry_words: list[set[str]] = [set() for _ in entries]
        self._by_entry: dict[int, list[_Phrasing]] = defaultdict(list)
        for phrasing in self._phrasings:
            self._entry_words[phrasing.entry_index].update(phrasing.words)
            self._by_entry[phrasing.entry_index].append(phrasing)

    def idf(self, term: str, scale: float = 1.0) -> float:
        """The index's idf for known words; for words the index has never seen, an idf from
        jieba's general-language frequency, so chatter (说, 急, 一个月) weighs little and rare
        words (交强险, 个税) weigh as much as the rarest indexed word."""
        idf = self._words.idf.get(term)
        if idf is not None:
            return idf
        surprise = self._log_total - math.log(self._freq.get(term, 0) + 1)  # 5.6 for 说 … 17.9 unseen
        ceiling = self._words.unseen_idf
        slope = ceiling / (16.0 - 6.0) * scale
        return min(ceiling, max(0.2, slope * (surprise - 6.0)))

    @property
    def idf_ceiling(self) -> float:
        return self._words.unseen_idf

    def phrasings_of(self, entry_indexes: Iterable[int]) -> np.ndarray:
        """The phrasings (BM25 documents) of these entries, for `rank(also=…)`."""
        docs = [doc for i in entry_indexes for doc in self._docs_of[i]]
        return np.asarray(docs, dtype=np.int32)

    def _best_entries(self, docs: np.ndarray, scores: np.ndarray, limit: int) -> list[int]:
        """The entries of the best scored of `docs`, best first, at most `limit` (numpy: a
        subject may have thousands of entries)."""
        if docs.size == 0:
            return []
        local = scores[docs]
        k = min(docs.size, limit * 4)  # an entry has several phrasings
        if k < docs.size:
            chosen = np.argpartition(-local, k - 1)[:k]
            docs, local = docs[chosen], local[chosen]
        ordered = self._doc_entry[docs[np.argsort(-local, kind="stable")]]
        return [int(i) for i in dict.fromkeys(ordered.tolist())][:limit]

    def _candidate_indexes(self, tokens: Tokens, w: Weights, also: np.ndarray) -> list[int]:
        """The entries of the BM25 top phrasings, then the best worded entries among `also`."""
        words, grams = tokens.words, tokens.bigrams
        doc_scores = np.zeros(len(self._phrasings), dtype=np.float32)
        if not words and not grams:
            return self._best_entries(also, doc_scores, w.subject_entries)
        ub_w = self._words.upper_bound(words) or 1.0
        ub_b = self._bigrams.upper_bound(grams) or 1.0
        touched = self._words.add_scores(words, doc_scores, 1.0 / ub_w)
        touched += self._bigrams.add_scores(grams, doc_scores, 1.0 / ub_b)
        about = self._best_entries(also, doc_scores, w.subject_entries)
        if not touched:
            return about
        limit_docs, limit_entries = w.candidate_docs, w.candidate_entries
        # Rank only the phrasings that share something with the question.
        docs = np.unique(np.concatenate(touched))
        local = doc_scores[docs]
        k = min(limit_docs, len(docs))
        if k < len(docs):
            chosen = np.argpartition(-local, k - 1)[:k]
            docs, local = docs[chosen], local[chosen]
        entry_ids: list[int] = []
        for doc in docs[np.argsort(-local, kind="stable")]:
            idx = int(self._doc_entry[doc])
            if idx not in entry_ids:
                entry_ids.append(idx)
            if len(entry_ids) >= limit_entries:
                break
        return entry_ids + [i for i in about if i not in entry_ids]

    def rank(
        self,
        tokens: Tokens,
        weights: Weights,
        text_regions: tuple[str, ...],
        profile_region: str | None,
        scheme: str | None,
        also: np.ndarray | None = None,
    ) -> list[Candidate]:
        """Candidates best first: the BM25 top entries plus the best worded entries among the
        phrasings `also` (those of the entries about the question's subjects, so the check of
        what answers sees them whatever their wording)."""
        w = weights
        none = np.zeros(0, dtype=np.int32)
        entry_ids = self._candidate_indexes(tokens, w, none if also is None else also)
        if not entry_ids:
            return []
        words = tokens.words
        q_words = set(words)
        idf = {t: self.idf(t, w.unseen_idf_scale) for t in q_words}  # looked up once per query
        q_idf = sum(idf.values()) or 1.0
        q_joined = "".join(words)
        known = sum(v for t, v in idf.items() if t in self._words.idf) / q_idf
        out: list[Candidate] = []
        for idx in entry_ids:
            entry = self.entries[idx]
            best: dict[str, float] = {}
            best_lex = -1.0
            for phrasing in self._by_entry[idx]:
                shared = q_words & phrasing.words
                shared_idf = sum(idf[t] for t in shared)
                qcov = shared_idf / q_idf
                dcov = shared_idf / phrasing.idf_sum
                fz = fuzz.ratio(q_joined, phrasing.joined) / 100.0
                lex = w.query_coverage * qcov + w.doc_coverage * dcov + w.fuzzy * fz
                if lex > best_lex:
                    best_lex = lex
                    best = {"qcov": qcov, "dcov": dcov, "fuzz": fz}
            acov = sum(idf[t] for t in q_words & self._answer_words[idx]) / q_idf if q_words else 0.0
            # the question's words found anywhere in the entry's phrasings taken together
            ecov = sum(idf[t] for t in q_words & self._entry_words[idx]) / q_idf if q_words else 0.0
            adjust = self._agreement(entry, w, text_regions, profile_region, scheme)
            total = best_lex + w.answer * acov + w.entry_coverage * ecov + adjust
            parts = {**best, "lex": best_lex, "answer": acov, "ecov": ecov, "slots": adjust, "known": known}
            out.append(Candidate(entry, total, parts))
        out.sort(key=lambda c: c.score, reverse=True)
        return out

    @staticmethod
    def _agreement(
        entry: Entry,
        w: Weights,
        text_regions: tuple[str, ...],
        profile_region: str | None,
        scheme: str | None,
    ) -> float:
        adjust = 0.0
        if not entry.is_nationwide:
            if text_regions:
                named = any(r in text_regions for r in entry.regions)
                adjust += w.region_match if named else -w.region_mismatch
            elif profile_region:
                adjust += (
                    w.profile_region_match if entry.applies_to(profile_region) else -w.profile_region_mismatch
                )
        if scheme and ALL_SCHEMES not in entry.schemes and scheme in (EMPLOYEE, RESIDENT):
            if scheme in entry.schemes:
                adjust += w.scheme_match
            elif {EMPLOYEE, RESIDENT} & set(entry.schemes):
                adjust -= w.scheme_mismatch
        return adjust


class TopicTokens:
    """Tokens of a question's topic text; two places apart in a question about insurance or
    care also mean 异地 ("惠州医保能在东莞用吗" keeps its meaning once the places are cut)."""

    CROSS_REGION_WORD = "异地"
    INSURANCE_WORDS = (
        "医保", "社保", "医保卡", "报销", "就医", "住院", "门诊", "备案", "生育保险", "参保", "结算",
        "药店", "医院", "看病", "买药", "卡", "刷卡",
    )  # fmt: skip

    def __init__(self, tokenizer: Tokenizer, gazetteer: Gazetteer) -> None:
        self.tokenizer = tokenizer
        self.gazetteer = gazetteer
        self._insurance = frozenset(tokenizer.canonical(w) for w in self.INSURANCE_WORDS)

    def of_slots(self, slots: Slots) -> Tokens:
        tokens = self.tokenizer.tokens(slots.topic_text)
        if slots.apart and set(tokens.words) & self._insurance:
            tokens = self.tokenizer.tokens(f"{slots.topic_text} {self.CROSS_REGION_WORD}")
        return tokens

    def __call__(self, text: str) -> Tokens:
        return self.of_slots(extract_slots(text, self.gazetteer))
