#!/usr/bin/env bash
# Scale benchmark of issue 10: vecsearch (flat, and HNSW on request) side by
# side with tantivy (Python binding, the indexed peer) and ripgrep (the
# no-index peer), on the same text files. Measures index bytes, build wall
# time and peak RSS (GNU time), and warm single-query latency, then prints one
# Markdown table row per subject. Peers come from scripts/install_peers.sh.
#
#   usage: scripts/bench_scale.sh CORPUS_DIR QUERIES BIN OUTDIR
#          QUERIES: one query per line (.txt) or JSON lines with "query" (.jsonl)
#          BIN:     the vecsearch binary to measure
#   env:   HNSW=1          also build and query an index with --kind hnsw
#          NQ=20           how many queries (the first NQ of QUERIES) are timed
#          WARMUP=2        untimed runs before the timed ones
#          SKIP_VS=1 SKIP_TANTIVY=1 SKIP_RG=1   leave a subject out
#          PEERS_PY=/work/peers/venv/bin/python   the Python with tantivy
#          TANTIVY_TOKENIZER=default|bigram  tantivy's analyzer for the text
#                          (default: its word tokenizer, which keeps a CJK run
#                          as one token; bigram: character 2-grams, lowercased)
#          VS_INDEX_ARGS="..."  extra arguments for `BIN index`
#          VS_SEARCH_ARGS="..." extra arguments for `BIN search`
#          LABEL=name      name of the vecsearch rows (default: vecsearch)
#          REUSE=1         keep an index already built in OUTDIR (and its build
#                          figures) and only time the queries again
#
# Latency is that of the whole command for vecsearch and rg (process start,
# index open, search, JSON output to /dev/null), and in-process for tantivy
# (parse, search top 10, fetch the 10 stored documents). The CPU time (user +
# sys) of the same runs is reported too: on a shared machine it is the steadier
# figure. Raw measurements go to OUTDIR/*.txt and the table to OUTDIR/table.md.
set -euo pipefail

usage() { sed -n '8,24p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -eq 4 ] || { usage >&2; exit 2; }
CORPUS=$(cd "$1" && pwd)
QUERIES=$2
BIN=$3
OUT=$4
NQ=${NQ:-20}
WARMUP=${WARMUP:-2}
PEERS_PY=${PEERS_PY:-/work/peers/venv/bin/python}
LABEL=${LABEL:-vecsearch}
TANTIVY_TOKENIZER=${TANTIVY_TOKENIZER:-default}
case "$TANTIVY_TOKENIZER" in default|bigram) ;; *) echo "bench_scale: TANTIVY_TOKENIZER is default or bigram" >&2; exit 2 ;; esac
read -r -a VS_INDEX_ARGS <<<"${VS_INDEX_ARGS:-}"
read -r -a VS_SEARCH_ARGS <<<"${VS_SEARCH_ARGS:-}"
[ -x /usr/bin/time ] || { echo "bench_scale: GNU time missing (apt-get install time)" >&2; exit 2; }
[ -f "$QUERIES" ] || { echo "bench_scale: no query file $QUERIES" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

log() { printf 'bench_scale: %s\n' "$*" >&2; }

# The first NQ queries, one per line.
QFILE="$OUT/queries-$NQ.txt"
python3 - "$QUERIES" "$NQ" >"$QFILE" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
out = []
with open(path, encoding="utf-8") as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        out.append(json.loads(line)["query"] if path.endswith(".jsonl") else line)
        if len(out) == n:
            break
print("\n".join(out))
PY

TEXT_BYTES=$(find "$CORPUS" -type f \( -name '*.txt' -o -name '*.md' -o -name '*.markdown' \) -printf '%s\n' | awk '{s+=$1} END {print s+0}')
TEXT_FILES=$(find "$CORPUS" -type f \( -name '*.txt' -o -name '*.md' -o -name '*.markdown' \) | wc -l)

{
  echo "# bench_scale $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "corpus: $CORPUS ($TEXT_FILES files, $TEXT_BYTES bytes)"
  echo "queries: $QUERIES (first $NQ timed, $WARMUP warm-up runs)"
  echo "bin: $BIN"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) CPUs"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/env.txt" >&2

ROWS="$OUT/rows.md"
: >"$ROWS"

# row SUBJECT INDEX_BYTES BUILD_S PEAK_KB MEDIAN_MS P90_MS CPU_MEDIAN_MS
row() {
  python3 - "$TEXT_BYTES" "$@" >>"$ROWS" <<'PY'
import sys
text, subject, ib, bs, kb, med, p90, cpu = sys.argv[1:9]
text = int(text)
def num(x):
    try:
        return float(x)
    except ValueError:
        return None
ib, bs, kb, med, p90, cpu = map(num, (ib, bs, kb, med, p90, cpu))
cells = [subject, f"{text/1e6:.1f} MB"]
cells.append(f"{ib/1e6:,.1f} MB" if ib is not None else "—")
cells.append(f"{ib/text:.2f}×" if ib is not None else "—")
cells.append(f"{bs:.1f}" if bs is not None else "—")
cells.append(f"{text/1e6/bs:.2f}" if bs else "—")
cells.append(f"{kb/1024:,.0f} MB" if kb is not None else "—")
cells.append(f"{med:.2f}" if med is not None else "—")
cells.append(f"{p90:.2f}" if p90 is not None else "—")
cells.append(f"{cpu:.2f}" if cpu is not None else "—")
print("| " + " | ".join(cells) + " |")
PY
}

# time_commands NAME -- CMD... : runs CMD with each query appended, WARMUP
# untimed runs of the first query first; prints "median p90 cpu_median" in ms.
time_commands() {
  local name=$1; shift; shift
  python3 - "$QFILE" "$WARMUP" "$OUT/latency-$name.txt" "$@" <<'PY'
import resource, statistics, subprocess, sys, time
qfile, warm, raw, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
qs = [q for q in open(qfile, encoding="utf-8").read().split("\n") if q]
def run(q):
    argv = [a.replace("{Q}", q) for a in cmd] if any("{Q}" in a for a in cmd) else cmd + [q]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t) * 1000
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1000
    if r.returncode not in (0, 1):  # rg exits 1 when nothing matches
        sys.exit(f"bench_scale: {argv!r} failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    return dt, cpu
for _ in range(warm):
    run(qs[0])
rs = [run(q) for q in qs]
ts = [r[0] for r in rs]
with open(raw, "w", encoding="utf-8") as f:
    f.write("wall_ms\tcpu_ms\tquery\n")
    for q, (t, c) in zip(qs, rs):
        f.write(f"{t:.3f}\t{c:.1f}\t{q}\n")
s = sorted(ts)
p90 = s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]
print(f"{statistics.median(ts):.3f} {p90:.3f} {statistics.median(r[1] for r in rs):.1f}")
PY
}

