#!/usr/bin/env python3
"""Top-k agreement of two `vecsearch search --queries F --json` outputs.

Used to choose the candidate pool of 1-bit codes: the reference is the f32
index of the same files, and the figure is the mean overlap of the two
top-k passage lists per query (|A ∩ B| / |A|, queries with no hit in the
reference skipped), plus how often the top hit agrees.

    python3 scripts/compare_topk.py ref.jsonl other.jsonl [-k 10]
"""
import argparse
import collections
import json


def load(path, k):
    hits = collections.defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            h = json.loads(line)
            key = h.get("query_id", 0)
            if len(hits[key]) < k:
                hits[key].append((h["doc"], h["line_start"], h["byte_start"]))
    return hits


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference")
    ap.add_argument("other")
    ap.add_argument("-k", type=int, default=10)
    a = ap.parse_args()
    ref, other = load(a.reference, a.k), load(a.other, a.k)
    overlaps, top1 = [], 0
    for q, want in ref.items():
        got = other.get(q, [])
        overlaps.append(len(set(want) & set(got)) / len(want))
        top1 += bool(got) and got[0] == want[0]
    n = len(overlaps)
    if n == 0:
        raise SystemExit("no query has a hit in the reference")
    full = sum(o == 1.0 for o in overlaps)
    print(
        f"queries {n}  mean top-{a.k} overlap {sum(overlaps) / n:.4f}  "
        f"identical top-{a.k} sets {full / n:.3f}  same top-1 {top1 / n:.3f}  "
        f"min overlap {min(overlaps):.2f}"
    )


if __name__ == "__main__":
    main()
