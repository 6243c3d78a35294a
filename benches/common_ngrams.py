#!/usr/bin/env python3
"""Measures the four-byte sequences most common in source text, for the keyword prefilter.

    python3 benches/common_ngrams.py /work/.mirror/psf+requests/repo ... > src/engine/common-quadgrams.txt

Reads the text files of each repository's HEAD (bare or mirror clones; at most --per-repo
bytes from each, so that one large repository does not decide the table), lower-cases them,
counts every four-byte sequence, and prints the most frequent as hex, most frequent first.
keywords.rs anchors each keyword on the four bytes of it that rank lowest in this table
(absent: rarer than any listed), so the filter stops where a keyword differs from ordinary
code (`nfin` of `iconfinder`, not `onfi`, which every `config` holds).
"""

import argparse
import collections
import subprocess
import sys

SKIP_SUFFIXES = (".lock", ".min.js", ".map", ".svg", ".png", ".jpg", ".gif", ".ico", ".pdf", ".woff", ".woff2", ".ttf", ".zip", ".gz", ".jar")


def text_blobs(repo, budget):
    """(path, bytes) of text files at HEAD, smallest first, up to `budget` bytes in all."""
    listing = subprocess.run(
        ["git", "--git-dir", repo, "ls-tree", "-r", "-l", "HEAD"],
        check=True, capture_output=True, text=True,
    ).stdout
    entries = []
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        mode, kind, oid, size = meta.split()
        # A size that is not a number: the mirror lacks the blob (large files are left out).
        if kind != "blob" or not size.isdigit() or path.endswith(SKIP_SUFFIXES):
            continue
        if 0 < int(size) <= 256 * 1024:
            entries.append((int(size), path, oid))
    # In order of blob id: a spread over the whole tree, not the first folders alone.
    entries.sort(key=lambda e: e[2])
    total = 0
    for size, path, oid in entries:
        if total >= budget:
            break
        shown = subprocess.run(["git", "--git-dir", repo, "cat-file", "blob", oid], capture_output=True)
        data = shown.stdout
        if shown.returncode != 0 or b"\0" in data[:8192]:
            continue
        total += len(data)
        yield path, data


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="+")
    parser.add_argument("--per-repo", type=int, default=4_000_000, help="bytes read from each repository")
    parser.add_argument("--top", type=int, default=12_000)
    args = parser.parse_args()
    counts = collections.Counter()
    for repo in args.repos:
        read = 0
        for _, data in text_blobs(repo, args.per_repo):
            data = data.lower()
            counts.update(data[i : i + 4] for i in range(len(data) - 3))
            read += len(data)
        print(f"{repo}: {read} bytes", file=sys.stderr)
    print(f"# The {args.top:,} most frequent four-byte sequences of source text (lower-cased), most")
    print("# frequent first, as hex; measured by benches/common_ngrams.py on the HEAD of")
    names = ", ".join(r.rstrip("/").removesuffix("/repo").rsplit("/", 1)[-1].replace("+", "/") for r in args.repos)
    for line in wrap(names, 86):
        print(f"# {line}")
    print("# Read by keywords.rs to anchor each keyword on its rarest part.")
    for gram, _ in counts.most_common(args.top):
        print(gram.hex())


def wrap(text, width):
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            yield line
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        yield line


if __name__ == "__main__":
    main()
