"""`qgate data ...`: generate, mask, audit, parity.

Exit codes: 0 done (audit/parity: no finding at or above `--fail-on`), 1 findings at or above
`--fail-on`, 2 usage or configuration error (one line, naming the file and key), 3 a database
did not answer. The gate's own judgement of data evidence is the `data` suite's (see
gate.toml); these commands are the tools behind it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.errors import ExitCode, UsageError
from harness.results import SEVERITY_ORDER, Finding


def build_parser() -> argparse.ArgumentParser:
    """The `qgate data` parser."""
    parser = argparse.ArgumentParser(
        prog="qgate data", description="Synthetic Q-commerce data, masked copies, the PII audit "
        "and schema parity. URLs are SQLAlchemy URLs: sqlite:///file.db, "
        "postgresql://user@host/db, mysql://user@host/db (psycopg2 and PyMySQL unless the URL "
        "names another driver).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    gen = commands.add_parser("generate", help="write a synthetic dataset from a spec")
    gen.add_argument("--spec", required=True, metavar="FILE", help="datasets/NAME.yaml")
    where = gen.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", metavar="URL", help="write into this database")
    where.add_argument("--out", metavar="DIR", help="write one file per table here")
    gen.add_argument("--format", choices=("csv", "parquet"), default="csv",
                     help="file format with --out (default csv)")
    gen.add_argument("--replace", action="store_true",
                     help="drop and recreate the spec's schema first")
    gen.add_argument("--allow-production", action="store_true",
                     help="write even into a database that holds production data")
    gen.add_argument("--quiet", action="store_true", help="no progress line")

    mask = commands.add_parser("mask", help="copy a database through masking rules")
    mask.add_argument("--source", required=True, metavar="URL",
                      help="the database to copy (opened read-only)")
    mask.add_argument("--target", metavar="URL", help="the database to write the copy into")
    mask.add_argument("--rules", required=True, metavar="FILE", help="datasets/masking.yaml")
    mode = mask.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="only check that every column is classified")
    mode.add_argument("--init", action="store_true",
                      help="write a suggested rules file (to --rules) for a human to review")
    mask.add_argument("--allow-production", action="store_true",
                      help="write even into a database that holds production data")
    mask.add_argument("--quiet", action="store_true", help="no progress lines")

    audit = commands.add_parser("audit", help="look for PII, orphans and duplicates")
    audit.add_argument("--db", metavar="URL", help="the database to audit (read-only)")
    audit.add_argument("--source", metavar="URL",
                       help="the database it was masked from: no value of it may survive")
    audit.add_argument("--rules", metavar="FILE",
                       help="masking rules: their transformed columns count as personal")
    audit.add_argument("--files", nargs="+", default=[], metavar="PATH",
                       help="also scan these files or folders (artifacts: traces, HARs, logs)")
    audit.add_argument("--logs", nargs="+", default=[], metavar="PATH",
                       help="also scan the target's own logs (any customer identifier counts)")
    audit.add_argument("--fail-on", choices=SEVERITY_ORDER, default="high",
                       help="exit 1 when a finding is at or above this (default high)")
    audit.add_argument("--quiet", action="store_true", help="no progress line")

    parity = commands.add_parser("parity", help="compare two schemas (read-only)")
    parity.add_argument("--reference", required=True, metavar="URL",
                        help="the schema to mirror (e.g. production)")
    parity.add_argument("--candidate", required=True, metavar="URL",
                        help="the schema to check (e.g. staging)")
    parity.add_argument("--fail-on", choices=("info", "low", "medium"), default="medium",
                        help="exit 1 when a difference is at or above this (default medium)")
    parity.add_argument("--ignore", nargs="+", default=["qgate_*"], metavar="PATTERN",
                        help="table name patterns to leave out (default qgate_*)")
    return parser


def data_command(argv: Sequence[str]) -> int:
    """Run `qgate data ARGV`; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if args.command == "generate":
        return _generate(args)
    if args.command == "mask":
        return _mask(args)
    if args.command == "audit":
        return _audit(args)
    if args.command == "parity":
        return _parity(args)
    parser.print_help()
    return int(ExitCode.USAGE)


