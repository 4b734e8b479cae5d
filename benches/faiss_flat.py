"""FAISS IndexFlatIP on .fvecs files: single-query QPS (200 calls, one query per
call) and best-of-3 batch QPS (all queries in one call), on each OpenMP thread
count given (default 1 and 2). One JSON line per thread count; the flat rows of
BENCHMARKS.md come from it. faiss-cpu 1.15 wheels dispatch at run time:
FAISS_SIMD_LEVEL=AVX2 pins their kernels to AVX2 (FAISS_OPT_LEVEL=avx2, the
older loader's switch, changes nothing there; `simd` reports the level used).
A batch is an sgemm in the OpenBLAS the wheel bundles, which picks its own
kernels: OPENBLAS_CORETYPE=Haswell pins those to AVX2 (`blas` reports the
core; an empty OPENBLAS_CORETYPE falls back to SSE3 "Prescott" kernels):

    /work/peers/venv/bin/python benches/faiss_flat.py BASE.fvecs QUERY.fvecs [THREADS...]
"""
import ctypes, glob, json, os, sys, time

import faiss
import numpy as np


def fvecs(p):
    a = np.fromfile(p, dtype=np.int32)
    d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].copy().view(np.float32)


def blas_core():
    """The kernel family of the OpenBLAS bundled with faiss-cpu."""
    libs = glob.glob(os.path.join(os.path.dirname(faiss.__file__), "..", "faiss_cpu.libs",
                                  "libopenblas*"))
    if not libs:
        return None
    lib = ctypes.CDLL(libs[0])
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return lib.openblas_get_corename().decode()


base = fvecs(sys.argv[1])
q = fvecs(sys.argv[2])
threads = [int(t) for t in sys.argv[3:]] or [1, 2]
k = 10
idx = faiss.IndexFlatIP(base.shape[1])
idx.add(base)
for t in threads:
    faiss.omp_set_num_threads(t)
    n = 200
    idx.search(q[:1], k)
    t0 = time.perf_counter()
    for i in range(n):
        idx.search(q[i:i + 1], k)
    single = n / (time.perf_counter() - t0)
    best = 0
    for r in range(3):
        t0 = time.perf_counter()
        idx.search(q, k)
        best = max(best, len(q) / (time.perf_counter() - t0))
    print(json.dumps(dict(peer="faiss", kind="flat", threads=t, single_qps=round(single, 1),
                          batch_qps=round(best, 1), rows=int(base.shape[0]),
                          dim=int(base.shape[1]),
                          simd=faiss.SIMDConfig.get_level_name(), blas=blas_core())), flush=True)
