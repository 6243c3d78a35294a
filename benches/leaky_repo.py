#!/usr/bin/env python3
"""Scores sprawl on Plazmaz/leaky-repo with the repository's own answer key.

    python3 benches/leaky_repo.py PATH_TO_LEAKY_REPO [--sprawl target/release/sprawl] [--list] [--rules FILE]

leaky-repo's `.leaky-meta/secrets.csv` says, for each file, how many lines are a risk (a
credential) and how many only informative. This scans the work tree (without the answer-key
folder `.leaky-meta/`, which is about the test, not part of it) and prints:

- risk files covered: files with risk lines where sprawl reports at least one finding;
- risk lines covered: per file, min(distinct lines sprawl reports, the file's risk lines);
- files flagged that hold no risk line (false alarms at the file level), each named.

With --list it also prints every finding (rule, path, line; never the secret).
"""
import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def answer_key(repo):
    rows = {}
    with open(repo / ".leaky-meta" / "secrets.csv") as f:
        lines = [l for l in f if l.strip() and not l.startswith("#")]
    for name, risk, info in csv.reader(lines):
        rows[name.strip()] = (int(risk), int(info))
    return rows


def scan(sprawl, repo, rules):
    extra = [arg for path in rules for arg in ("--rules", str(Path(path).resolve()))]
    out = subprocess.run(
        [sprawl, "scan", ".", "--format", "json", "--quiet", "--no-inventory", "--no-config",
         "--fail-on", "none", *extra],
        cwd=repo, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"sprawl failed ({out.returncode}): {out.stderr.strip()}")
    report = json.loads(out.stdout)
    lines = {}
    for finding in report["findings"]:
        for loc in finding["locations"]:
            path = loc["path"].split("!/")[0]
            if path.startswith(".leaky-meta/"):
                continue
            lines.setdefault(path, set()).add(loc["line"])
    return report, lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("--sprawl", default=str(ROOT / "target" / "release" / "sprawl"))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--rules", action="append", default=[],
                    help="an extra rule file to load (repeatable), for trying rules before they are built in")
    args = ap.parse_args()
    key = answer_key(args.repo)
    report, flagged = scan(args.sprawl, args.repo, args.rules)

    risk_files = {name for name, (risk, _) in key.items() if risk > 0}
    covered = sorted(name for name in risk_files if name in flagged)
    missed = sorted(risk_files - set(covered))
    risk_lines = sum(key[name][0] for name in risk_files)
    lines_covered = sum(min(len(flagged[name]), key[name][0]) for name in covered)
    false_files = sorted(name for name in flagged if key.get(name, (0, 0))[0] == 0)

    print(f"risk files covered: {len(covered)} of {len(risk_files)}")
    print(f"risk lines covered: {lines_covered} of {risk_lines}")
    print(f"files flagged that hold no risk line: {len(false_files)}")
    for name in false_files:
        print(f"  FALSE ALARM  {name}  lines {sorted(flagged[name])}")
    for name in missed:
        print(f"  MISSED       {name}  ({key[name][0]} risk lines)")
    if args.list:
        for finding in report["findings"]:
            for loc in finding["locations"]:
                print(f"  {finding['rule']['id']:36} {loc['path']}:{loc['line']}")


if __name__ == "__main__":
    main()
