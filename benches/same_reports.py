#!/usr/bin/env python3
"""Checks that two sprawl binaries write the same reports: JSON, JSONL, SARIF and text of the
same scans, with the clock pinned (--now) and the run's duration and cache hits masked. For
refactors that must not change what sprawl says:

    python3 benches/same_reports.py OLD_BINARY NEW_BINARY
    python3 benches/same_reports.py OLD NEW --corpus /tmp/sprawl-corpus --history-corpus /tmp/sprawl-history \\
        --repo ../repos/requests

Scans: every fixture folder (and all of fixtures/), this checkout's own history, `explain` of
the fixtures, and, when given, the benchmark corpora and real repositories (history and a
range). Prints one line per scan and format, and exits 1 if any differs (showing the first
differing line).
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T00:00:00Z"


def normalise(text):
    # The only fields that depend on the run rather than the input: its duration, and how
    # many blobs the history cache already knew (the binaries keep separate caches, so one
    # may be warm and the other cold).
    text = re.sub(r'"(duration_ms|blobs_from_cache)": \d+', r'"\1": 0', text)
    text = re.sub(r'"(duration_ms|blobs_from_cache)":\d+', r'"\1":0', text)
    text = re.sub(r"scanned in \d+\.\d+ s", "scanned in 0.00 s", text)
    return text


def run(binary, args, cwd):
    out = subprocess.run([binary] + args, cwd=cwd, capture_output=True)
    stdout = normalise(out.stdout.decode("utf-8", "replace"))
    if "jsonl" in args:
        # Streamed as workers find them: the order is the threads', not the report's.
        stdout = "\n".join(sorted(stdout.splitlines()))
    return out.returncode, stdout, out.stderr.decode("utf-8", "replace")


def scans(args):
    fixtures = ROOT / "fixtures"
    found = []
    for sub in ["positives", "negatives", "lifecycle", "configs", "configs-negative", ""]:
        folder = str(fixtures / sub) if sub else str(fixtures)
        for fmt in ["json", "jsonl", "sarif", "text"]:
            found.append((f"fixtures/{sub} {fmt}", ["scan", folder, "--format", fmt], ROOT))
    found.append(("fixtures explain", ["explain", str(fixtures)], ROOT))
    for fmt in ["json", "text"]:
        found.append((f"own history {fmt}", ["scan", "--history", ".", "--no-worktree", "--format", fmt], ROOT))
    if args.corpus:
        for fmt in ["json", "sarif", "text"]:
            found.append((f"corpus {fmt}", ["scan", str(args.corpus), "--format", fmt], ROOT))
    if args.history_corpus:
        for fmt in ["json", "text"]:
            found.append((f"history corpus {fmt}", ["scan", "--history", str(args.history_corpus), "--format", fmt], ROOT))
    for repo in args.repo:
        name = Path(repo).name
        for fmt in ["json", "text"]:
            found.append((f"{name} history {fmt}", ["scan", "--history", ".", "--format", fmt], Path(repo)))
        found.append((f"{name} range json", ["scan", ".", "--range", "HEAD~200..HEAD", "--format", "json"], Path(repo)))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--corpus", type=Path, help="a files corpus (make_corpus.py files)")
    ap.add_argument("--history-corpus", type=Path, help="a history corpus's repository (make_corpus.py history)")
    ap.add_argument("--repo", action="append", default=[], help="a real repository (repeatable)")
    args = ap.parse_args()
    args.old, args.new = str(Path(args.old).resolve()), str(Path(args.new).resolve())
    differ = 0
    for name, scan, cwd in scans(args):
        scan = scan + ["--quiet", "--now", NOW] if scan[0] == "scan" else scan
        a = run(args.old, scan, cwd)
        b = run(args.new, scan, cwd)
        same = a == b
        print(f"{'same' if same else 'DIFF'}  {name}  (exit {a[0]}, {len(a[1])} bytes)")
        if not same:
            differ += 1
            if a[0] != b[0]:
                print(f"      exit {a[0]} -> {b[0]}")
            for label, x, y in [("stdout", a[1], b[1]), ("stderr", a[2], b[2])]:
                for i, (l1, l2) in enumerate(zip(x.splitlines() + [""], y.splitlines() + [""])):
                    if l1 != l2:
                        print(f"      {label} line {i + 1}:\n        - {l1[:200]}\n        + {l2[:200]}")
                        break
    print(f"{differ} of {len(scans(args))} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
