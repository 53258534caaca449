"""The question-understanding core: text + what we know of the user → one Decision.

A short pipeline (knowledge/README.md explains each stage and how to tune it):

    normalise → small talk? → read the parts (subject, kind of asking, place, scheme, person)
    → retrieve and re-rank candidates → does an entry answer those parts? → decide:
    answer | clarify (region or scheme) | not_found (an honest decline, or a topics list)

`decide` runs the stages; each stage is a method below it, in that order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from knowledge import decision as why
from knowledge.answers import FITS, NOTE, Judge, Verdict
from knowledge.datafiles import load_smalltalk, load_word_list
from knowledge.decision import Candidate, Context, Decision
from knowledge.estimate import ESTIMATORS
from knowledge.gazetteer import Gazetteer, load_gazetteer
from knowledge.homophones import HomophoneFixer
from knowledge.loader import Loaded, load_or_raise, load_with_changes
from knowledge.normalise import normalise
from knowledge.overlay import Change
from knowledge.reading import Reader, Reading, ReadingVocabulary, load_reading_vocabulary
from knowledge.retrieve import Retriever, TopicTokens, Weights
from knowledge.schema import ALL_SCHEMES, NATIONWIDE, Entry, KnowledgeBase
from knowledge.slots import EMPLOYEE, RESIDENT, Slots, extract_slots, strip_scheme_words
from knowledge.tokenize import Tokenizer, load_tokenizer

__all__ = ["OTHER_REGION", "Candidate", "Context", "Decision", "Engine", "Settings", "Weights", "load_engine"]

OTHER_REGION = "其他地区"
_FOLLOWUP_LEAD = re.compile(r"^(那|那么|那要是|要是|如果是|如果|换成|改成|假如|还有)")
_FOLLOWUP_TAIL = re.compile(r"(呢|的呢|咋样|怎么样|怎样|如何|那边|的话)$")
_SMALLTALK_FILLER = "啊呀吧呢哦嘛啦了的哈嗯"


@dataclass(frozen=True, slots=True)
class Settings:
    """Decision thresholds (ranking weights are in `Weights`); see knowledge/README.md."""

    min_score: float = 0.2  # an entry that claims the parts but shares less wording than this: decline
    near_threshold: float = 0.25  # lexical suggestions below this are not offered
    suggestions: int = 3


class Engine:
    def __init__(
        self,
        kb: KnowledgeBase,
        gazetteer: Gazetteer,
        tokenizer: Tokenizer,
        vocabulary: ReadingVocabulary,
        smalltalk: dict[str, frozenset[str]] | None = None,
        weights: Weights | None = None,
        settings: Settings | None = None,
        generic_words: frozenset[str] = frozenset(),
    ) -> None:
        self.kb = kb
        self.gazetteer = gazetteer
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        self.weights = weights or Weights()
        self.settings = settings or Settings()
        self._smalltalk = smalltalk or {}
        self._generic_words = generic_words
        tokenizer.add_words(vocabulary.words)  # keep the vocabularies' words whole (交强险, 医保钱包)
        self._entries = list(kb.entries)
        self._index = {e.id: i for i, e in enumerate(self._entries)}
        # homophones are repaired only towards the user dictionary and synonyms: words taken
        # from the entries' phrasings turned 补了 into 不了 and 打到 into 大道, and subject
        # terms 钱交 into 欠缴
        self._fixer = HomophoneFixer(tokenizer.vocabulary_words, tokenizer.word_freq)
        # greetings and thanks say nothing of the question either (你好，山西产假多少天)
        chatter = generic_words | {p for phrases in self._smalltalk.values() for p in phrases}
        self.reader = Reader(vocabulary, tokenizer, gazetteer, chatter)
        self.topic_tokens = TopicTokens(tokenizer, gazetteer)
        self.retriever = Retriever(self._entries, tokenizer, self.topic_tokens)
        self.judge = Judge(self.reader)
        self._groups: dict[str, list[Entry]] = defaultdict(list)
        self._by_topic: dict[str, list[Entry]] = defaultdict(list)
        by_subject: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(self._entries):
            self._by_topic[entry.topic].append(entry)
            if entry.group:
                self._groups[entry.group].append(entry)
            for subject in entry.subjects:
                by_subject[subject].append(index)
        # the phrasings of each subject's entries, for retrieval (entries about what was asked)
        self._subject_docs = {s: self.retriever.phrasings_of(ids) for s, ids in by_subject.items()}

    def extended(self, extra: list[Entry]) -> Engine:
        """A new engine over the knowledge base plus `extra` entries (published policy updates),
        sharing this one's gazetteer, tokenizer, vocabularies and settings."""
        kb = KnowledgeBase()
        for entry in [*self.kb.entries, *extra]:
            kb.add(entry)
        return self.with_knowledge(kb, self.vocabulary)

    def with_knowledge(self, kb: KnowledgeBase, vocabulary: ReadingVocabulary) -> Engine:
        """A new engine over another knowledge base (operators' changes applied), sharing this
        one's gazetteer, tokenizer, word lists and settings, and what it worked out about the
        entries that did not change."""
        engine = Engine(
            kb,
            self.gazetteer,
            self.tokenizer,
            vocabulary,
            self._smalltalk,
            self.weights,
            self.settings,
            self._generic_words,
        )
        if vocabulary == self.vocabulary:
            same = {e.id for e in kb.entries if self.kb.by_id.get(e.id) == e}
            engine.judge.adopt(self.judge, same)
        return engine

    def with_changes(self, directory: Path | str | None, changes: Sequence[Change]) -> tuple[Engine, Loaded]:
        """An engine over the shipped knowledge (in `directory`) with operators' `changes`
        applied; the changes that do not validate are left out (Loaded.rejected says why)."""
        loaded = load_with_changes(directory, self.gazetteer, changes)
        engine = self.with_knowledge(loaded.kb, loaded.vocabulary)
        engine.warm()
        return engine, loaded

    def warm(self, limit: int = 5_000) -> None:
        """Work out up front what answering needs of the first `limit` entries (otherwise done
        the first time each is a candidate: ~3 ms an entry, paid by the first questions)."""
        self.judge.warm(self._entries[:limit])

    # -- the pipeline ---------------------------------------------------------------------
    def decide(
        self,
        text: str,
        region: str | None = None,
        scheme: str | None = None,
        context: Context | None = None,
    ) -> Decision:
        """Decide what to reply. `region`/`scheme` are what the user's profile says."""
        norm = self._fixer.fix(normalise(text))
        kind = self.smalltalk_kind(norm)
        if kind is not None:
            return Decision("smalltalk", smalltalk=kind, context=context)
        reading, followup = self.read(norm, context)
        profile_region = None if reading.regions else region
        base = Decision(
            "not_found",
            reading=reading,
            region=reading.regions[0] if reading.regions else region,
            scheme=reading.scheme or scheme,
            followup=followup,
            context=Context(
                reading.topic,
                reading.regions[0] if reading.regions else None,
                reading.scheme,
                persons=reading.persons,
                asks=reading.asks,
                regions=reading.regions,
            ),
        )
        base.candidates = self.retrieve(reading, profile_region, base.scheme)
        base.verdicts = [self.judge.judge(c.entry, reading, profile_region) for c in base.candidates]
        decision = self.choose_reply(base)
        if decision.kind == "answer" and decision.entry is not None and decision.entry.estimate:
            decision.estimate = ESTIMATORS[decision.entry.estimate](norm) or []
        return decision

    def smalltalk_kind(self, text: str) -> str | None:
        """greeting / thanks / bye when the message is nothing but such phrases."""
        rest = text
        kinds: list[str] = []
        for kind, phrases in self._smalltalk.items():
            for phrase in sorted(phrases, key=len, reverse=True):
                if phrase and phrase in rest:
                    rest = rest.replace(phrase, " ")
                    kinds.append(kind)
        leftover = "".join(ch for ch in rest if not ch.isspace() and ch not in _SMALLTALK_FILLER)
        return kinds[0] if kinds and len(leftover) <= 1 else None

    def read(self, norm: str, context: Context | None) -> tuple[Reading, bool]:
        """The parts of the question. A follow-up (北京呢, 那居民医保呢, 男的能休几天) keeps
        what the previous question said and it does not: the place, the scheme, the person
        and — when it asks no whole question of its own — the topic, read together with it."""
        slots = extract_slots(norm, self.gazetteer)
        new = self.reader.read(norm, slots)
        if context is None or not self._is_followup(norm, slots, new):
            return new, False
        places = slots.places
        if not places and NATIONWIDE not in norm:
            names = tuple(context.regions) or ((context.region,) if context.region else ())
            places = tuple(p for p in map(self.gazetteer.lookup, names) if p is not None)
        scheme = slots.scheme or context.scheme
        persons = new.persons or tuple(context.persons)
        if new.asks and any(not self.reader.is_scheme_subject(s) for s in new.subjects):
            # a whole question of its own (那江西居民医保交多少): only the place, scheme, person carry
            return replace(new, slots=Slots(places, scheme, new.topic_text), persons=persons), True
        previous = context.query
        if slots.scheme and slots.scheme != context.scheme:
            previous = strip_scheme_words(previous)
        merged = f"{previous} {slots.topic_text}".strip()
        reading = self.reader.read(merged, Slots(places, scheme, merged))
        if new.details:  # 那视网膜脱落呢 after 青光眼: the new item replaces the old one
            reading = replace(reading, details=new.details)
        asks = reading.asks or tuple(context.asks)  # 脑动脉瘤栓塞呢 asks what 走医保不 asked
        persons = tuple(dict.fromkeys((*reading.persons, *persons)))
        return replace(reading, persons=persons, asks=asks), True

    @staticmethod
    def _is_followup(text: str, slots: Slots, reading: Reading) -> bool:
        """A short message that leans on the previous one: 那…/…呢, only a place or a scheme,
        no subject of its own (男的能休几天), or only a few characters (基数怎么选)."""
        if len(text) > 16:
            return False
        if _FOLLOWUP_LEAD.search(text) or _FOLLOWUP_TAIL.search(text):
            return True
        if not slots.topic_text or (slots.scheme is not None and len(text) <= 6):
            return True  # only a place or only a scheme ("北京", "居民医保")
        return not reading.subjects or len(text) <= 6

    def retrieve(self, reading: Reading, profile_region: str | None, scheme: str | None) -> list[Candidate]:
        """Ranked candidates: lexically close entries and every entry about the subjects asked."""
        about = [self._subject_docs[s] for s in reading.subjects if s in self._subject_docs]
        tokens = self.topic_tokens.of_slots(reading.slots)
        also = np.concatenate(about) if about else None
        return self.retriever.rank(tokens, self.weights, reading.regions, profile_region, scheme, also)

    def choose_reply(self, base: Decision) -> Decision:
        """Answer with the best entry that answers the parts; otherwise say honestly why not."""
        reading = base.reading
        assert reading is not None
        base.advice = self.vocabulary.advice(reading.subjects or reading.outside)
        if reading.outside and not any(v.answers for v in base.verdicts):
            base.decline, base.out_of_scope = why.OUTSIDE, reading.outside[0]
            base.advice = self.vocabulary.advice(reading.outside)  # where *that* is asked
            return base
        if not reading.subjects:
            return self._decline(base, why.UNKNOWN)
        answering = [(c, v) for c, v in zip(base.candidates, base.verdicts, strict=True) if v.answers]
        open_only = all(self.vocabulary.asks[a].open for a in reading.asks)
        bare = not (reading.persons or reading.years or reading.regions or reading.details)
        if not base.followup and (not reading.asks or (open_only and bare and len(answering) > 1)):
            # 社保卡 / 关于生育津贴的政策: a subject and nothing (or only "the rules") asked of it
            return self._topics(base)
        if not answering:
            return self._decline(base, self._decline_reason(base.verdicts))
        best, verdict = self._prefer_fitting(answering, reading)
        if best.score < self.settings.min_score:
            return self._decline(base, why.LOW)
        if verdict.place == NOTE:
            # no place known and only regional rules answer: several provinces' → ask which
            regional = [c.entry for c, v in answering if v.place == NOTE and not c.entry.is_unnamed_province]
            if len({e.regions for e in regional}) > 1:
                return self._clarify("region", list(dict.fromkeys(regional)), base)
        family = self._groups.get(best.entry.group or "", [])
        if len(family) > 1:
            members = [e for e in family if self.judge.judge(e, reading, None).claims]
            resolved = self._resolve_family(members or [best.entry], base)
            if resolved is not None:
                return resolved
        return self._answer(best.entry, best.score, base, note=verdict.place == NOTE)

    # -- decision steps -------------------------------------------------------------------
    @staticmethod
    def _prefer_fitting(
        answering: list[tuple[Candidate, Verdict]], reading: Reading
    ) -> tuple[Candidate, Verdict]:
        """An answer that fits the user's place before one that is another place's rule said as
        such; among those, the rule of the places the question names (安徽 → 安徽's, not the
        nationwide one; 临汾人在北京 → the 北京/山西 comparison before 北京's alone; 惠州 →
        惠州's before 广东's); then the best ranked."""

        named_regions = reading.regions
        named_cities = {name for p in reading.places for name in (p.short, p.city, p.prefecture) if name}

        def named(entry: Entry) -> tuple[int, float, bool]:
            count = sum(r in named_regions for r in entry.regions)
            city = entry.city is not None and entry.city in named_cities
            return -count, -count / len(entry.regions), not city

        return min(answering, key=lambda cv: (cv[1].place == NOTE, named(cv[0].entry), -cv[0].score))

    @staticmethod
    def _decline_reason(verdicts: list[Verdict]) -> str:
        """The most telling reason among the candidates: closest miss first."""
        if any(v.claims for v in verdicts):
            return why.PLACE
        about = [v for v in verdicts if v.subject]
        if not about:
            return why.SUBJECT
        asked = [v for v in about if v.ask]
        if not asked:
            return why.ASK
        if not any(v.person for v in asked):
            return why.PERSON
        if not any(v.scheme for v in asked):
            return why.SCHEME
        return why.DETAIL

    def _decline(self, base: Decision, reason: str) -> Decision:
        base.decline = reason
        if reason == why.PLACE:
            base.missing_region = base.region
        if reason == why.DETAIL:
            words = [w for v in base.verdicts if v.subject and v.ask for w in v.detail]
            base.details = tuple(dict.fromkeys(words))
        base.near = self._suggestions(base, reason)
        base.score = base.candidates[0].score if base.candidates else 0.0
        return base

    def _suggestions(self, base: Decision, reason: str) -> list[Entry]:
        """What we do have: entries about the subjects asked (those for the user's place
        first), else the lexically nearest entries."""
        reading = base.reading
        assert reading is not None
        limit = self.settings.suggestions
        family = {f for s in reading.subjects for f in self.vocabulary.family(s)}
        pairs = list(zip(base.candidates, base.verdicts, strict=True))
        if reason == why.PLACE:
            return [c.entry for c, v in pairs if v.claims][:limit]
        on_subject = [(c, v) for c, v in pairs if family & set(c.entry.subjects)]
        if on_subject:
            on_subject.sort(key=lambda cv: (cv[1].place not in (FITS, NOTE), not cv[1].subject, -cv[0].score))
            return [c.entry for c, _v in on_subject[:limit]]
        return [c.entry for c in base.candidates[:limit] if c.score >= self.settings.near_threshold]

    def _topics(self, base: Decision) -> Decision:
        """A message that names a subject and asks nothing about it (社保卡, 山西异地就医备案):
        that subject's common questions, the user's place first."""
        reading = base.reading
        assert reading is not None
        base.broad = "、".join(reading.subjects)
        family = {f for s in reading.subjects for f in self.vocabulary.family(s)}
        pairs = [
            (c, v)
            for c, v in zip(base.candidates, base.verdicts, strict=True)
            if family & set(c.entry.subjects)
        ]
        pairs.sort(key=lambda cv: (cv[1].place not in (FITS, NOTE), not cv[1].subject, -cv[0].score))
        base.near = [c.entry for c, _v in pairs[:4]]
        if not base.near:
            return self._decline(base, why.SUBJECT)
        return base

    def _resolve_family(self, family: list[Entry], base: Decision) -> Decision | None:
        """Entries answering the same question for different regions or schemes (a `group`):
        the member for the user's region and scheme, or ask which."""
        region, scheme = base.region, base.scheme
        score = base.candidates[0].score if base.candidates else 0.0
        pick = self._pick(family, region, scheme)
        if pick is not None:
            note = region is None and not pick.is_nationwide
            return self._answer(pick, score, base, note=note)
        regions = {e.region for e in family}
        if region is not None and NATIONWIDE not in regions and not any(e.applies_to(region) for e in family):
            # we know where the user is, and no member covers it: say so, offer the others
            base.decline, base.missing_region = why.PLACE, region
            base.near, base.score = family[:3], score
            return base
        if region is None and len(regions) > 1:
            return self._clarify("region", family, base)
        if scheme is None and {EMPLOYEE, RESIDENT} <= {s for e in family for s in e.schemes}:
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
        base.score = base.candidates[0].score if base.candidates else 0.0
        return base

    def _answer(self, entry: Entry, score: float, base: Decision, note: bool = False) -> Decision:
        base.kind = "answer"
        base.entry = entry
        base.score = score
        base.related = self.related(entry)
        base.decline = None
        if note:
            base.place_note = entry.where
        elif not entry.is_nationwide and base.region and not entry.applies_to(base.region):
            base.region_note = entry.where
        if base.context is not None:
            base.context = replace(base.context, entry_id=entry.id)
        return base

    # -- entry points for buttons ---------------------------------------------------------
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
        return self._answer(entry, 1.0, base, note=region is None and not entry.is_nationwide)

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
            base.decline = why.PLACE
            base.near = waiting[:3]
            return base
        return self._answer(pick, 1.0, base)


def load_engine(
    directory: Path | str | None = None, weights: Weights | None = None, settings: Settings | None = None
) -> Engine:
    """Load data, gazetteer and vocabularies once and build the index."""
    gazetteer = load_gazetteer(directory)
    kb = load_or_raise(directory, gazetteer)
    vocabulary, _problems = load_reading_vocabulary(directory)  # load_or_raise has checked it
    return Engine(
        kb,
        gazetteer,
        load_tokenizer(directory),
        vocabulary,
        load_smalltalk(directory),
        weights,
        settings,
        load_word_list(directory, "generic_words.txt"),
    )
