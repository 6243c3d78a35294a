#!/usr/bin/env python3
"""Peak memory of whole sprawl runs as the corpus grows: is it bounded, and sub-linear?

    python3 benches/memory.py                    # files and history corpora, small/medium/large
    python3 benches/memory.py --threads 2,16     # memory also grows with worker threads
    python3 benches/memory.py --big-file 2048    # plus one 2 GiB file (chunked) in its own tree

Uses the corpora of benches/compare.py (built with ../shared/bench/make_corpus.py when
missing) and prints, per run, the peak RSS, the wall time, and each corpus's size and peak
RSS relative to the small one: sub-linear growth means the RSS ratio stays well below the
size ratio. Wall times are from a shared machine and only indicative; compare.py is the
benchmark for speed.
"""
import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import build_sprawl, ensure_corpus, run_once  # noqa: E402

SCALES = ["small", "medium", "large"]


def corpus_path(history, scale):
    if history:
        return Path("/tmp/sprawl-history" + ("" if scale == "medium" else f"-{scale}"))
    return Path("/tmp/sprawl-corpus" + ("" if scale == "large" else f"-{scale}"))


def measure(cmd, rounds):
    runs = [run_once(cmd) for _ in range(rounds)]
    for _, _, code, stderr in runs:
        if code not in (0, 1):
            sys.exit(f"sprawl failed ({code}): {stderr.strip()}")
    return max(r[1] for r in runs), statistics.median(r[0] for r in runs)


def big_file_tree(folder, mib):
    """One text file of `mib` MiB of code-like lines, with nothing secret in it."""
    tree = Path(folder) / "big"
    tree.mkdir()
    line = b"    const value = compute(input, options); // an ordinary line of code\n"
    block = line * ((1 << 20) // len(line) + 1)
    with open(tree / "huge.log", "wb") as out:
        for _ in range(mib):
            out.write(block[: 1 << 20])
    return tree


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="2", help="comma-separated worker thread counts (default 2)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--big-file", type=int, default=0, metavar="MIB", help="also scan one file this large")
    ap.add_argument("--only", choices=["files", "history"], help="one kind of corpus")
    args = ap.parse_args()
    sprawl = build_sprawl()
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    for history in [False, True]:
        if args.only and args.only != ("history" if history else "files"):
            continue
        base = {}
        for scale in SCALES:
            target, size = ensure_corpus(corpus_path(history, scale), scale, history)
            for n in threads:
                cmd = [sprawl, "scan", str(target), "--quiet", "--format", "json", "--threads", str(n),
                       "--no-config", "--no-inventory"]
                if history:
                    cmd += ["--history", "--no-worktree"]
                rss, wall = measure(cmd, args.rounds)
                base.setdefault(n, (size, rss))
                size0, rss0 = base[n]
                kind = "history" if history else "files"
                rows.append((f"{kind} {scale}", size / 1e6, n, rss, wall, size / size0, rss / rss0))
    if args.big_file:
        with tempfile.TemporaryDirectory() as folder:
            tree = big_file_tree(folder, args.big_file)
            for n in threads:
                cmd = [sprawl, "scan", str(tree), "--quiet", "--format", "json", "--threads", str(n),
                       "--no-config", "--no-inventory", "--max-file-size", f"{args.big_file + 1}M"]
                rss, wall = measure(cmd, args.rounds)
                rows.append((f"one {args.big_file} MiB file", args.big_file * 1.048576, n, rss, wall, None, None))

    print(f"{'corpus':<22} {'MB':>8} {'threads':>7} {'peak RSS MB':>11} {'wall s':>7} {'size x':>7} {'RSS x':>6}")
    for name, mb, n, rss, wall, size_x, rss_x in rows:
        ratios = f"{size_x:>7.2f} {rss_x:>6.2f}" if size_x is not None else f"{'':>7} {'':>6}"
        print(f"{name:<22} {mb:>8.0f} {n:>7} {rss:>11.0f} {wall:>7.2f} {ratios}")


if __name__ == "__main__":
    main()
