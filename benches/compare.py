#!/usr/bin/env python3
"""Times whole runs of sprawl against peer scanners on the same corpus, in the same run.

    python3 benches/compare.py                      # large files corpus, kingfisher + betterleaks
    python3 benches/compare.py --peers kingfisher,betterleaks,gitleaks --rounds 3
    python3 benches/compare.py --scale small --threads 1,2
    python3 benches/compare.py --history --scale medium --peers kingfisher,gitleaks
    python3 benches/compare.py --staged                     # pre-commit: one staged file, 30 runs
    python3 benches/compare.py --other-sprawl /tmp/old/sprawl  # A/B: an older build in the same rounds
    python3 benches/compare.py --real ../repos/requests.git --real ../repos/express.git  # real histories

Builds the corpus with ../shared/bench/make_corpus.py if it is missing, installs nothing
(run ../shared/peers/install.sh first), runs every tool in turn for each round (alternating,
so drift on a shared machine hits all tools alike), and prints per tool: median wall time,
MB/s, peak RSS, findings, and its wall time divided by sprawl's (2.00 = sprawl is twice as fast). Then it checks sprawl's findings
against planted.json: how many planted credentials it found, and every finding that is not
planted (redacted), so each can be judged. Machines are noisy: compare ratios, not seconds.
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PEERS = Path(os.environ.get("SPRAWL_PEERS", Path.home() / ".cache" / "sprawl-peers" / "bin"))


def peer_commands(tree, out, history=False):
    """Scan commands for each peer, no network validation, JSON out."""
    if history:
        return {
            "kingfisher": [str(PEERS / "kingfisher"), "scan", tree, "--no-validate", "--git-history", "full",
                           "--no-update-check", "-f", "json", "-o", out],
            "gitleaks": [str(PEERS / "gitleaks"), "git", tree, "-f", "json", "-r", out, "--no-banner", "-l", "error"],
        }
    return {
        "kingfisher": [str(PEERS / "kingfisher"), "scan", tree, "--no-validate", "--git-history", "none",
                       "--no-update-check", "-f", "json", "-o", out],
        "betterleaks": [str(PEERS / "betterleaks"), tree, "-o", out, "--no-banner", "-l", "error"],
        "gitleaks": [str(PEERS / "gitleaks"), "dir", tree, "-f", "json", "-r", out, "--no-banner", "-l", "error"],
    }


def count_findings(tool, out):
    try:
        text = Path(out).read_text(errors="replace").strip()
    except OSError:
        return None
    if not text:
        return 0
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = json.loads(text.splitlines()[-1])  # kingfisher may stream; the last line is the report
    if isinstance(doc, list):
        return len(doc)
    return len(doc.get("findings", []))


def run_once(cmd):
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, code, stderr


def run_rounds(tools, rounds):
    """Runs every tool once per round, alternating; wall times per tool, and peak RSS (MB)."""
    walls = {t: [] for t in tools}
    rss = {t: 0.0 for t in tools}
    for r in range(rounds):
        for tool, (cmd, out) in tools.items():
            if out.exists():
                out.unlink()
            wall, peak, code, err = run_once(cmd)
            if code not in (0, 1, 200, 205):
                print(f"{tool} exited {code}: {err.strip()[:300]}", file=sys.stderr)
            walls[tool].append(wall)
            rss[tool] = max(rss[tool], peak)
            print(f"  round {r + 1}: {tool:14} {wall:7.2f} s", file=sys.stderr)
    return walls, rss


def build_sprawl():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return str(ROOT / "target" / "release" / "sprawl")


def ensure_corpus(corpus, scale, history=False):
    kind = "history" if history else "files"
    if not (corpus / "planted.json").exists():
        subprocess.run([sys.executable, str(SHARED / "bench" / "make_corpus.py"), kind, str(corpus),
                        "--scale", scale], check=True)
    if history:
        repo = corpus / "repo"
        # Unique blob content: what a history scan has to read.
        ids = subprocess.run(["git", "-C", str(repo), "rev-list", "--all", "--objects"],
                             capture_output=True, text=True, check=True).stdout.split("\n")
        batch = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-check=%(objecttype) %(objectsize)"],
                               input="\n".join(line.split(" ")[0] for line in ids if line), capture_output=True,
                               text=True, check=True).stdout.split("\n")
        size = sum(int(b.split()[1]) for b in batch if b.startswith("blob "))
        return repo, size
    tree = corpus / "tree"
    size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
    return tree, size


def judge_first_seen(report_path, corpus):
    """Planted credentials found with the commit that introduced them (history corpus)."""
    report = json.loads(Path(report_path).read_text())
    planted = json.loads((corpus / "planted.json").read_text())
    commits = subprocess.run(["git", "-C", str(corpus / "repo"), "rev-list", "--reverse", "--topo-order", "--all"],
                             capture_output=True, text=True, check=True).stdout.split()
    by_fp = {f["fingerprint"][len("sha256:"):]: f for f in report["findings"]}
    by_key = {f["key_id"]: f for f in report["findings"] if f.get("key_id")}
    right, wrong = 0, []
    for p in planted:
        f = by_fp.get(p["sha256"]) or by_key.get(p["secret"])
        if f and (f.get("first_seen") or {}).get("commit") == commits[p["commit_index"]]:
            right += 1
        else:
            wrong.append(p)
    return right, len(planted), wrong


def judge_sprawl(report_path, planted_path):
    report = json.loads(Path(report_path).read_text())
    planted = json.loads(Path(planted_path).read_text())
    findings = report["findings"]
    by_fp = {f["fingerprint"][len("sha256:"):]: f for f in findings}
    key_ids = {f.get("key_id") for f in findings if f.get("key_id")}
    at = {(l["path"], l["line"]) for f in findings for l in f["locations"]}
    found, missed = 0, []
    matched = set()
    for p in planted:
        fp = p["sha256"]
        hit = fp in by_fp or p["secret"] in key_ids or (p["path"], p["line"]) in at
        if hit:
            found += 1
        else:
            missed.append(p)
        if fp in by_fp:
            matched.add(fp)
        # The AWS pair is one credential: its key id is the planted secret, its secret the next line.
        for f in findings:
            if f.get("key_id") == p["secret"] or any(
                l["path"] == p["path"] and p["line"] <= l["line"] <= p["line"] + 1 for l in f["locations"]
            ):
                matched.add(f["fingerprint"][len("sha256:"):])
    extra = [f for f in findings if f["fingerprint"][len("sha256:"):] not in matched]
    return found, len(planted), missed, extra, len(findings)


def staged_bench(sprawl, corpus, runs):
    """`sprawl scan --staged` end to end on a one-file change in the history corpus."""
    work = Path(tempfile.mkdtemp(prefix="sprawl-staged-"))
    repo = work / "repo"
    subprocess.run(["git", "clone", "-q", str(corpus / "repo"), str(repo)], check=True)
    target = sorted(p for p in repo.rglob("*.js") if ".git" not in p.parts)[0]
    with open(target, "a") as f:
        f.write('\nconst label = "changed for the staged benchmark";\n')
    subprocess.run(["git", "-C", str(repo), "add", str(target)], check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sprawl, "scan", "--staged", "--quiet"], cwd=repo, stdout=subprocess.DEVNULL, check=False)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"sprawl scan --staged, one staged file ({target.relative_to(repo)}), {runs} runs: "
          f"min {times[0]:.1f} ms, median {statistics.median(times):.1f} ms, max {times[-1]:.1f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=["small", "medium", "large"],
                    help="corpus size (default: large for files, medium for --history, as the issues specify)")
    ap.add_argument("--corpus", type=Path, help="corpus folder (default /tmp/sprawl-corpus, or -SCALE if not large)")
    ap.add_argument("--peers", default="kingfisher,betterleaks", help="comma-separated: kingfisher,betterleaks,gitleaks")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="", help="also time sprawl with these thread counts, e.g. 1,2")
    ap.add_argument("--other-sprawl", type=Path,
                    help="also time this sprawl binary (an older build: A/B of a change, in the same rounds)")
    ap.add_argument("--staged", action="store_true", help="time `scan --staged` on a one-file change (history corpus)")
    ap.add_argument("--history", action="store_true",
                    help="git history corpus (make_corpus.py history): sprawl scan --history vs peers' history scans")
    ap.add_argument("--real", type=Path, action="append", default=[],
                    help="a real repository (a bare or mirror clone): its full history, sprawl --history vs the "
                         "peers' history scans (repeatable; no planted credentials to judge)")
    args = ap.parse_args()

    if args.real:
        sprawl = build_sprawl()
        for repo in args.real:
            compare_real(sprawl, repo, args)
        return
    args.scale = args.scale or ("medium" if args.history or args.staged else "large")
    if args.staged:
        corpus = args.corpus or Path("/tmp/sprawl-history" + ("" if args.scale == "medium" else f"-{args.scale}"))
        ensure_corpus(corpus, args.scale, history=True)
        staged_bench(build_sprawl(), corpus, max(args.rounds, 30))
        return
    if args.history:
        corpus = args.corpus or Path("/tmp/sprawl-history" + ("" if args.scale == "medium" else f"-{args.scale}"))
    else:
        corpus = args.corpus or Path("/tmp/sprawl-corpus" + ("" if args.scale == "large" else f"-{args.scale}"))
    tree, size = ensure_corpus(corpus, args.scale, args.history)
    sprawl = build_sprawl()
    mb = size / 1e6
    work = Path(tempfile.mkdtemp(prefix="sprawl-compare-"))

    # tool -> (command, the report file it writes)
    # Cold scans: the history cache would make every round after the first a re-scan.
    mode = ["--history", "--no-cache"] if args.history else []
    tools = {"sprawl": ([sprawl, "scan", *mode, str(tree), "--quiet", "--format", "json", "-o",
                         str(work / "sprawl.json")], work / "sprawl.json")}
    for n in [t for t in args.threads.split(",") if t]:
        out = work / f"sprawl-j{n}.json"
        tools[f"sprawl -j{n}"] = ([sprawl, "scan", *mode, str(tree), "--quiet", "--format", "json", "-j", n, "-o",
                                   str(out)], out)
    if args.other_sprawl:
        out = work / "sprawl-other.json"
        tools["sprawl (other)"] = ([str(args.other_sprawl), "scan", *mode, str(tree), "--quiet", "--format",
                                    "json", "-o", str(out)], out)
    commands = peer_commands(str(tree), "{out}", args.history)
    for peer in [p for p in args.peers.split(",") if p]:
        if not (PEERS / peer).exists():
            print(f"skipping {peer}: not installed in {PEERS} (run ../shared/peers/install.sh)", file=sys.stderr)
            continue
        out = work / f"{peer}.json"
        tools[peer] = ([c.replace("{out}", str(out)) for c in commands[peer]], out)

    what = "unique blob content" if args.history else "files"
    print(f"corpus {tree}: {mb:.0f} MB of {what}; {args.rounds} rounds, tools alternating", file=sys.stderr)
    walls, rss = run_rounds(tools, args.rounds)

    base = statistics.median(walls["sprawl"])
    print(f"\n{'tool':14} {'wall (median)':>14} {'MB/s':>8} {'peak RSS':>10} {'findings':>9} {'wall / sprawl':>14}")
    for tool, (_, out) in tools.items():
        med = statistics.median(walls[tool])
        n = count_findings(tool, out)
        ratio = f"{med / base:.2f}"
        print(f"{tool:14} {med:12.2f} s {mb / med:8.0f} {rss[tool]:8.0f} MB {n if n is not None else '?':>9} {ratio:>14}")

    if args.history:
        right, total, wrong = judge_first_seen(work / "sprawl.json", corpus)
        print(f"\nsprawl: {right}/{total} planted credentials found with the commit that introduced them")
        for p in wrong:
            print(f"  WRONG OR MISSED {p['type']:18} {p['path']}:{p['line']} (commit {p['commit_index']})")
        return
    found, total, missed, extra, count = judge_sprawl(work / "sprawl.json", corpus / "planted.json")
    print(f"\nsprawl: {found}/{total} planted credentials found; {len(extra)} of {count} findings not planted "
          f"({100 * len(extra) / max(count, 1):.2f} %)")
    for p in missed:
        print(f"  MISSED {p['type']:18} {p['path']}:{p['line']}")
    for f in extra:
        loc = f["locations"][0]
        more = len(f["locations"]) - 1
        suffix = f" (+{more} more)" if more else ""
        print(f"  NOT PLANTED {f['rule']['id']:28} {f['redacted']:8} {loc['path']}:{loc['line']}{suffix}")

def compare_real(sprawl, repo, args):
    """The same alternating comparison on a real repository's whole history: a cold scan
    (--no-cache), then a warm re-scan with the cache a first cold run left."""
    work = Path(tempfile.mkdtemp(prefix="sprawl-real-"))
    commits = subprocess.run(["git", "--git-dir", str(repo), "rev-list", "--all", "--count"],
                             capture_output=True, text=True).stdout.strip()
    cache = work / "cache"
    os.environ["SPRAWL_CACHE_DIR"] = str(cache)
    tools = {"sprawl": ([sprawl, "scan", "--history", str(repo), "--no-cache", "--quiet", "--format", "json",
                         "-o", str(work / "sprawl.json")], work / "sprawl.json")}
    for n in [t for t in args.threads.split(",") if t]:
        out = work / f"sprawl-j{n}.json"
        tools[f"sprawl -j{n}"] = ([sprawl, "scan", "--history", str(repo), "--no-cache", "--quiet", "--format",
                                   "json", "-j", n, "-o", str(out)], out)
    # The warm re-scan: the cache is filled once before the rounds.
    subprocess.run([sprawl, "scan", "--history", str(repo), "--quiet", "--format", "json", "-o", os.devnull],
                   check=False)
    tools["sprawl (warm)"] = ([sprawl, "scan", "--history", str(repo), "--quiet", "--format", "json", "-o",
                               str(work / "sprawl-warm.json")], work / "sprawl-warm.json")
    if args.other_sprawl:
        out = work / "sprawl-other.json"
        tools["sprawl (other)"] = ([str(args.other_sprawl), "scan", "--history", str(repo), "--quiet", "--format",
                                    "json", "-o", str(out)], out)
    commands = peer_commands(str(repo), "{out}", history=True)
    for peer in [p for p in args.peers.split(",") if p and p in commands]:
        if not (PEERS / peer).exists():
            print(f"skipping {peer}: not installed in {PEERS}", file=sys.stderr)
            continue
        out = work / f"{peer}.json"
        tools[peer] = ([c.replace("{out}", str(out)) for c in commands[peer]], out)
    print(f"repository {repo}: {commits} commits; {args.rounds} rounds, tools alternating", file=sys.stderr)
    walls, rss = run_rounds(tools, args.rounds)
    base = statistics.median(walls["sprawl"])
    print(f"\n{repo.name} ({commits} commits)")
    print(f"{'tool':14} {'wall (median)':>14} {'peak RSS':>10} {'findings':>9} {'wall / sprawl':>14}")
    for tool, (_, out) in tools.items():
        med = statistics.median(walls[tool])
        n = count_findings(tool, out)
        print(f"{tool:14} {med:12.2f} s {rss[tool]:8.0f} MB {n if n is not None else '?':>9} {med / base:14.2f}")
    # The warm re-scan must say exactly what the cold scan says of every finding.
    def said(path):
        doc = json.loads(Path(path).read_text())
        return [(f["fingerprint"], f["first_seen"], f["last_seen"], f["in_worktree"], f["locations"])
                for f in doc["findings"]]
    same = said(work / "sprawl.json") == said(work / "sprawl-warm.json")
    print(f"warm re-scan: {'the same findings and provenance' if same else 'DIFFERENT FINDINGS'}; "
          f"warm / cold = {statistics.median(walls['sprawl (warm)']) / base:.2f}")


if __name__ == "__main__":
    main()
