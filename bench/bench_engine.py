"""Benchmark the retrieval engine: index build time, per-query latency, index memory.

    .venv/bin/python bench/bench_engine.py                # shipped knowledge base
    .venv/bin/python bench/bench_engine.py --synthetic 100000

The synthetic knowledge base recombines the shipped entries' words, regions, schemes and
`answers` into N entries (each with a question and 3 alternates), so the vocabulary, term
frequencies and subjects look like real data (a subject then has thousands of entries, which
the retrieval caps). Queries are the dev and real questions. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import platform
import random
import statistics
import time
from pathlib import Path

from knowledge.datafiles import load_smalltalk, load_word_list
from knowledge.engine import Engine
from knowledge.evaluate import DEFAULT_FILE, EVAL_DIR, load_cases
from knowledge.gazetteer import load_gazetteer
from knowledge.loader import load_or_raise
from knowledge.reading import load_reading_vocabulary
from knowledge.schema import KnowledgeBase
from knowledge.tokenize import load_tokenizer


def synthetic_kb(base: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    rng = random.Random(seed)
    tokenizer = load_tokenizer()
    words = sorted({w for e in base.entries for t in (e.question, *e.alternates) for w in tokenizer.words(t)})
    regions = sorted({e.region for e in base.entries})
    template = base.entries[0]
    kb = KnowledgeBase()
    for i in range(size):

        def phrase() -> str:
            return "".join(rng.sample(words, rng.randint(3, 7)))

        region = rng.choice(regions)
        like = rng.choice(base.entries)  # what it answers, borrowed from a real entry
        kb.add(
            dataclasses.replace(
                template,
                answers=like.answers,
                requires=like.requires,
                persons=like.persons,
                id=f"synthetic.e{i}",
                question=phrase(),
                alternates=(phrase(), phrase(), phrase()),
                answer=phrase() * 3,
                regions=(region,),
                city=None,
                related=(),
                group=None,
                conflicts=(),
            )
        )
    return kb


def rss_mib() -> float:
    """Resident memory of this process (Linux /proc)."""
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic", type=int, default=0, help="build a synthetic KB of N entries")
    parser.add_argument("--repeat", type=int, default=5, help="query passes (median of pass medians)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    tokenizer = load_tokenizer()
    tokenizer.words("预热")  # jieba loads its dictionary lazily, from its cache
    jieba_s = time.perf_counter() - t0
    gazetteer = load_gazetteer()
    base = load_or_raise(None, gazetteer)
    kb = synthetic_kb(base, args.synthetic) if args.synthetic else base
    entries = len(kb)

    gc.collect()
    rss_before = rss_mib()
    t0 = time.perf_counter()
    vocabulary, _problems = load_reading_vocabulary()
    engine = Engine(
        kb,
        gazetteer,
        tokenizer,
        vocabulary,
        load_smalltalk(),
        generic_words=load_word_list(None, "generic_words.txt"),
    )
    build_s = time.perf_counter() - t0
    gc.collect()
    index_mb = rss_mib() - rss_before

    queries = [c.q for path in (Path(DEFAULT_FILE), EVAL_DIR / "real.yaml") for c in load_cases(path)]
    for q in queries[:20]:
        engine.decide(q)  # warm caches
    p50s, p99s = [], []
    for _ in range(args.repeat):
        times = []
        for q in queries:
            t = time.perf_counter()
            engine.decide(q + " ")  # bypass the normalisation cache as a new text would
            times.append((time.perf_counter() - t) * 1000)
        p50s.append(statistics.median(times))
        p99s.append(percentile(times, 0.99))
    cpu = platform.processor() or platform.machine()
    print(f"machine: {platform.node()} {cpu}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"entries: {entries}, phrasings: {sum(1 + len(e.alternates) for e in kb.entries)}")
    print(f"jieba + vocabulary load: {jieba_s:.2f} s")
    print(f"index build: {build_s:.3f} s; index memory (RSS growth during build): {index_mb:.1f} MiB")
    print(f"queries: {len(queries)} x {args.repeat} passes")
    print(f"latency p50: {statistics.median(p50s):.2f} ms (passes: {', '.join(f'{x:.2f}' for x in p50s)})")
    print(f"latency p99: {statistics.median(p99s):.2f} ms (passes: {', '.join(f'{x:.2f}' for x in p99s)})")


if __name__ == "__main__":
    main()
