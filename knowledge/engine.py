"""The question-understanding core: text + what we know of the user → one Decision.

Pipeline (see knowledge/README.md for the reasoning and how to tune it):
normalise → slots (region, scheme; places cut from the topic text) → tokens (jieba words with
synonyms, character bigrams) → BM25 candidates over question + alternates → re-rank with
coverage, rapidfuzz and region/scheme agreement → decision: answer | clarify | not_found,
or smalltalk for greetings and thanks.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from knowledge.bm25 import BM25
from knowledge.estimate import ESTIMATORS
from knowledge.gazetteer import Gazetteer, load_gazetteer
from knowledge.homophones import HomophoneFixer
from knowledge.loader import load_or_raise
from knowledge.normalise import normalise
from knowledge.paths import data_dir
from knowledge.schema import ALL_SCHEMES, NATIONWIDE, Entry, KnowledgeBase
from knowledge.slots import EMPLOYEE, RESIDENT, Slots, extract_slots, strip_scheme_words
from knowledge.tokenize import Tokenizer, Tokens, bigrams, load_tokenizer
from knowledge.yamlio import load_yaml

OTHER_REGION = "其他地区"
INSURANCE_WORDS = (
    "医保",
    "社保",
    "医保卡",
    "报销",
    "就医",
    "住院",
    "门诊",
    "备案",
    "生育保险",
    "参保",
    "结算",
    "药店",
    "医院",
    "看病",
    "买药",
    "卡",
    "刷卡",
)
CROSS_REGION_WORD = "异地"
# words that ask nothing: "我想问一下异地就医的政策" names a topic and no question about it
BROAD_FILLERS = (
    "我", "想", "我想", "想问", "想问问", "帮我", "看看", "问", "问问", "问一下", "请问", "一下",
    "了解", "咨询", "关于", "的", "事", "事情", "问题", "情况", "政策", "规定", "最新", "相关",
    "方面", "吗", "呢", "啊",
)  # fmt: skip
# neighbouring topic → its terms; a term is one word or words that must all appear
OutOfScope = dict[str, tuple[tuple[str, ...], ...]]


@dataclass(frozen=True, slots=True)
class Weights:
    """Score weights and decision thresholds; tuned on knowledge/eval/dev.yaml (see README)."""

    query_coverage: float = 0.4  # share of the question's (idf-weighted) words found in a phrasing
    doc_coverage: float = 0.075  # share of the phrasing's words found in the question
    bigram_coverage: float = 0.0  # the same over character bigrams (typos, other word splits)
    fuzzy: float = 0.2  # rapidfuzz similarity of the word strings
    answer: float = 0.0625  # words found in the answer text (low: answers are long)
    entry_coverage: float = 0.1  # the question's words found across all of an entry's phrasings
    unseen_idf_scale: float = 1.0  # weight of words the index has never seen (see Engine._idf)
    region_match: float = 0.12
    region_mismatch: float = 0.25
    profile_region_match: float = 0.0625
    profile_region_mismatch: float = 0.08
    scheme_match: float = 0.05
    scheme_mismatch: float = 0.06
    answer_threshold: float = 0.42  # used when no confidence model is fitted
    # Logistic confidence model: (bias, one coefficient per CONFIDENCE_FEATURES), fitted by
    # bench/tune_engine.py on the development sets; empty → plain score threshold.
    confidence: tuple[float, ...] = (
        -5.2542, 2.8127, 8.7421, -6.1203, 2.3068, -1.4194, 2.4982, 1.0737, 3.2409, 2.0891, 1.339, -0.2908,
    )  # fmt: skip
    confidence_threshold: float = 0.3
    min_score: float = 0.2  # never answer below this score, whatever the confidence model says
    region_gap_same_topic: float = 0.05  # the same, when the rival is a nationwide entry of one topic
    region_gap: float = 0.2  # a rule for another province leading by this much → not_found
    nationwide_preference: float = 0.0375  # region unknown: prefer a 全国 entry this close to the best
    near_threshold: float = 0.25
    broad_entries: int = 5  # a question whose every topic word is in this many entries is too broad
    candidate_docs: int = 80
    candidate_entries: int = 12


@dataclass(frozen=True, slots=True)
class Context:
    """What the previous question was about, for follow-ups such as 北京呢 / 那居民医保呢."""

    query: str
    region: str | None = None
    scheme: str | None = None
    entry_id: str | None = None


@dataclass(slots=True)
class Candidate:
    entry: Entry
    score: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    kind: str  # answer | clarify | not_found | smalltalk
    entry: Entry | None = None
    score: float = 0.0
    related: list[Entry] = field(default_factory=list)
    slot: str | None = None  # for clarify: "region" or "scheme"
    options: list[str] = field(default_factory=list)
    waiting: list[Entry] = field(default_factory=list)  # candidates waiting on the choice
    near: list[Entry] = field(default_factory=list)  # "您是不是想问" for not_found
    candidates: list[Candidate] = field(default_factory=list)
    smalltalk: str | None = None  # greeting | thanks | bye
    region: str | None = None  # region used for the decision (from text or profile)
    scheme: str | None = None
    region_note: str | None = None  # set when the answer is for another region than the user's
    context: Context | None = None  # what to remember for the next turn
    followup: bool = False
    missing_region: str | None = None  # not_found because we have nothing for this region
    out_of_scope: str | None = None  # not_found because the question is about this other topic
    broad: str | None = None  # not_found: the question only names this broad topic (医保, 异地就医)
    confidence: float = 0.0  # of the top candidate that applies (see Engine.confidence)
    features: list[float] = field(default_factory=list)  # what the confidence was computed from
    estimate: list[str] = field(default_factory=list)  # lines computed from the user's figures


@dataclass(slots=True)
class _Phrasing:
    entry_index: int
    joined: str
    words: frozenset[str] = frozenset()
    idf_sum: float = 1.0  # Σ idf of its words: query-independent, computed once


_FOLLOWUP_LEAD = re.compile(r"^(那|那么|那要是|要是|如果是|如果|换成|改成|假如|还有)")
_FOLLOWUP_TAIL = re.compile(r"(呢|的呢|咋样|怎么样|怎样|如何|那边|的话)$")


class Engine:
    def __init__(
        self,
        kb: KnowledgeBase,
        gazetteer: Gazetteer,
        tokenizer: Tokenizer,
        smalltalk: dict[str, frozenset[str]] | None = None,
        weights: Weights | None = None,
        out_of_scope: OutOfScope | None = None,
        generic_words: frozenset[str] = frozenset(),
    ) -> None:
        self.kb = kb
        self.gazetteer = gazetteer
        self.tokenizer = tokenizer
        self.weights = weights or Weights()
        self._smalltalk = smalltalk or {}
        self._out_of_scope = out_of_scope or {}
        # canonical forms, as the tokenizer emits them
        self._generic_words = generic_words
        self._generic = frozenset(self.tokenizer.canonical(w) for w in generic_words)
        self._fillers = frozenset(self.tokenizer.canonical(w) for w in BROAD_FILLERS)
        # what each entry is asked as, to tell whether it is about an out-of-scope word
        self._entry_text = {e.id: normalise(" ".join((e.question, *e.alternates))) for e in kb.entries}
        self._entries = list(kb.entries)
        self._phrasings: list[_Phrasing] = []
        domain_words = set(tokenizer.vocabulary_words)
        for entry in self._entries:
            for text in (entry.question, *entry.alternates):
                domain_words.update(tokenizer.raw_words(normalise(text)))
        self._fixer = HomophoneFixer(domain_words, tokenizer.word_freq)
        # canonical words that make a two-place question one about insurance
        self._insurance_words = frozenset(tokenizer.canonical(w) for w in INSURANCE_WORDS)
        self._freq = tokenizer.word_freq
        self._log_total = math.log(max(sum(self._freq.values()), 1))
        token_lists: list[Tokens] = []
        for index, entry in enumerate(self._entries):
            for text in (entry.question, *entry.alternates):
                tokens = self._topic_tokens(extract_slots(normalise(text), gazetteer))
                token_lists.append(tokens)
                self._phrasings.append(_Phrasing(index, "".join(tokens.words)))
        self._doc_entry = np.asarray([p.entry_index for p in self._phrasings], dtype=np.int32)
        self._words = BM25(t.words for t in token_lists)
        self._bigrams = BM25(t.bigrams for t in token_lists)
        # keep only the sets the re-ranking needs; the token lists are dropped with this frame
        for phrasing, tokens in zip(self._phrasings, token_lists, strict=True):
            phrasing.words = frozenset(tokens.words)
            phrasing.idf_sum = sum(self._words.idf[t] for t in phrasing.words) or 1.0
        self._answer_words = [set(self.tokenizer.words(normalise(e.answer))) for e in self._entries]
        self._entry_words: list[set[str]] = [set() for _ in self._entries]
        self._entry_index = {e.id: i for i, e in enumerate(self._entries)}
        for phrasing in self._phrasings:
            self._entry_words[phrasing.entry_index].update(phrasing.words)
        self._question_words = [set(self.tokenizer.words(normalise(e.question))) for e in self._entries]
        # in how many entries' phrasings each word occurs: 医保, 报销, 异地就医 are in many
        self._entry_freq: dict[str, int] = defaultdict(int)
        for words in self._entry_words:
            for word in words:
                self._entry_freq[word] += 1
        self._by_entry: dict[int, list[_Phrasing]] = defaultdict(list)
        for phrasing in self._phrasings:
            self._by_entry[phrasing.entry_index].append(phrasing)
        self._groups: dict[str, list[Entry]] = defaultdict(list)
        self._by_topic: dict[str, list[Entry]] = defaultdict(list)
        for entry in self._entries:
            self._by_topic[entry.topic].append(entry)
            if entry.group:
                self._groups[entry.group].append(entry)

    def extended(self, extra: list[Entry]) -> Engine:
        """A new engine over the knowledge base plus `extra` entries (published policy updates),
        sharing this one's gazetteer, tokenizer and settings."""
        kb = KnowledgeBase()
        for entry in [*self.kb.entries, *extra]:
            kb.add(entry)
        return Engine(
            kb,
            self.gazetteer,
            self.tokenizer,
            self._smalltalk,
            self.weights,
            self._out_of_scope,
            self._generic_words,
        )

    # -- building blocks ------------------------------------------------------------------
    def _topic_tokens(self, slots: Slots) -> Tokens:
        tokens = self.tokenizer.tokens(slots.topic_text)
        if slots.apart and set(tokens.words) & self._insurance_words:
            # "山西医保在北京用", "惠州医保在东莞用" are about care elsewhere; "北京到大同的高铁票" is not
            tokens = self.tokenizer.tokens(f"{slots.topic_text} {CROSS_REGION_WORD}")
        return tokens

    def smalltalk_kind(self, text: str) -> str | None:
        """greeting / thanks / bye when the message is nothing but such phrases."""
        rest = text
        kinds: list[str] = []
        for kind, phrases in self._smalltalk.items():
            for phrase in sorted(phrases, key=len, reverse=True):
                if phrase and phrase in rest:
                    rest = rest.replace(phrase, " ")
                    kinds.append(kind)
        leftover = "".join(ch for ch in rest if not ch.isspace() and ch not in "啊呀吧呢哦嘛啦了的哈嗯")
        if kinds and len(leftover) <= 1:
            return kinds[0]
        return None

    def _is_followup(self, text: str, slots: Slots) -> bool:
        if len(text) > 16:
            return False
        if _FOLLOWUP_LEAD.search(text) or _FOLLOWUP_TAIL.search(text):
            return True
        # only a place or only a scheme ("北京", "居民医保")
        return not slots.topic_text or (slots.scheme is not None and len(text) <= 6)

    # -- scoring --------------------------------------------------------------------------
    def score(
        self, tokens: Tokens, slots_region: tuple[str, ...], profile_region: str | None, scheme: str | None
    ) -> list[Candidate]:
        w = self.weights
        words, grams = tokens.words, tokens.bigrams
        if not words and not grams:
            return []
        ub_w = self._words.upper_bound(words) or 1.0
        ub_b = self._bigrams.upper_bound(grams) or 1.0
        doc_scores = np.zeros(len(self._phrasings), dtype=np.float32)
        touched = self._words.add_scores(words, doc_scores, 1.0 / ub_w)
        touched += self._bigrams.add_scores(grams, doc_scores, 1.0 / ub_b)
        if not touched:
            return []
        # Rank only the phrasings that share something with the question.
        docs = np.unique(np.concatenate(touched))
        local = doc_scores[docs]
        k = min(w.candidate_docs, len(docs))
        if k < len(docs):
            chosen = np.argpartition(-local, k - 1)[:k]
            docs, local = docs[chosen], local[chosen]
        entry_ids: list[int] = []
        for doc in docs[np.argsort(-local, kind="stable")]:
            idx = int(self._doc_entry[doc])
            if idx not in entry_ids:
                entry_ids.append(idx)
            if len(entry_ids) >= w.candidate_entries:
                break

        q_words = set(words)
        idf = {t: self._idf(t) for t in q_words}  # looked up once per query
        gram_idf = {g: self._bigrams.term_idf(g) for g in set(grams)}
        q_idf = sum(idf.values()) or 1.0
        g_idf = sum(gram_idf.values()) or 1.0
        q_joined = "".join(words)
        known = sum(v for t, v in idf.items() if t in self._words.idf) / q_idf
        ceiling = self._words.unseen_idf
        out: list[Candidate] = []
        for idx in entry_ids:
            entry = self._entries[idx]
            best: dict[str, float] = {}
            best_lex = -1.0
            best_phrasing = self._by_entry[idx][0]
            for phrasing in self._by_entry[idx]:
                shared = q_words & phrasing.words
                shared_idf = sum(idf[t] for t in shared)
                qcov = shared_idf / q_idf
                dcov = shared_idf / phrasing.idf_sum
                bcov = self._gram_coverage(gram_idf, g_idf, phrasing) if w.bigram_coverage else 0.0
                fz = fuzz.ratio(q_joined, phrasing.joined) / 100.0
                lex = (
                    w.query_coverage * qcov + w.doc_coverage * dcov + w.bigram_coverage * bcov + w.fuzzy * fz
                )
                if lex > best_lex:
                    best_lex, best_phrasing = lex, phrasing
                    top_shared = max((idf[t] for t in shared), default=0.0) / ceiling
                    best = {"qcov": qcov, "dcov": dcov, "bcov": bcov, "fuzz": fz, "maxshared": top_shared}
            # bigram coverage still informs the confidence model when it does not rank
            best["bcov"] = self._gram_coverage(gram_idf, g_idf, best_phrasing)
            acov = sum(idf[t] for t in q_words & self._answer_words[idx]) / q_idf
            # the question's words found anywhere in the entry's phrasings taken together
            ecov = sum(idf[t] for t in q_words & self._entry_words[idx]) / q_idf
            # the most telling word of the question that this entry never mentions (失业金, 交强险)
            unmatched = q_words - self._entry_words[idx] - self._answer_words[idx]
            miss = max((idf[t] for t in unmatched), default=0.0) / ceiling
            adjust = self._agreement(entry, slots_region, profile_region, scheme)
            total = best_lex + w.answer * acov + w.entry_coverage * ecov + adjust
            parts = {
                **best,
                "lex": best_lex,
                "answer": acov,
                "ecov": ecov,
                "miss": miss,
                "slots": adjust,
                "known": known,
            }
            out.append(Candidate(entry, total, parts))
        out.sort(key=lambda c: c.score, reverse=True)
        return out

    @staticmethod
    def _gram_coverage(gram_idf: dict[str, float], total: float, phrasing: _Phrasing) -> float:
        # bigrams recomputed from the joined words: cheaper than keeping a set per phrasing
        return sum(gram_idf[g] for g in gram_idf.keys() & set(bigrams(phrasing.joined))) / total

    def _idf(self, term: str) -> float:
        """The index's idf for known words; for words the index has never seen, an idf from
        jieba's general-language frequency, so chatter (说, 急, 一个月) weighs little and rare
        words (交强险, 个税) weigh as much as the rarest indexed word."""
        idf = self._words.idf.get(term)
        if idf is not None:
            return idf
        surprise = self._log_total - math.log(self._freq.get(term, 0) + 1)  # 5.6 for 说 … 17.9 unseen
        ceiling = self._words.unseen_idf
        slope = ceiling / (16.0 - 6.0) * self.weights.unseen_idf_scale
        return min(ceiling, max(0.2, slope * (surprise - 6.0)))

    def _agreement(
        self, entry: Entry, text_regions: tuple[str, ...], profile_region: str | None, scheme: str | None
    ) -> float:
        w = self.weights
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

    # -- decisions ------------------------------------------------------------------------
    def decide(
        self,
        text: str,
        region: str | None = None,
        scheme: str | None = None,
        context: Context | None = None,
    ) -> Decision:
        """Decide what to reply. `region`/`scheme` are what the user's profile says."""
        norm = self._fixer.fix(normalise(text))
        decision = self._decide(norm, region, scheme, context)
        entry = decision.entry
        if decision.kind == "answer" and entry is not None and entry.estimate:
            decision.estimate = ESTIMATORS[entry.estimate](norm) or []
        return decision

    def _decide(self, norm: str, region: str | None, scheme: str | None, context: Context | None) -> Decision:
        kind = self.smalltalk_kind(norm)
        if kind is not None:
            return Decision("smalltalk", smalltalk=kind, context=context)
        slots = extract_slots(norm, self.gazetteer)
        followup = context is not None and self._is_followup(norm, slots)
        text_regions = slots.regions
        q_scheme = slots.scheme
        topic_slots = slots
        if followup and context is not None:
            # Carry the previous topic; what the new message names overrides the old slots.
            previous = context.query
            if slots.scheme and slots.scheme != context.scheme:
                previous = strip_scheme_words(previous)
            merged = f"{previous} {slots.topic_text}".strip()
            topic_slots = Slots(slots.places, slots.scheme, merged)
            if not text_regions and context.region:
                text_regions = (context.region,)
            q_scheme = q_scheme or context.scheme
        tokens = self._topic_tokens(topic_slots)
        eff_scheme = q_scheme or scheme
        eff_region = text_regions[0] if text_regions else region
        candidates = self.score(tokens, text_regions, region if not text_regions else None, eff_scheme)
        new_context = Context(
            query=topic_slots.topic_text,
            region=text_regions[0] if text_regions else None,
            scheme=q_scheme,
            entry_id=None,
        )
        base = Decision(
            "not_found",
            candidates=candidates,
            region=eff_region,
            scheme=eff_scheme,
            context=new_context,
            followup=followup,
        )
        w = self.weights
        # A rule of another province than the one the question names does not answer it.
        eligible = [c for c in candidates if self._applies(c.entry, text_regions)]
        if eligible:
            base.features = confidence_features(eligible)
            base.confidence = self.confidence(eligible)
        if eligible:
            # Lexical fit alone (no region adjustment): is the question clearly about a topic
            # we only have for other provinces?
            other = max((c for c in candidates if c not in eligible), key=_lexical, default=None)
            if other is not None:
                gap = _lexical(other) - _lexical(eligible[0])
                same_topic = other.entry.topic == eligible[0].entry.topic or self._regional_only(other.entry)
                if gap > w.region_gap or (
                    same_topic and eligible[0].entry.is_nationwide and gap > w.region_gap_same_topic
                ):
                    eligible = []
                    base.missing_region = text_regions[0]
        if eligible and not self._shares_a_topic_word(tokens, eligible[0].entry):
            eligible = []  # only question words in common (怎么/办理/多少钱): not about our topics
        topic = self._outside_topic(norm, tokens, eligible[0].entry if eligible else None)
        if topic is not None:
            base.out_of_scope = topic
            base.near = []
            return base
        broad = self._too_broad(topic_slots.topic_text) if eligible and not followup else None
        if broad is not None:
            # "医保" / "异地就医" / "北京医保": offer the common questions rather than guess one
            base.broad = broad
            base.near = self._broad_suggestions(broad, eligible, eff_region)
            return base
        if not eligible or base.confidence < w.confidence_threshold or eligible[0].score < w.min_score:
            if base.missing_region:  # show what we have for other provinces first
                candidates = sorted(candidates, key=_lexical, reverse=True)
            base.near = [c.entry for c in candidates[:3] if c.score >= w.near_threshold]
            base.score = candidates[0].score if candidates else 0.0
            if candidates and not self._applies(candidates[0].entry, text_regions):
                base.missing_region = text_regions[0]
            return base
        best = eligible[0]
        if eff_region is None and best.entry.region != NATIONWIDE:
            # Region unknown: a nationwide answer that is nearly as good fits everyone.
            nationwide = next((c for c in eligible if c.entry.region == NATIONWIDE), None)
            if nationwide is not None and nationwide.score >= best.score - w.nationwide_preference:
                best = nationwide
        # Entries answering the same question for different regions/schemes (a `group`).
        family = self._groups.get(best.entry.group or "", [best.entry])
        if len(family) > 1:
            decision = self._resolve_family(family, eff_region, eff_scheme, text_regions, base)
            if decision is not None:
                return decision
        return self._answer(best.entry, best.score, base)

    def _too_broad(self, topic_text: str) -> str | None:
        """The topic, when the question names one and asks nothing about it ("社保卡", "我想问一下
        异地就医"): one word that many entries are about, and besides it only fillers — no
        question word (产假几天 asks)."""
        words = [
            w
            for w in dict.fromkeys(self.tokenizer.raw_words(topic_text))  # once each: 医保医保
            if self.tokenizer.canonical(w) not in self._fillers
        ]
        if len(words) != 1:
            return None
        parts = self.tokenizer.words(words[0])
        if parts and all(self._entry_freq.get(p, 0) >= self.weights.broad_entries for p in parts):
            return words[0]
        return None

    def _broad_suggestions(self, topic: str, eligible: list[Candidate], region: str | None) -> list[Entry]:
        """Common questions for a broad topic: those whose own question names it, for the
        user's region or nationwide, first."""
        words = set(self.tokenizer.words(topic))

        def key(c: Candidate) -> tuple[bool, bool, float]:
            named = bool(words & self._question_words[self._entry_index[c.entry.id]])
            fits = c.entry.applies_to(region) if region else c.entry.is_nationwide
            return (not named, not fits, -c.score)

        return [c.entry for c in sorted(eligible, key=key)[:4]]

    def _regional_only(self, entry: Entry) -> bool:
        """Whether the entry's question is answered province by province with no nationwide
        rule (缴费基数, 居民医保个人缴费): a province we lack then has no answer."""
        members = self._groups.get(entry.group or "", [])
        return len(members) > 1 and not any(m.is_nationwide for m in members)

    def _shares_a_topic_word(self, tokens: Tokens, entry: Entry, ignore: tuple[str, ...] = ()) -> bool:
        """Whether the question and the entry's phrasings share a word that is not a question
        word, nor part of one of the `ignore` terms."""
        index = self._entry_index[entry.id]
        shared = (set(tokens.words) & self._entry_words[index]) - self._generic
        return any(not any(word in part for part in ignore) for word in shared)

    def _outside_topic(self, text: str, tokens: Tokens, best: Entry | None) -> str | None:
        """The neighbouring topic a question is about, when the best entry does not answer it.

        A term is one word or a set of words that must all appear (医院 + 推荐). It names the
        topic when the best entry is never asked with it, or when the entry is (山西个账能交
        长期护理保险吗) but the question shares nothing else with the entry
        (长期护理保险怎么申请 is about the other topic itself)."""
        for name, terms in self._out_of_scope.items():
            for term in terms:
                if not all(part in text for part in term):
                    continue
                if best is None or not all(part in self._entry_text[best.id] for part in term):
                    return name
                if not self._shares_a_topic_word(tokens, best, ignore=term):
                    return name
        return None

    def confidence(self, ranked: list[Candidate]) -> float:
        """How sure we are that the top candidate answers the question, in [0, 1].

        With fitted coefficients (Weights.confidence) a logistic model over the top
        candidate's score parts; otherwise the plain score against answer_threshold.
        """
        w = self.weights
        top = ranked[0]
        if not w.confidence:
            return 1.0 if top.score >= w.answer_threshold else 0.0
        x = confidence_features(ranked)
        z = w.confidence[0] + sum(c * v for c, v in zip(w.confidence[1:], x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @staticmethod
    def _applies(entry: Entry, text_regions: tuple[str, ...]) -> bool:
        return entry.is_nationwide or not text_regions or any(r in text_regions for r in entry.regions)

    def _resolve_family(
        self,
        family: list[Entry],
        region: str | None,
        scheme: str | None,
        text_regions: tuple[str, ...],
        base: Decision,
    ) -> Decision | None:
        regions = {e.region for e in family}
        schemes = {s for e in family for s in e.schemes}
        pick = self._pick(family, region, scheme)
        if pick is not None:
            return self._answer(pick, base.candidates[0].score, base)
        if region is not None and NATIONWIDE not in regions and not any(e.applies_to(region) for e in family):
            # We know where the user is, and no member covers it: say so, offer the others.
            base.kind = "not_found"
            base.missing_region = region
            base.near = family[:3]
            base.score = base.candidates[0].score
            return base
        if region is None and len(regions) > 1:
            return self._clarify("region", family, base)
        if scheme is None and {EMPLOYEE, RESIDENT} <= schemes:
            return self._clarify("scheme", family, base)
        return None

    def _pick(self, family: list[Entry], region: str | None, scheme: str | None) -> Entry | None:
        """The member for this region and scheme; the nationwide one when none is regional."""

        def scheme_ok(e: Entry) -> bool:
            return scheme is None or ALL_SCHEMES in e.schemes or scheme in e.schemes

        regional = [e for e in family if e.applies_to(region)]
        nationwide = [e for e in family if e.region == NATIONWIDE]
        pools = [regional, nationwide]
        if region is None and len({e.region for e in family}) == 1:
            pools.append(family)  # one region, members differ by scheme only
        for pool in pools:
            fitting = [e for e in pool if scheme_ok(e)]
            if len(fitting) == 1:
                return fitting[0]
            if len(fitting) > 1 and scheme is not None:
                exact = [e for e in fitting if scheme in e.schemes]
                if len(exact) == 1:
                    return exact[0]
            if len(fitting) > 1:
                return None
        return None

    def _clarify(self, slot: str, family: list[Entry], base: Decision) -> Decision:
        if slot == "region":
            options = sorted({r for e in family if not e.is_nationwide for r in e.regions})
            options.append(OTHER_REGION)
        else:
            options = [EMPLOYEE, RESIDENT]
        base.kind = "clarify"
        base.slot = slot
        base.options = options
        base.waiting = family
        base.score = base.candidates[0].score
        return base

    def _answer(self, entry: Entry, score: float, base: Decision) -> Decision:
        base.kind = "answer"
        base.entry = entry
        base.score = score
        base.related = self.related(entry)
        if not entry.is_nationwide and base.region and not entry.applies_to(base.region):
            base.region_note = entry.where
        if base.context is not None:
            base.context = Context(base.context.query, base.context.region, base.context.scheme, entry.id)
        return base

    def related(self, entry: Entry, limit: int = 3) -> list[Entry]:
        """Follow-up suggestions: the entry's own list, then its group, then its topic."""
        chosen: list[Entry] = []
        pool = [*self.kb.related(entry)]
        if entry.group:
            pool += self._groups[entry.group]
        pool += self._by_topic[entry.topic]
        for other in pool:
            if other.id != entry.id and other not in chosen:
                chosen.append(other)
            if len(chosen) == limit:
                break
        return chosen

    def answer_entry(self, entry: Entry, region: str | None = None) -> Decision:
        """An answer decision for an entry the user picked (a suggestion button)."""
        base = Decision("answer", region=region, context=Context(query=entry.question, entry_id=entry.id))
        return self._answer(entry, 1.0, base)

    def choose(self, waiting: list[Entry], region: str | None = None, scheme: str | None = None) -> Decision:
        """Complete a clarification: the member for the chosen region/scheme (其他地区 → nationwide)."""
        reg = None if region == OTHER_REGION else region
        pick = self._pick(waiting, reg, scheme)
        base = Decision("not_found", region=reg, scheme=scheme, candidates=[])
        if pick is None and scheme is None and reg is not None:
            pick = next((e for e in waiting if e.region == NATIONWIDE), None)
        if pick is None and region == OTHER_REGION:
            pick = next((e for e in waiting if e.region == NATIONWIDE), None)
        if pick is None:
            base.near = waiting[:3]
            return base
        return self._answer(pick, 1.0, base)


CONFIDENCE_FEATURES = (
    "score",
    "gap",
    "qcov",
    "dcov",
    "bcov",
    "fuzz",
    "answer",
    "ecov",
    "known",
    "maxshared",
    "miss",
)


def _lexical(candidate: Candidate) -> float:
    return candidate.score - candidate.parts.get("slots", 0.0)


def confidence_features(ranked: list[Candidate]) -> list[float]:
    """Features of the confidence model, in CONFIDENCE_FEATURES order."""
    top = ranked[0]
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    derived = {"score": top.score, "gap": top.score - runner_up}
    return [derived[name] if name in derived else top.parts.get(name, 0.0) for name in CONFIDENCE_FEATURES]


def load_smalltalk(directory: Path | str | None = None) -> dict[str, frozenset[str]]:
    doc = load_yaml(data_dir(directory) / "smalltalk.yaml") or {}
    return {
        kind: frozenset(normalise(str(p)) for p in phrases)
        for kind, phrases in doc.items()
        if isinstance(phrases, list)
    }


def load_word_list(directory: Path | str | None, name: str) -> frozenset[str]:
    path = data_dir(directory) / name
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(normalise(w) for w in lines if w and not w.startswith("#"))


def load_out_of_scope(directory: Path | str | None = None) -> OutOfScope:
    """Topic name → its terms; a term is a word, or a list of words that must all appear."""
    doc = load_yaml(data_dir(directory) / "out_of_scope.yaml") or {}

    def term(word: object) -> tuple[str, ...]:
        return tuple(normalise(str(p)) for p in (word if isinstance(word, list) else [word]))

    return {str(t["name"]): tuple(term(w) for w in t.get("words") or []) for t in doc.get("topics") or []}


def load_engine(directory: Path | str | None = None, weights: Weights | None = None) -> Engine:
    """Load data, gazetteer and vocabulary once and build the index."""
    gazetteer = load_gazetteer(directory)
    kb = load_or_raise(directory, gazetteer)
    return Engine(
        kb,
        gazetteer,
        load_tokenizer(directory),
        load_smalltalk(directory),
        weights,
        load_out_of_scope(directory),
        load_word_list(directory, "generic_words.txt"),
    )
