"""`python -m knowledge validate | stats | ask "问题" | eval | selfcheck | export DIR` — tools for
the knowledge base."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

from knowledge.loader import load_knowledge


def cmd_validate(args: argparse.Namespace) -> int:
    kb, problems = load_knowledge(args.dir)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {len(kb)} entries")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    kb, problems = load_knowledge(args.dir)
    if problems:
        print(f"warning: {len(problems)} problem(s); run `python -m knowledge validate`", file=sys.stderr)
    print(f"entries: {len(kb)}")
    alternates = sum(len(e.alternates) for e in kb.entries)
    print(f"alternate phrasings: {alternates}")
    for title, counter in (
        ("topic", Counter(e.topic for e in kb.entries)),
        ("region", Counter(e.where for e in kb.entries)),
        ("scheme", Counter(s for e in kb.entries for s in e.schemes)),
        ("source", Counter(f"{e.source} ({e.date})" for e in kb.entries)),
    ):
        print(f"\nby {title}:")
        for key, count in counter.most_common():
            print(f"  {count:4d}  {key}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from knowledge.engine import load_engine
    from knowledge.present import decision_text

    engine = load_engine(args.dir)
    scheme = {"职工": "职工医保", "居民": "城乡居民医保"}.get(args.scheme or "", args.scheme)
    place = engine.gazetteer.province(args.region) if args.region else None
    region = place.short if place is not None else None
    decision = engine.decide(args.question, region=region, scheme=scheme)
    reading = decision.reading
    if reading is not None:
        labels = [reading.labels.get(a, a) for a in reading.asks]
        print("read:")
        for name, values in (
            ("subject", reading.subjects),
            ("outside topic", reading.outside),
            ("kind of asking", labels),
            ("place", [p.label for p in reading.places]),
            ("scheme", [reading.scheme] if reading.scheme else []),
            ("person", reading.persons),
            ("other words", reading.details),
        ):
            print(f"  {name:15s} {' / '.join(values) or '-'}")
        claiming = [e.id for s in reading.subjects for e in engine.kb.entries if s in e.subjects]
        print(f"  entries about the subject: {', '.join(dict.fromkeys(claiming)) or '-'}")
    why = f" ({decision.decline})" if decision.decline else (" (topics)" if decision.broad else "")
    options = f" ({decision.slot}: {' / '.join(decision.options)})" if decision.slot else ""
    print(f"decision: {decision.kind}{why}{options}")
    print(f"region used: {decision.region or '-'}  scheme used: {decision.scheme or '-'}")
    print("candidates (score, entry, does it answer? why not):")
    for cand, verdict in list(zip(decision.candidates, decision.verdicts, strict=False))[: args.top]:
        says = "answers" if verdict.answers else "no: " + ", ".join(verdict.why_not())
        print(f"  {cand.score:6.3f}  {cand.entry.id:42s} {says}")
    print()
    print(decision_text(decision))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from knowledge.engine import load_engine
    from knowledge.evaluate import DEFAULT_FILE, describe, format_gaps, format_reports, run_eval

    engine = load_engine(args.dir)
    path = Path(args.file) if args.file else DEFAULT_FILE
    ours, baselines = run_eval(engine, path)
    print(f"cases: {path}")
    print(format_reports([ours, *baselines]))
    if args.wrong and ours.wrong:
        print(f"\nwrong answers ({len(ours.wrong)}):")
        for case, out in ours.wrong:
            print(describe(case, out))
    if args.gaps:
        print("\n" + format_gaps(engine, path))
    if args.misses and ours.misses:
        print(f"\nengine misses ({len(ours.misses)}):")
        for case, out in ours.misses:
            print(describe(case, out))
    return 0


def cmd_selfcheck(args: argparse.Namespace) -> int:
    from knowledge.engine import load_engine
    from knowledge.selfcheck import OWN, check, summary

    results = check(load_engine(args.dir))
    print(summary(results))
    if args.list:
        print()
        for r in results:
            if r.outcome != OWN:
                print(f"{r.entry_id}\t{r.text}\t{r.outcome}{':' + r.detail if r.detail else ''}")
    return 0


DEFAULT_CHANGES = Path("var/knowledge-changes.jsonl")  # the bot's CHANGES_FILE default


def cmd_export(args: argparse.Namespace) -> int:
    from knowledge.export import ExportError, export
    from knowledge.loader import KnowledgeError
    from knowledge.overlay import read_changes
    from knowledge.paths import data_dir

    changes_file = Path(args.changes or os.environ.get("CHANGES_FILE") or DEFAULT_CHANGES)
    if args.changes and not changes_file.is_file():
        print(f"{changes_file}: no such change log", file=sys.stderr)
        return 1
    changes = read_changes(changes_file) if changes_file.is_file() else []
    source = data_dir(args.dir)
    try:
        report = export(args.dir, args.out, changes)
    except ExportError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    except KnowledgeError as exc:
        print(f"export: the knowledge in {source} has problems:\n{exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    print(f"change log: {changes_file}: {len(changes)} change(s)" if changes else "no changes to write")
    print(f"wrote {source} with {len(report.written)} change(s) to {report.out_dir}")
    print(
        f"  alternates: {report.alternates}  entries: {report.entries}  sources: {report.sources}"
        f"  words for neighbouring topics: {report.terms}"
    )
    for name in report.files:
        print(f"  changed: {name}")
    if report.skipped:
        print(f"skipped {len(report.skipped)} change(s) that do not validate:")
        for change_id, problems in report.skipped.items():
            for problem in problems:
                print(f"  #{change_id}: {problem.message}")
    if report.problems:  # a bug of the export: the written files must validate
        for problem in report.problems:
            print(problem, file=sys.stderr)
        print(f"export: the written files have {len(report.problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"review: diff -ru {source} {report.out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge")
    parser.add_argument("--dir", help="knowledge directory (default: $KNOWLEDGE_DIR or the shipped data)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("validate", help="check every data file; exit 1 with file:line messages on errors")
    sub.add_parser("stats", help="counts by topic, region, scheme and source")
    ask = sub.add_parser("ask", help="answer one question, showing the decision and score parts")
    ask.add_argument("question")
    ask.add_argument("--region", help="the user's saved region (province or city)")
    ask.add_argument("--scheme", help="the user's saved scheme: 职工 | 居民")
    ask.add_argument("--top", type=int, default=6, help="how many candidates to show")
    ev = sub.add_parser("eval", help="accuracy on labelled questions, with two baselines")
    ev.add_argument("file", nargs="?", help="case file (default: knowledge/eval/dev.yaml)")
    ev.add_argument(
        "--misses", action="store_true", help="list the cases the engine got otherwise than labelled"
    )
    ev.add_argument("--wrong", action="store_true", help="list the engine's wrong answers")
    ev.add_argument(
        "--gaps", action="store_true", help="count what the questions the engine declined ask about"
    )
    sc = sub.add_parser("selfcheck", help="does the bot answer each entry's own phrasings with that entry?")
    sc.add_argument("--list", action="store_true", help="list the phrasings it does not")
    ex = sub.add_parser(
        "export", help="write the knowledge with the operators' changes as data files, for review"
    )
    ex.add_argument("out", metavar="DIR", help="output directory (new or empty)")
    ex.add_argument(
        "--changes",
        metavar="FILE",
        help="change log, one JSON change a line (default: $CHANGES_FILE or var/knowledge-changes.jsonl)",
    )
    args = parser.parse_args(argv)
    handlers = {
        "validate": cmd_validate,
        "stats": cmd_stats,
        "ask": cmd_ask,
        "eval": cmd_eval,
        "selfcheck": cmd_selfcheck,
        "export": cmd_export,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
