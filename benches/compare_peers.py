#!/usr/bin/env python3
"""Measures peer ANN libraries (hnswlib, FAISS) on a TEXMEX data set so
vecsearch's numbers have something to be compared with on the same machine.

Usage (needs numpy, hnswlib and faiss-cpu; keep the venv outside the repo):

    python3 -m venv /work/venv
    /work/venv/bin/pip install faiss-cpu hnswlib numpy
    cargo run --release --example gen_clustered -- --out /tmp/ds --n 200000 --nq 1000 \
        --dim 256 --clusters 100 --k 100 --seed 42
    /work/venv/bin/python benches/compare_peers.py \
        --base /tmp/ds/base.fvecs --query /tmp/ds/query.fvecs --gt /tmp/ds/gt.ivecs \
        --k 10 --m 16 --ef-construction 200 --ef 16,32,64,128 --threads 2

Prints one JSON object per line (results on stdout, progress on stderr):

    peer            "hnswlib" | "faiss" | "faiss-sq8" (IndexHNSWSQ, 8-bit)
                    | "usearch-i8"
    kind            "hnsw" | "flat" (exact IndexFlatIP)
    mode            "single": one query per call on one thread, with latency
                    percentiles; "batch": all queries in one call on --threads
                    (fastest of 3 to 50 repeats, about 1 s in all)
    recall          ann-benchmarks rule: a returned id counts if its true inner
                    product is >= the true k-th best score - 1e-3
    qps             queries per second (single mode includes the Python call
                    overhead of a few microseconds per query)
    p50_us p95_us p99_us   per-query latency (single mode only, else null)
    build_s         index build time on --threads threads
    index_bytes     size of the index serialised to a temporary file
    threads         threads used for the searches in this line
    ef m ef_construction   HNSW parameters (null for flat)

With --cache DIR each HNSW peer's index is saved there after its build
(with a JSON sidecar holding the build time and threads) and loaded instead
of rebuilt when it is present, so a search-only comparison in a quiet window
does not wait minutes for builds; `build_s` then reports the recorded build
and `cached` is true. Delete DIR to measure builds again.

Without --gt the exact top-k is computed here with FAISS IndexFlatIP.
Vectors are used as stored; the metric is the inner product (use unit-length
vectors for cosine).
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

EPS = 1e-3


def read_vecs(path):
    """Reads .fvecs / .ivecs / .bvecs (TEXMEX) into an (n, dim) array."""
    ext = os.path.splitext(path)[1].lower()
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    dim = int(raw[:4].view("<i4")[0])
    if dim <= 0:
        raise SystemExit(f"{path}: bad dimension {dim}")
    if ext == ".bvecs":
        row = 4 + dim
        if raw.size % row:
            raise SystemExit(f"{path}: size is not a whole number of rows")
        rows = raw.reshape(-1, row)
        if np.any(rows[:, :4].copy().view("<i4") != dim):
            raise SystemExit(f"{path}: inconsistent dimensions")
        return rows[:, 4:].astype(np.float32)
    if ext not in (".fvecs", ".ivecs"):
        raise SystemExit(f"{path}: unknown extension {ext}")
    row = 4 + 4 * dim
    if raw.size % row:
        raise SystemExit(f"{path}: size is not a whole number of rows")
    words = raw.view("<i4").reshape(-1, dim + 1)
    if np.any(words[:, 0] != dim):
        raise SystemExit(f"{path}: inconsistent dimensions")
    body = np.ascontiguousarray(words[:, 1:])
    return body.view("<f4").astype(np.float32) if ext == ".fvecs" else body.astype(np.int64)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def file_size_of(save):
    """Size in bytes of whatever `save(path)` writes."""
    fd, path = tempfile.mkstemp(suffix=".idx")
    os.close(fd)
    try:
        save(path)
        return os.path.getsize(path)
    finally:
        os.unlink(path)


def cached_build(args, name, shape, build, save, load):
    """Builds a peer index, or loads it from --cache: returns
    (index, build_s, build_threads, cached)."""
    if not args.cache:
        t = time.perf_counter()
        index = build()
        return index, time.perf_counter() - t, args.threads, False
    n, dim = shape
    stem = os.path.join(args.cache, f"{name}-{n}x{dim}-m{args.m}-efc{args.ef_construction}")
    meta_path = stem + ".json"
    if os.path.exists(meta_path) and os.path.exists(stem + ".idx"):
        with open(meta_path) as f:
            meta = json.load(f)
        log(f"{name}: loading {stem}.idx (built in {meta['build_s']:.1f}s on "
            f"{meta['build_threads']} threads)")
        return load(stem + ".idx"), meta["build_s"], meta["build_threads"], True
    os.makedirs(args.cache, exist_ok=True)
    t = time.perf_counter()
    index = build()
    build_s = time.perf_counter() - t
    save(index, stem + ".idx")
    with open(meta_path, "w") as f:
        json.dump({"build_s": build_s, "build_threads": args.threads}, f)
    return index, build_s, args.threads, False


class Truth:
    """The true k-th best score per query and a scorer for returned ids."""

    def __init__(self, base, queries, gt_ids, k):
        if gt_ids.shape[1] < k:
            raise SystemExit(f"ground truth has {gt_ids.shape[1]} columns, need k={k}")
        self.base, self.queries, self.k = base, queries, k
        kth = gt_ids[:, k - 1]
        self.threshold = np.einsum("ij,ij->i", queries, base[kth]) - EPS

    def recall(self, ids):
        ids = np.asarray(ids, dtype=np.int64)[:, : self.k]
        valid = ids >= 0
        safe = np.where(valid, ids, 0)
        scores = np.einsum("qd,qkd->qk", self.queries, self.base[safe])
        hits = valid & (scores >= self.threshold[:, None])
        return float(hits.sum()) / (len(ids) * self.k)


def run_single(search_one, nq):
    """One query per call; returns (ids, qps, queries per CPU second of this
    thread, latencies in microseconds). The peers run a one-thread search
    in the calling thread, so its CPU time is theirs: on a shared machine
    it does not count the time other jobs held the core (ann_sweep's
    cpu_qps is the same measure)."""
    ids, lat = [], np.empty(nq)
    start, cpu = time.perf_counter(), time.thread_time()
    for i in range(nq):
        t = time.perf_counter_ns()
        ids.append(search_one(i))
        lat[i] = (time.perf_counter_ns() - t) / 1e3
    total = time.perf_counter() - start
    cpu = time.thread_time() - cpu
    return np.vstack(ids), nq / total, nq / max(cpu, 1e-9), lat


def emit(rec):
    print(json.dumps(rec), flush=True)


def measure(common, truth, set_threads, search_batch, search_one, nq, threads, modes):
    for mode in modes:
        if mode == "single":
            set_threads(1)
            search_one(0)  # warm-up: first call touches cold pages
            ids, qps, cpu_qps, lat = run_single(search_one, nq)
            p50, p95, p99 = np.percentile(lat, [50, 95, 99])
            rec = dict(mode="single", threads=1, qps=qps, cpu_qps=cpu_qps,
                       p50_us=float(p50), p95_us=float(p95), p99_us=float(p99))
        else:
            set_threads(threads)
            search_batch()
            # One batch can take only milliseconds; repeat for at least a
            # second and keep the fastest run, as ann-benchmarks does.
            best, spent, runs = float("inf"), 0.0, 0
            while runs < 3 or (spent < 1.0 and runs < 50):
                t = time.perf_counter()
                ids = search_batch()
                dt = time.perf_counter() - t
                best, spent, runs = min(best, dt), spent + dt, runs + 1
            qps = nq / best
            rec = dict(mode="batch", threads=threads, qps=qps,
                       p50_us=None, p95_us=None, p99_us=None)
        rec["recall"] = truth.recall(ids)
        emit({**common, **rec})
        log(f"  {common['peer']} {common['kind']} ef={common['ef']} {mode}: "
            f"recall {rec['recall']:.4f} qps {qps:.0f}")


def bench_hnswlib(args, base, queries, truth, efs):
    import hnswlib

    n, dim = base.shape

    def build():
        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=n, ef_construction=args.ef_construction, M=args.m)
        index.set_num_threads(args.threads)
        index.add_items(base, np.arange(n), num_threads=args.threads)
        return index

    def load(path):
        index = hnswlib.Index(space="ip", dim=dim)
        index.load_index(path, max_elements=n)
        return index

    index, build_s, build_threads, cached = cached_build(
        args, "hnswlib", base.shape, build, lambda i, p: i.save_index(p), load)
    index.set_num_threads(args.threads)
    size = file_size_of(index.save_index)
    log(f"hnswlib {'loaded' if cached else 'built'}: build {build_s:.1f}s, {size} bytes")
    for ef in efs:
        index.set_ef(max(ef, args.k))
        common = dict(peer="hnswlib", kind="hnsw", ef=ef, m=args.m,
                      ef_construction=args.ef_construction, build_s=build_s,
                      index_bytes=size, build_threads=build_threads, cached=cached,
                      k=args.k)
        measure(
            common, truth, index.set_num_threads,
            lambda: index.knn_query(queries, k=args.k, num_threads=index.num_threads)[0],
            lambda i: index.knn_query(queries[i:i + 1], k=args.k, num_threads=1)[0],
            len(queries), args.threads, args.modes)


def bench_faiss(args, base, queries, truth, efs):
    import faiss

    n, dim = base.shape
    k = args.k
    faiss.omp_set_num_threads(args.threads)

    flat = faiss.IndexFlatIP(dim)
    t = time.perf_counter()
    flat.add(base)
    build_s = time.perf_counter() - t
    size = file_size_of(lambda p: faiss.write_index(flat, p))
    common = dict(peer="faiss", kind="flat", ef=None, m=None, ef_construction=None,
                  build_s=build_s, index_bytes=size, build_threads=args.threads, k=k)
    measure(common, truth, faiss.omp_set_num_threads,
            lambda: flat.search(queries, k)[1],
            lambda i: flat.search(queries[i:i + 1], k)[1],
            len(queries), args.threads, args.modes)
    del flat

    def build():
        hnsw = faiss.IndexHNSWFlat(dim, args.m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = args.ef_construction
        faiss.omp_set_num_threads(args.threads)
        hnsw.add(base)
        return hnsw

    hnsw, build_s, build_threads, cached = cached_build(
        args, "faiss-hnsw", base.shape, build, faiss.write_index, faiss.read_index)
    faiss.omp_set_num_threads(args.threads)
    size = file_size_of(lambda p: faiss.write_index(hnsw, p))
    log(f"faiss HNSW {'loaded' if cached else 'built'}: build {build_s:.1f}s, {size} bytes")
    for ef in efs:
        hnsw.hnsw.efSearch = max(ef, k)
        common = dict(peer="faiss", kind="hnsw", ef=ef, m=args.m,
                      ef_construction=args.ef_construction, build_s=build_s,
                      index_bytes=size, build_threads=build_threads, cached=cached, k=k)
        measure(common, truth, faiss.omp_set_num_threads,
                lambda: hnsw.search(queries, k)[1],
                lambda i: hnsw.search(queries[i:i + 1], k)[1],
                len(queries), args.threads, args.modes)


def bench_faiss_sq8(args, base, queries, truth, efs):
    """FAISS IndexHNSWSQ with 8-bit scalar codes (QT_8bit, per-dimension
    ranges): the graph walks on codes and returns code distances, with no
    exact re-ranking."""
    import faiss

    n, dim = base.shape
    k = args.k
    faiss.omp_set_num_threads(args.threads)

    def build():
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, args.m,
                                  faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = args.ef_construction
        index.train(base)
        index.add(base)
        return index

    index, build_s, build_threads, cached = cached_build(
        args, "faiss-sq8", base.shape, build, faiss.write_index, faiss.read_index)
    size = file_size_of(lambda p: faiss.write_index(index, p))
    log(f"faiss HNSWSQ8 {'loaded' if cached else 'built'}: build {build_s:.1f}s, {size} bytes")
    for ef in efs:
        index.hnsw.efSearch = max(ef, k)
        common = dict(peer="faiss-sq8", kind="hnsw", ef=ef, m=args.m,
                      ef_construction=args.ef_construction, build_s=build_s,
                      index_bytes=size, build_threads=build_threads, cached=cached, k=k)
        measure(common, truth, faiss.omp_set_num_threads,
                lambda: index.search(queries, k)[1],
                lambda i: index.search(queries[i:i + 1], k)[1],
                len(queries), args.threads, args.modes)


def bench_usearch_i8(args, base, queries, truth, efs):
    """usearch with i8 vectors (its own quantization of unit vectors) and the
    inner-product metric."""
    from usearch.index import Index

    n, dim = base.shape
    k = args.k

    def build():
        index = Index(ndim=dim, metric="ip", dtype="i8", connectivity=args.m,
                      expansion_add=args.ef_construction)
        index.add(np.arange(n), base, threads=args.threads)
        return index

    def load(path):
        index = Index(ndim=dim, metric="ip", dtype="i8", connectivity=args.m,
                      expansion_add=args.ef_construction)
        index.load(path)
        return index

    index, build_s, build_threads, cached = cached_build(
        args, "usearch-i8", base.shape, build, lambda i, p: i.save(p), load)
    size = file_size_of(index.save)
    log(f"usearch i8 {'loaded' if cached else 'built'}: build {build_s:.1f}s, {size} bytes")
    state = {"threads": args.threads}

    def set_threads(t):
        state["threads"] = t

    for ef in efs:
        index.expansion_search = max(ef, k)
        common = dict(peer="usearch-i8", kind="hnsw", ef=ef, m=args.m,
                      ef_construction=args.ef_construction, build_s=build_s,
                      index_bytes=size, build_threads=build_threads, cached=cached, k=k)
        measure(common, truth, set_threads,
                lambda: np.asarray(index.search(queries, k, threads=state["threads"]).keys),
                lambda i: np.asarray(index.search(queries[i], k, threads=1).keys).reshape(1, -1),
                len(queries), args.threads, args.modes)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True)
    p.add_argument("--query", required=True)
    p.add_argument("--gt", help="ground-truth .ivecs (best first); computed if absent")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef", default="16,32,64,128", help="comma-separated efSearch values")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--peers", default="hnswlib,faiss",
                   help="comma-separated: hnswlib, faiss, faiss-sq8, usearch-i8")
    p.add_argument("--modes", default="single,batch")
    p.add_argument("--cache", help="folder to save HNSW peer indexes in and load them from")
    args = p.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    efs = [int(e) for e in args.ef.split(",") if e]
    peers = [x for x in args.peers.split(",") if x]
    for m in args.modes:
        if m not in ("single", "batch"):
            raise SystemExit(f"unknown mode {m}")

    base = np.ascontiguousarray(read_vecs(args.base), dtype=np.float32)
    queries = np.ascontiguousarray(read_vecs(args.query), dtype=np.float32)
    if base.shape[1] != queries.shape[1]:
        raise SystemExit("base and query dimensions differ")
    log(f"base {base.shape}, queries {queries.shape}, k={args.k}, threads={args.threads}")
    if any(p.startswith("faiss") for p in peers):
        import faiss

        # faiss-cpu 1.15 dispatches at run time; FAISS_SIMD_LEVEL=AVX2 pins it.
        log(f"faiss SIMD level {faiss.SIMDConfig.get_level_name()}")
    if args.gt:
        gt = read_vecs(args.gt)
        if len(gt) != len(queries):
            raise SystemExit("ground truth and query counts differ")
    else:
        import faiss

        faiss.omp_set_num_threads(args.threads)
        exact = faiss.IndexFlatIP(base.shape[1])
        exact.add(base)
        gt = exact.search(queries, args.k)[1]
    truth = Truth(base, queries, gt, args.k)

    for peer in peers:
        if peer == "hnswlib":
            bench_hnswlib(args, base, queries, truth, efs)
        elif peer == "faiss":
            bench_faiss(args, base, queries, truth, efs)
        elif peer == "faiss-sq8":
            bench_faiss_sq8(args, base, queries, truth, efs)
        elif peer == "usearch-i8":
            bench_usearch_i8(args, base, queries, truth, efs)
        else:
            raise SystemExit(f"unknown peer {peer}")


if __name__ == "__main__":
    main()
