#!/bin/sh
# One comparison run for BENCHMARKS.md (issue 11), on one instruction set, back
# to back: memory read bandwidth (benches/membw.c), flat search against FAISS
# IndexFlatIP (one query per call and a 1,000-query batch, 1 thread),
# vecsearch's f32 and SQ8 HNSW walks (benches/ann_sweep.rs) against hnswlib,
# FAISS HNSWFlat and HNSWSQ8 and usearch i8 (benches/compare_peers.py), and,
# with BUILD=1, the HNSW build on 2 threads against hnswlib's.
#
#   ISA=avx512|avx2 [BUILD=1] scripts/ann_compare.sh DIR [PYTHON] [EFS] [PEERS] > run.jsonl
#
# DIR holds base.fvecs, query.fvecs and gt.ivecs (examples/gen_clustered.rs).
# ISA=avx2 pins everything to AVX2: our kernels (VECSEARCH_KERNEL=avx2), FAISS
# (FAISS_SIMD_LEVEL=AVX2 for the run-time dispatching 1.15 wheels,
# FAISS_OPT_LEVEL=avx2 for older loaders, and OPENBLAS_CORETYPE=Haswell for
# the bundled OpenBLAS that FAISS's flat batches run on), membw (-mno-avx512f). hnswlib is
# compiled for one ISA, so PYTHON should be a venv whose hnswlib was built from
# source with CFLAGS=-mno-avx512f for avx2 and natively for avx512 (defaults:
# /work/peers/venv and /work/peers/venv512). Our graph is cached in DIR.graph
# and the peers' indexes in DIR/../peer-cache (both builds are measured with
# BUILD=1, without caches). Output: JSON lines on stdout, each tagged by the
# step; progress on stderr. scripts/ann_summary.py turns them into ratios.
set -eu
dir=$1
isa=${ISA:-avx512}
case $isa in
  avx2) default_py=/work/peers/venv/bin/python
        export VECSEARCH_KERNEL=avx2 FAISS_SIMD_LEVEL=AVX2 FAISS_OPT_LEVEL=avx2 \
            OPENBLAS_CORETYPE=Haswell
        march="-march=native -mno-avx512f" ;;
  avx512) default_py=/work/peers/venv512/bin/python
        march="-march=native" ;;
  *) echo "ann_compare: ISA must be avx512 or avx2" >&2; exit 2 ;;
esac
py=${2:-$default_py}
efs=${3:-24,32,40,48,64}
peers=${4:-hnswlib,faiss,faiss-sq8,usearch-i8}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
tag() { sed "s/^{/{\"isa\": \"$isa\", \"step\": \"$1\", /"; }

printf '{"isa": "%s", "step": "machine", "cpu": "%s", "load": "%s", "date": "%s"}\n' "$isa" \
  "$(lscpu | sed -n 's/^Model name: *//p')" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%FT%TZ)"
cargo build --release --locked -q
cargo bench --locked --bench ann_sweep --no-run -q 2>/dev/null
gcc -O3 $march -fopenmp benches/membw.c -o /tmp/membw-$isa

echo "== $isa: bandwidth and flat" >&2
/tmp/membw-$isa | tag membw
"${CARGO_TARGET_DIR:-target}"/release/vecsearch bench --base "$dir/base.fvecs" --query "$dir/query.fvecs" \
    --gt "$dir/gt.ivecs" --kind flat --threads 1 --json -q | tag flat
"$py" benches/faiss_flat.py "$dir/base.fvecs" "$dir/query.fvecs" 1 | tag faiss-flat
/tmp/membw-$isa | tag membw

echo "== $isa: HNSW walks" >&2
cargo bench --locked --bench ann_sweep -- --base "$dir/base.fvecs" --query "$dir/query.fvecs" \
    --gt "$dir/gt.ivecs" --ef "$efs" --rounds 2 --filters "" --cache "$dir.graph" | tag ours
"$py" benches/compare_peers.py --base "$dir/base.fvecs" --query "$dir/query.fvecs" \
    --gt "$dir/gt.ivecs" --k 10 --m 16 --ef-construction 200 --ef "$efs" --threads 2 \
    --peers "$peers" --modes single --cache "$dir/../peer-cache" | grep -v '"kind": "flat"' | tag peers
cargo bench --locked --bench ann_sweep -- --base "$dir/base.fvecs" --query "$dir/query.fvecs" \
    --gt "$dir/gt.ivecs" --ef "$efs" --rounds 1 --filters "" --cache "$dir.graph" | tag ours

if [ "${BUILD:-0}" = 1 ]; then
  echo "== $isa: builds on 2 threads" >&2
  "${CARGO_TARGET_DIR:-target}"/release/vecsearch bench --base "$dir/base.fvecs" --query "$dir/query.fvecs" \
      --gt "$dir/gt.ivecs" --kind hnsw --threads 1 --ef 32 --json -q | tag build
  "$py" benches/compare_peers.py --base "$dir/base.fvecs" --query "$dir/query.fvecs" \
      --gt "$dir/gt.ivecs" --k 10 --m 16 --ef-construction 200 --ef 32 --threads 2 \
      --peers hnswlib --modes single | tag build-peer
fi
