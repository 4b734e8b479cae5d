#!/usr/bin/env bash
# The measurements behind BENCHMARKS.md's cross-language section: eval
# crosslang on the seeds and the sample under each analyzer switch, dense
# only vs dense + rerank, and several dims. Prints markdown rows.
#   usage: scripts/bench_crosslang.sh [SEEDS]   (run from the repo root)
set -euo pipefail
SEEDS=${1:-../shared/corpus/seeds}
B=target/release/vecsearch
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 scripts/seed_aligned.py "$SEEDS" "$T/seeds.jsonl"
row() { # name corpus aligned eval-flags -- index-flags...
  local name=$1 corpus=$2 aligned=$3 evflags=$4; shift 4
  $B index "$corpus" --index "$T/i.vsx" -q "$@" 2>/dev/null
  local bytes; bytes=$(stat -c %s "$T/i.vsx")
  $B eval crosslang --aligned "$aligned" --index "$T/i.vsx" --json $evflags 2>/dev/null |
    python3 -c '
import sys, json
r = [json.loads(l) for l in sys.stdin]
pairs, a = r[:-1], r[-1]
worst = min(pairs, key=lambda p: p["top1"])
get = lambda s, t: next((p["top1"] for p in pairs if p["source"] == s and p["target"] == t), float("nan"))
frx = [get("fr", t) for t in ("ja", "zh-Hans", "zh-Hant")] + [get(s, "fr") for s in ("ja", "zh-Hans", "zh-Hant")]
print("| %s | %.3f | %.3f | %.3f (%s→%s) | %.3f | %d |" % (sys.argv[1], a["top1"], a["mrr10"], worst["top1"],
      worst["source"], worst["target"], sum(frx) / len(frx), int(sys.argv[2])))' "$name" "$bytes"
}
echo "| seeds: setting | top-1 | MRR@10 | worst pair | fr↔ja/zh top-1 | index bytes |"
echo "|---|---|---|---|---|---|"
row "default (dim 1024, all switches, builtin lexicon)" "$SEEDS" "$T/seeds.jsonl" ""
row "plain: none of the switches, no lexicon" "$SEEDS" "$T/seeds.jsonl" "" --lexicon none --no-han-fold --no-subwords --katakana-bigrams
row "default without the lexicon" "$SEEDS" "$T/seeds.jsonl" "" --lexicon none
row "default without Han folding" "$SEEDS" "$T/seeds.jsonl" "" --no-han-fold
row "default without Latin subwords" "$SEEDS" "$T/seeds.jsonl" "" --no-subwords
row "default without diacritic folding" "$SEEDS" "$T/seeds.jsonl" "" --no-diacritic-fold
row "default with Katakana bigrams" "$SEEDS" "$T/seeds.jsonl" "" --katakana-bigrams
row "plain + Han folding only" "$SEEDS" "$T/seeds.jsonl" "" --lexicon none --no-subwords --katakana-bigrams
row "plain + subwords only" "$SEEDS" "$T/seeds.jsonl" "" --lexicon none --no-han-fold --katakana-bigrams
row "plain + lexicon only" "$SEEDS" "$T/seeds.jsonl" "" --no-han-fold --no-subwords --katakana-bigrams
for b in 1 3; do row "default, --bridge $b" "$SEEDS" "$T/seeds.jsonl" "" --bridge $b; done
for d in 256 512 2048 4096; do
  row "default, dim $d" "$SEEDS" "$T/seeds.jsonl" "" --dim $d
  row "default, dim $d, dense only" "$SEEDS" "$T/seeds.jsonl" "--no-rerank" --dim $d
done
row "default, dim 1024, dense only" "$SEEDS" "$T/seeds.jsonl" "--no-rerank"
echo
echo "| sample (data/sample/aligned.jsonl): setting | top-1 | MRR@10 | worst pair | fr↔ja/zh top-1 | index bytes |"
echo "|---|---|---|---|---|---|"
row "default" data/sample data/sample/aligned.jsonl ""
row "plain: none of the switches, no lexicon" data/sample data/sample/aligned.jsonl "" --lexicon none --no-han-fold --no-subwords --katakana-bigrams
row "default without the lexicon" data/sample data/sample/aligned.jsonl "" --lexicon none
row "default, dense only" data/sample data/sample/aligned.jsonl "--no-rerank"
# Seeds among distractors (scripts/make_distractors.py), when given: here
# the dense candidate search and the dim matter.
if [ -n "${2:-}" ]; then
  mkdir -p "$T/big"
  cp -r "$2" "$T/big/distract"
  cp "$SEEDS"/*.txt "$T/big/"
  echo
  echo "| seeds among $(ls "$2" | wc -l) distractor files: setting | top-1 | MRR@10 | worst pair | fr↔ja/zh top-1 | index bytes |"
  echo "|---|---|---|---|---|---|"
  row "default (dim 1024)" "$T/big" "$T/seeds.jsonl" ""
  row "default, dense only" "$T/big" "$T/seeds.jsonl" "--no-rerank"
  row "default without the lexicon" "$T/big" "$T/seeds.jsonl" "" --lexicon none
  row "plain: none of the switches, no lexicon" "$T/big" "$T/seeds.jsonl" "" --lexicon none --no-han-fold --no-subwords --katakana-bigrams
  for d in 256 512 2048 4096; do row "default, dim $d" "$T/big" "$T/seeds.jsonl" "" --dim $d; done
  row "plain, dim 4096" "$T/big" "$T/seeds.jsonl" "" --dim 4096 --lexicon none --no-han-fold --no-subwords --katakana-bigrams
fi