def _generate(args: argparse.Namespace) -> int:
    from harness.config import project_root
    from harness.data.dburl import display_url, refuse_production
    from harness.data.generate import generate
    from harness.data.spec import load_spec

    spec = load_spec(args.spec)
    if args.db:
        override = refuse_production(args.db, project_root(), what="--db",
                                     allow=args.allow_production)
        if override:
            print(f"WARNING: writing into {override}: --allow-production")
    report = generate(spec, db_url=args.db, out_dir=Path(args.out) if args.out else None,
                      fmt=args.format, replace=args.replace, show_progress=not args.quiet)
    where = display_url(args.db) if args.db else f"{args.out} ({args.format})"
    print(f"generated {spec.name} (seed {spec.seed}) into {where}: {report.total:,} rows in "
          f"{report.seconds:.1f}s ({report.total / max(report.seconds, 1e-9):,.0f} rows/s)")
    for table, count in report.rows.items():
        print(f"  {table:<16} {count:>12,}")
    return int(ExitCode.GO)


def _mask(args: argparse.Namespace) -> int:
    from harness.config import project_root
    from harness.data.dburl import connect_check, display_url, make_engine, same_database
    from harness.data.masking import (
        plan_masking,
        reflect,
        run_mask,
        stop_if_unclassified,
        suggest_rules_file,
    )
    from harness.data.rules import load_rules

    if args.init:
        path = Path(args.rules)
        if path.exists():
            raise UsageError(f"--rules: {path} exists; --init never overwrites reviewed rules",
                             hint="pass a new file name")
        source = make_engine(args.source, read_only=True, label="--source")
        connect_check(source, "--source")
        text = suggest_rules_file(reflect(source), source, display_url(args.source))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        columns = sum(1 for line in text.splitlines() if line.startswith("    "))
        print(f"wrote {path} ({columns} columns suggested, each with its reason); review "
              "every line before the first copy")
        return int(ExitCode.GO)
    rules = load_rules(args.rules)
    if args.check:
        if args.target and same_database(args.source, args.target):
            raise UsageError("--target is the source database", hint="copy into another one")
        source = make_engine(args.source, read_only=True, label="--source")
        connect_check(source, "--source")
        if args.target:
            from harness.data.dburl import same_server_database
            from harness.errors import TargetUnreachable

            target = make_engine(args.target, label="--target")
            try:
                connect_check(target, "--target")
                same = same_server_database(source, target)
            except TargetUnreachable:  # not there yet: the copy will say so
                same = False
            if same:
                raise UsageError("--target is the source database (the server says so)",
                                 hint="copy into another one")
        plan = plan_masking(reflect(source), rules, source)
        stop_if_unclassified(plan, rules, sys.stdout)
        rules.key()  # after the listing: a missing key does not hide the unclassified columns
        columns = sum(len(t.columns) for t in plan.tables)
        skipped = [t.name for t in plan.tables if t.skip]
        print(f"{rules.file}: every column is classified ({len(plan.tables)} tables, "
              f"{columns} columns{', skipped: ' + ', '.join(skipped) if skipped else ''})")
        return int(ExitCode.GO)
    if not args.target:
        raise UsageError("--target is required (unless --check or --init)")
    report = run_mask(args.source, args.target, rules, root=project_root(),
                      allow_production=args.allow_production, show_progress=not args.quiet)
    print(f"masked {display_url(args.source)} -> {display_url(args.target)}: "
          f"{report.total:,} rows in {report.seconds:.1f}s "
          f"({report.total / max(report.seconds, 1e-9):,.0f} rows/s)")
    for table, count in report.rows.items():
        print(f"  {table:<20} {count:>12,}")
    for table in report.skipped:
        print(f"  {table:<20} {'skipped':>12}")
    if report.resumed:
        print(f"  (resumed: {', '.join(report.resumed)} were already copied)")
    return int(ExitCode.GO)


