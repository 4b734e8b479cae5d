"""FAISS IndexFlatIP on .fvecs files: single-query QPS (200 calls) and best-of-3
batch QPS on 1 and 2 OpenMP threads. The flat rows of BENCHMARKS.md come from it:

    /work/venv/bin/python benches/faiss_flat.py /tmp/c200k/base.fvecs /tmp/c200k/query.fvecs
"""
import sys, time, numpy as np, faiss
def fvecs(p):
    a = np.fromfile(p, dtype=np.int32); d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].copy().view(np.float32)
base = fvecs(sys.argv[1]); q = fvecs(sys.argv[2]); k = 10
idx = faiss.IndexFlatIP(base.shape[1]); idx.add(base)
for t in (1, 2):
    faiss.omp_set_num_threads(t)
    n = 200
    t0 = time.perf_counter()
    for i in range(n): idx.search(q[i:i+1], k)
    single = n / (time.perf_counter() - t0)
    best = 0
    for r in range(3):
        t0 = time.perf_counter(); idx.search(q, k); best = max(best, len(q) / (time.perf_counter() - t0))
    print(f"faiss flat threads={t} single_qps={single:.1f} batch_qps={best:.1f}")