# ---------------------------------------------------------------- vecsearch
bench_vecsearch() {
  local kind=$1 idx="$OUT/x.vsx" name=$LABEL
  if [ "$kind" = hnsw ]; then idx="$OUT/x-hnsw.vsx"; name="$LABEL hnsw"; fi
  local tag=${name// /-}
  if [ "${REUSE:-0}" = 1 ] && [ -s "$idx" ] && [ -s "$OUT/time-$tag.txt" ]; then
    log "$name: reusing $idx"
  else
    rm -f "$idx"
    log "$name: index (load $(cut -d' ' -f1 /proc/loadavg))"
    /usr/bin/time -f "%e %M" -o "$OUT/time-$tag.txt" \
      "$BIN" index "$CORPUS" --index "$idx" -q --kind "$kind" "${VS_INDEX_ARGS[@]}" \
      2>"$OUT/index-$tag.log"
  fi
  read -r secs kb <"$OUT/time-$tag.txt"
  local bytes
  bytes=$(stat -c %s "$idx")
  "$BIN" info --index "$idx" >"$OUT/info-$tag.txt" 2>&1 || true
  log "$name: $secs s, $kb KB peak, $bytes bytes; search (load $(cut -d' ' -f1 /proc/loadavg))"
  local lat
  lat=$(time_commands "$tag" -- "$BIN" search "{Q}" --index "$idx" --json "${VS_SEARCH_ARGS[@]}")
  read -r med p90 cpu <<<"$lat"
  echo "$name: index_bytes=$bytes build_s=$secs peak_kb=$kb search_median_ms=$med search_p90_ms=$p90 search_cpu_median_ms=$cpu" | tee -a "$OUT/raw.txt" >&2
  row "$name" "$bytes" "$secs" "$kb" "$med" "$p90" "$cpu"
}

if [ "${SKIP_VS:-0}" != 1 ]; then
  bench_vecsearch flat
  [ "${HNSW:-0}" = 1 ] && bench_vecsearch hnsw
fi

# ---------------------------------------------------------------- tantivy
if [ "${SKIP_TANTIVY:-0}" != 1 ]; then
  [ -x "$PEERS_PY" ] || { echo "bench_scale: $PEERS_PY missing: run scripts/install_peers.sh" >&2; exit 2; }
  TTAG=tantivy
  [ "$TANTIVY_TOKENIZER" = bigram ] && TTAG=tantivy-bigram
  TDIR="$OUT/$TTAG"
  if [ "${REUSE:-0}" = 1 ] && [ -s "$TDIR/meta.json" ] && [ -s "$OUT/time-$TTAG.txt" ]; then
    log "$TTAG: reusing $TDIR"
  else
    rm -rf "$TDIR"
    mkdir -p "$TDIR"
    log "$TTAG: index (load $(cut -d' ' -f1 /proc/loadavg))"
    # One document per non-empty line: "text" (indexed, stored) and "loc"
    # (path:line, stored only). Lines are streamed; 2 writer threads.
    /usr/bin/time -f "%e %M" -o "$OUT/time-$TTAG.txt" \
      "$PEERS_PY" - "$CORPUS" "$TDIR" "$TANTIVY_TOKENIZER" >"$OUT/index-$TTAG.log" 2>&1 <<'PY'
import os, sys, time
import tantivy
corpus, tdir, tok = sys.argv[1], sys.argv[2], sys.argv[3]
sb = tantivy.SchemaBuilder()
sb.add_text_field("text", stored=True, tokenizer_name="default" if tok == "default" else "bigram")
sb.add_text_field("loc", stored=True, index_option="basic", tokenizer_name="raw")
schema = sb.build()
index = tantivy.Index(schema, path=tdir)
if tok == "bigram":
    index.register_tokenizer("bigram", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 2, False)).filter(tantivy.Filter.lowercase()).build())
