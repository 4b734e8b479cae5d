#!/bin/sh
# One comparison run for BENCHMARKS.md (issue 11): vecsearch's f32 and SQ8
# HNSW walks (benches/ann_sweep.rs) and the peers (benches/compare_peers.py)
# on the same TEXMEX files, back to back, single-thread queries.
#
#   scripts/ann_compare.sh DIR [PYTHON] [EFS] [PEERS]
#
# DIR holds base.fvecs, query.fvecs and gt.ivecs (benches/gen_clustered.rs);
# PYTHON is a venv's python with numpy, faiss-cpu, hnswlib and usearch
# (default /work/peers/venv/bin/python). Output: JSON lines on stdout, ours
# first. Set VECSEARCH_KERNEL=avx2 and FAISS_OPT_LEVEL=avx2 to pin both to
# AVX2; build hnswlib from source with CFLAGS=-mno-avx512f for the same.
set -eu
dir=$1
py=${2:-/work/peers/venv/bin/python}
efs=${3:-16,24,32,48,64,128}
peers=${4:-hnswlib,faiss,faiss-sq8,usearch-i8}
here=$(cd "$(dirname "$0")/.." && pwd)
lscpu | grep 'Model name' >&2
cd "$here"
cargo bench --locked --bench ann_sweep -- --base "$dir/base.fvecs" --query "$dir/query.fvecs" \
    --gt "$dir/gt.ivecs" --ef "$efs" --rounds 2 --filters ""
"$py" benches/compare_peers.py --base "$dir/base.fvecs" --query "$dir/query.fvecs" \
    --gt "$dir/gt.ivecs" --k 10 --m 16 --ef-construction 200 --ef "$efs" --threads 2 \
    --peers "$peers" --modes single
