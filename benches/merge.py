#!/usr/bin/env python3
"""Times `sprawl merge` on the shard reports of an organisation-wide scan.

    python3 benches/merge.py                       # 50 reports, 10,000 findings in all
    python3 benches/merge.py --reports 200 --findings 40000 --rounds 3

Writes N synthetic shard reports (the JSON sprawl scan writes: one repository each, findings
with one to three places, a tenth of the credentials also in another shard so the merge has
work to do, first-seen dates, metadata), then runs the release build's `sprawl merge` on all
of them ROUNDS times, and prints the median wall time, the peak RSS and the merged count.
The issue's bound: 50 reports with 10,000 findings in under 2 s and 300 MB.
"""

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = [
    ("github-pat-classic", "GitHub personal access token (classic)", "token", "github", "ghp_…"),
    ("aws-secret-access-key", "AWS secret access key", "api-key", "aws", "wJal…"),
    ("generic-password", "Password in configuration", "password", "generic", "Zq8…"),
    ("slack-bot-token", "Slack bot token", "token", "slack", "xoxb…"),
    ("stripe-secret-key", "Stripe secret key", "api-key", "stripe", "sk_l…"),
]


def finding(rng, secret_id, repo, shard):
    rule = RULES[secret_id % len(RULES)]
    fp = hashlib.sha256(f"credential-{secret_id}".encode()).hexdigest()
    places = []
    for n in range(rng.randint(1, 3)):
        env = rng.choice(["dev", "staging", "prod", "app"])
        places.append({
            "path": f"svc-{shard}/config/{env}/settings-{secret_id % 97}.env",
            "line": rng.randint(1, 400), "column": 14, "end_line": 1, "end_column": 54,
            "commit": None, "date": None, "source": "file", "key_path": None,
            "decoded": [], "repository": repo,
        })
    day = 1 + secret_id % 28
    return {
        "rule": {"id": rule[0], "name": rule[1], "kind": rule[2], "provider": rule[3]},
        "fingerprint": f"sha256:{fp}", "redacted": rule[4], "key_id": None,
        "identifiers": {}, "statuses": ["orphaned", "long-lived"],
        "reasons": ["no ownership inventory (see sprawl inventory init)"],
        "owner": None, "owner_hints": [], "inventory_match": None, "expires_at": None,
        "first_seen": {"commit": hashlib.sha1(fp.encode()).hexdigest(),
                       "date": f"2025-03-{day:02d}T10:00:00Z", "author": "Ann <ann@example.com>"},
        "last_seen": None, "in_worktree": True, "age_days": 300, "max_age_days": 90,
        "metadata": {}, "validation": None, "locations": places,
    }


def write_reports(folder, reports, findings, seed):
    rng = random.Random(seed)
    per = findings // reports
    paths = []
    next_id = 0
    for shard in range(reports):
        repo = f"https://git.example.com/acme/service-{shard:03d}.git"
        items = []
        for _ in range(per):
            # A tenth are a credential another shard holds too.
            if next_id > 100 and rng.random() < 0.1:
                secret = rng.randrange(next_id)
            else:
                secret = next_id
                next_id += 1
            items.append(finding(rng, secret, repo, shard))
        doc = {
            "schema": "sprawl.report/v1",
            "tool": {"name": "sprawl", "version": "0.1.0"},
            "scan": {"repository": repo, "commit": "0" * 40, "paths": ["."],
                     "started_at": "2026-12-06T00:00:00Z", "sprawl_version": "0.1.0",
                     "rules_digest": "d" * 64},
            "summary": {"files_scanned": 1000, "bytes_scanned": 10_000_000, "files_skipped": 0,
                        "findings": len(items), "duration_ms": 1000, "locations": 0, "rules": 1182},
            "inventory": None,
            "findings": items,
        }
        path = os.path.join(folder, f"shard-{shard:03d}.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        paths.append(path)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", type=int, default=50)
    ap.add_argument("--findings", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sprawl", default=os.path.join(ROOT, "target/release/sprawl"))
    args = ap.parse_args()
    if not os.path.exists(args.sprawl):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_reports(folder, args.reports, args.findings, seed=7)
        size = sum(os.path.getsize(p) for p in paths)
        out = os.path.join(folder, "merged.json")
        walls = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            done = subprocess.run([args.sprawl, "merge", *paths, "-o", out, "--now",
                                   "2026-12-06T00:00:00Z"], capture_output=True)
            walls.append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                sys.exit(f"sprawl merge failed: {done.stderr.decode()}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        merged = json.load(open(out))
        reused = merged["summary"]["statuses"].get("reused", 0)
        print(f"{args.reports} reports, {args.findings:,} findings ({size / 1e6:.1f} MB of JSON)")
        print(f"| reports | findings in | merged | reused | wall (median of {args.rounds}) | peak RSS |")
        print("|---|---|---|---|---|---|")
        print(f"| {args.reports} | {args.findings:,} | {len(merged['findings']):,} | {reused:,} "
              f"| {statistics.median(walls):.2f} s | {peak_mb:.0f} MB |")


if __name__ == "__main__":
    main()
