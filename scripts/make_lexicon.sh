#!/usr/bin/env bash
# Regenerates data/lexicon.tsv.gz end to end from Debian's gettext
# catalogues and from bilingual dictionaries (FreeDict, JMdict, CC-CEDICT;
# see data/README.md for sources and licences). The raw parallel text
# stays in $WORK, outside the repository.
#   usage: scripts/make_lexicon.sh [WORK]   (default /work/parallel; run from the repo root)
set -euo pipefail
WORK=${1:-/work/parallel}
scripts/fetch_gettext.sh "$WORK"
python3 scripts/mo_to_parallel.py "$WORK/root" "$WORK/gettext.jsonl"
scripts/fetch_dicts.sh "$WORK/dict"
python3 scripts/dict_to_parallel.py "$WORK/dict" "$WORK/dict/dict.jsonl"
cat "$WORK/gettext.jsonl" "$WORK/dict/dict.jsonl" > "$WORK/combined.jsonl"
cargo build --release --quiet
target/release/vecsearch lexicon learn "$WORK/combined.jsonl" \
    --min-pairs 2 --min-dice 0.02 --top 3 --score model1 --out data/lexicon.tsv.gz
