#!/usr/bin/env python3
"""Turns the JSON lines of scripts/ann_compare.sh (one or more runs, on one or
both instruction sets) into the ratios issue 11 asks for, as Markdown:

    python3 scripts/ann_summary.py run-avx512.jsonl run-avx2.jsonl

Per instruction set: the flat single-query scan against membw's read
bandwidth and against FAISS IndexFlatIP (single and batch, 1 thread); for
each HNSW subject the first ef whose recall@10 reaches 0.95 and its QPS
(range over rounds); the QPS ratios ours/peer at those points (and per CPU
second of the searching thread, where both report it); and the build
times on 2 threads. A peer that never reaches 0.95 is named as such.
"""
import json
import sys
from collections import defaultdict

TARGET = 0.95


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    return rows


def first_at_target(points):
    """points: {ef: (recall, [qps...])} -> (ef, recall, min qps, max qps) or None."""
    for ef in sorted(points):
        recall, qps = points[ef]
        if recall >= TARGET:
            return ef, recall, min(qps), max(qps)
    return None


def summarize(isa, rows):
    out = [f"### {isa}"]
    machine = [r for r in rows if r.get("step") == "machine"]
    for m in machine:
        out.append(f"- {m['cpu']}, load {m['load']}, {m['date']}")
    bw = [r["gb_s"] for r in rows if r.get("step") == "membw" and r["threads"] == 1]
    flat = {r["mode"]: r for r in rows if r.get("step") == "flat" and r["threads"] == 1}
    ff = [r for r in rows if r.get("step") == "faiss-flat" and r["threads"] == 1]
    if flat and "single" in flat:
        s = flat["single"]
        gbs = s["qps"] * s["n"] * s["dim"] * 4 / 1e9
        line = f"- flat single-query scan: {s['qps']:.1f} QPS = {gbs:.2f} GB/s"
        if bw:
            line += (f"; membw 1 thread {min(bw):.2f}–{max(bw):.2f} GB/s, "
                     f"ratio {gbs / max(bw):.2f}–{gbs / min(bw):.2f}")
        out.append(line)
        if ff:
            f = ff[0]
            out.append(f"- flat vs FAISS IndexFlatIP ({f['simd']}, OpenBLAS {f.get('blas')}), 1 thread: single "
                       f"{s['qps']:.1f} / {f['single_qps']:.1f} = {s['qps'] / f['single_qps']:.2f}×; "
                       f"batch {flat['batch']['qps']:.0f} / {f['batch_qps']:.0f} = "
                       f"{flat['batch']['qps'] / f['batch_qps']:.2f}×")
    subjects = defaultdict(dict)
    cpu_subjects = defaultdict(dict)
    for r in rows:
        if r.get("step") == "ours" and r.get("mode") in ("f32", "sq8"):
            name = "ours " + r["mode"]
        elif r.get("step") == "peers" and r.get("mode") == "single" and r.get("kind") == "hnsw":
            name = r["peer"]
        else:
            continue
        rec, qps = subjects[name].get(r["ef"], (r["recall"], []))
        subjects[name][r["ef"]] = (r["recall"], qps + [r["qps"]])
        if r.get("cpu_qps"):
            _, cq = cpu_subjects[name].get(r["ef"], (r["recall"], []))
            cpu_subjects[name][r["ef"]] = (r["recall"], cq + [r["cpu_qps"]])
    at = {}
    for name, pts in sorted(subjects.items()):
        a = first_at_target(pts)
        at[name] = a
        if a:
            out.append(f"- {name}: recall {a[1]:.4f} at ef {a[0]}, {a[2]:,.0f}–{a[3]:,.0f} QPS")
        else:
            best = max(pts.values(), key=lambda p: p[0])
            out.append(f"- {name}: never reaches {TARGET} (best recall {best[0]:.4f})")
    for ours in ("ours f32", "ours sq8"):
        if not at.get(ours):
            continue
        for peer in ("hnswlib", "faiss", "faiss-sq8", "usearch-i8"):
            if peer in at and at[peer]:
                lo = at[ours][2] / at[peer][3]
                hi = at[ours][3] / at[peer][2]
                out.append(f"  - {ours} / {peer} at recall ≥ {TARGET}: {lo:.2f}–{hi:.2f}×")
    # The same ratios per CPU second of the searching thread, where both
    # sides report it: less sensitive to a shared machine's load.
    cat = {name: first_at_target(pts) for name, pts in cpu_subjects.items()}
    for ours in ("ours f32", "ours sq8"):
        if cat.get(ours) and cat.get("hnswlib"):
            o, p = cat[ours], cat["hnswlib"]
            out.append(f"  - {ours} / hnswlib per CPU second: {o[2]:,.0f}–{o[3]:,.0f} / "
                       f"{p[2]:,.0f}–{p[3]:,.0f} = {o[2] / p[3]:.2f}–{o[3] / p[2]:.2f}×")
    ob = [r for r in rows if r.get("step") == "build" and r.get("build_s")]
    pb = [r for r in rows if r.get("step") == "build-peer" and not r.get("cached")]
    if ob and pb:
        o, p = ob[0]["build_s"], pb[0]["build_s"]
        out.append(f"- HNSW build, 2 threads: ours {o:.1f} s, hnswlib {p:.1f} s: {o / p:.2f}×")
    return "\n".join(out)


def main():
    rows = load(sys.argv[1:])
    by_isa = defaultdict(list)
    for r in rows:
        by_isa[r.get("isa", "?")].append(r)
    print("\n\n".join(summarize(isa, rs) for isa, rs in sorted(by_isa.items())))


if __name__ == "__main__":
    main()
