#!/usr/bin/env bash
# Installs the peers that scripts/bench_scale.sh compares vecsearch with, outside
# the repository: a Python venv with the tantivy binding and numpy (plus
# faiss-cpu, hnswlib and usearch when they install from wheels), and ripgrep,
# hyperfine and GNU time from apt. Idempotent.
#   usage: scripts/install_peers.sh [VENV]   (default /work/peers/venv)
set -euo pipefail
VENV=${1:-/work/peers/venv}
PY=${PYTHON:-python3}

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
need=()
command -v rg >/dev/null || need+=(ripgrep)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get install -y -q "${need[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
# Required peers.
"$VENV/bin/python" -m pip install -q --only-binary=:all: tantivy numpy
# Optional ANN peers: wheels only, never a source build on a 2-core machine.
for p in faiss-cpu hnswlib usearch; do
  if ! timeout 300 "$VENV/bin/python" -m pip install -q --only-binary=:all: "$p"; then
    echo "install_peers: $p has no wheel here, skipped" >&2
  fi
done

echo "== peers"
"$VENV/bin/python" - <<'PY'
import importlib
for name in ("tantivy", "numpy", "faiss", "hnswlib", "usearch"):
    try:
        m = importlib.import_module(name)
        print(f"{name:8s} {getattr(m, '__version__', 'ok')}")
    except Exception as e:  # optional peers may be missing
        print(f"{name:8s} missing ({type(e).__name__})")
PY
rg --version | sed -n 1p
hyperfine --version
/usr/bin/time --version 2>&1 | sed -n 1p