def print_findings(findings: Sequence[Finding], out: object = sys.stdout) -> None:
    """One line per finding, worst first."""
    ordered = sorted(findings, key=lambda f: (-SEVERITY_ORDER.index(f.severity), f.rule_id,
                                              f.location))
    if not ordered:
        return
    width = max(len(f.rule_id) for f in ordered)
    for f in ordered:
        print(f"  {f.severity:<8} {f.rule_id:<{width}}  {f.location}  — {f.title}; {f.evidence}",
              file=out)  # type: ignore[call-overload]


def _at_least(findings: Sequence[Finding], level: str) -> list[Finding]:
    floor = SEVERITY_ORDER.index(level)
    return [f for f in findings if SEVERITY_ORDER.index(f.severity) >= floor]


def _audit(args: argparse.Namespace) -> int:
    from harness.data.audit import audit_database, scan_files
    from harness.data.dburl import display_url

    if not (args.db or args.files or args.logs):
        raise UsageError("nothing to audit", hint="give --db URL, --files PATH or --logs PATH")
    if args.source and not args.db:
        raise UsageError("--source needs --db (the copy to compare it with)")
    findings: list[Finding] = []
    if args.db:
        result = audit_database(args.db, source_url=args.source or "",
                                rules_path=args.rules or "", progress=not args.quiet,
                                labels=("--db", "--source"))
        compared = (f"; {result.source_hashes:,} source values compared as keyed hashes"
                    if args.source else "")
        print(f"audited {display_url(args.db)} (read-only): {len(result.tables)} tables, "
              f"{result.rows:,} rows, {result.values:,} values{compared}; "
              f"{result.foreign_keys} foreign keys, {result.unique_sets} unique sets checked")
        print(f"phone numbers recognised: +CC anywhere, national ones of "
              f"{', '.join(result.locales)} ({result.locales_from}"
              + ("; a rules file's `locale:` decides" if not args.rules else "") + ")")
        findings += result.findings
        if not result.rows:
            print("WARNING: no row was scanned: this proves nothing about the database (the "
                  "data suite calls it INCONCLUSIVE)")
    for flag, paths, context in (("--files", args.files, "artifacts"),
                                 ("--logs", args.logs, "logs")):
        if not paths:
            continue
        files: list[Path] = []
        for given in paths:
            path = Path(given)
            if path.is_dir():
                files += sorted(p for p in path.rglob("*") if p.is_file())
            elif path.is_file():
                files.append(path)
            else:
                raise UsageError(f"{flag}: {given} does not exist")
        scan = scan_files(files, context=context)
        print(f"scanned {scan.files} {context} file(s), {scan.lines:,} lines")
        findings += scan.findings
    print_findings(findings)
    blocking = _at_least(findings, args.fail_on)
    print(f"{len(findings)} finding(s); {len(blocking)} at or above {args.fail_on}")
    return int(ExitCode.NO_GO if blocking else ExitCode.GO)


def _parity(args: argparse.Namespace) -> int:
    from harness.data.dburl import display_url
    from harness.data.parity import schema_parity

    diff = schema_parity(args.reference, args.candidate, ignore=args.ignore)
    print(f"compared {display_url(args.candidate)} with {display_url(args.reference)} "
          f"(read-only): {diff.tables} tables"
          + (f"; migration head {diff.reference_head} / {diff.candidate_head}"
             if diff.reference_head or diff.candidate_head else ""))
    print_findings(diff.findings)
    blocking = _at_least(diff.findings, args.fail_on)
    print(f"{len(diff.findings)} difference(s); {len(blocking)} at or above {args.fail_on}")
    return int(ExitCode.NO_GO if blocking else ExitCode.GO)