writer = index.writer(heap_size=256_000_000, num_threads=2)
t0 = time.perf_counter()
docs = 0
for dp, dn, fn in os.walk(corpus):
    dn.sort()
    for n in sorted(fn):
        if not n.endswith((".txt", ".md", ".markdown")):
            continue
        p = os.path.join(dp, n)
        rel = os.path.relpath(p, corpus)
        with open(p, encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f, 1):
                line = line.strip()
                if line:
                    writer.add_document(tantivy.Document(text=line, loc=f"{rel}:{i}"))
                    docs += 1
writer.commit()
writer.wait_merging_threads()
print(f"tantivy: {docs} documents in {time.perf_counter() - t0:.1f} s")
PY
  fi
  read -r secs kb <"$OUT/time-$TTAG.txt"
  bytes=$(du -sb "$TDIR" | cut -f1)
  log "$TTAG: $secs s, $kb KB peak, $bytes bytes; search"
  lat=$("$PEERS_PY" - "$TDIR" "$QFILE" "$WARMUP" "$OUT/latency-$TTAG.txt" "$TANTIVY_TOKENIZER" <<'PY'
import re, statistics, sys, time
import tantivy
tdir, qfile, warm, raw, tok = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
index = tantivy.Index.open(tdir)
if tok == "bigram":
    index.register_tokenizer("bigram", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 2, False)).filter(tantivy.Filter.lowercase()).build())
index.reload()
searcher = index.searcher()
qs = [q for q in open(qfile, encoding="utf-8").read().split("\n") if q]
special = re.compile(r'[+\-&|!(){}\[\]^"~*?:\\/<>=\']')
def run(q):
    t, c = time.perf_counter(), time.process_time()
    query = index.parse_query(special.sub(" ", q), ["text"])
    res = searcher.search(query, 10)
    docs = [searcher.doc(addr)["loc"] for _, addr in res.hits]
    return (time.perf_counter() - t) * 1000, res.count, len(docs), (time.process_time() - c) * 1000
for _ in range(warm):
    run(qs[0])
rows = [run(q) for q in qs]
with open(raw, "w", encoding="utf-8") as f:
    f.write("wall_ms\thits\tcpu_ms\tquery\n")
    for q, (t, count, n, c) in zip(qs, rows):
        f.write(f"{t:.4f}\t{count}\t{c:.4f}\t{q}\n")
ts = sorted(r[0] for r in rows)
p90 = ts[min(len(ts) - 1, int(round(0.9 * (len(ts) - 1))))]
hit = sum(1 for r in rows if r[1] > 0)
cpu = statistics.median(r[3] for r in rows)
print(f"{statistics.median(ts):.4f} {p90:.4f} {cpu:.4f} {hit}/{len(rows)}")
PY
)
  read -r med p90 cpu hits <<<"$lat"
  echo "$TTAG: index_bytes=$bytes build_s=$secs peak_kb=$kb search_median_ms=$med search_p90_ms=$p90 search_cpu_median_ms=$cpu (in process; queries with a hit: $hits) $(tail -n 1 "$OUT/index-$TTAG.log")" | tee -a "$OUT/raw.txt" >&2
  row "$TTAG (py, in-process query)" "$bytes" "$secs" "$kb" "$med" "$p90" "$cpu"
fi

# ---------------------------------------------------------------- ripgrep
if [ "${SKIP_RG:-0}" != 1 ]; then
  log "rg: search (load $(cut -d' ' -f1 /proc/loadavg))"
  lat=$(time_commands rg -- rg -c -F -e "{Q}" "$CORPUS")
  read -r med p90 cpu <<<"$lat"
  echo "rg -c -F: search_median_ms=$med search_p90_ms=$p90 search_cpu_median_ms=$cpu ($(rg --version | sed -n 1p))" | tee -a "$OUT/raw.txt" >&2
  row "rg -c -F (no index)" "-" "-" "-" "$med" "$p90" "$cpu"
fi

{
  echo "| subject | text | index | index/text | build s | MB/s | peak RSS | query median ms | query p90 ms | query CPU median ms |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  cat "$ROWS"
} | tee "$OUT/table.md"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
