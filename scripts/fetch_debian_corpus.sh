#!/usr/bin/env bash
# Builds the scale benchmark corpus of issue 10 from Debian documentation
# packages: man pages in many languages, LibreOffice help and the Debian
# manuals, fetched with `apt-get download`, unpacked with `dpkg-deb -x` and
# rendered to plain UTF-8 .txt files (blocks separated by blank lines) by
# scripts/debian_corpus_text.py. For benchmarks only: never commit the output.
#
#   usage: scripts/fetch_debian_corpus.sh [OUT] [CACHE]
#          OUT   text corpus, one folder per language   (default /work/corpus/debian)
#          CACHE downloaded .debs and unpacked packages  (default /work/corpus-cache)
#   env:   JOBS=N      render with N processes (default: number of CPUs)
#          FORCE=1     re-render text files that already exist
#
# Idempotent: packages already downloaded or unpacked are reused, and text
# files that exist are kept (FORCE=1 redoes them). Deterministic: packages and
# files are processed in sorted order and each output depends on its input only.
set -euo pipefail

usage() { sed -n '8,13p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -le 2 ] || { usage >&2; exit 2; }

OUT=${1:-/work/corpus/debian}
CACHE=${2:-/work/corpus-cache}
JOBS=${JOBS:-$(nproc)}
HERE=$(cd "$(dirname "$0")" && pwd)

# The packages, by source. A name apt does not know is skipped with a warning.
MAN_PKGS=(
  manpages manpages-dev
  manpages-ja manpages-ja-dev manpages-zh
  manpages-fr manpages-fr-dev manpages-de manpages-de-dev
  manpages-es manpages-es-dev manpages-it manpages-it-dev
  manpages-pl manpages-pl-dev manpages-ru manpages-ru-dev
  manpages-pt-br manpages-pt-br-dev manpages-nl manpages-nl-dev
  manpages-uk manpages-vi
)
LO_PKGS=(
  libreoffice-help-en-us libreoffice-help-ja libreoffice-help-zh-cn libreoffice-help-zh-tw
  libreoffice-help-fr libreoffice-help-de libreoffice-help-es libreoffice-help-it
  libreoffice-help-pt-br libreoffice-help-ru
)
MANUAL_PKGS=(
  debian-reference-en debian-reference-ja debian-reference-zh-cn debian-reference-zh-tw
  debian-reference-fr debian-reference-de debian-reference-es debian-reference-it
  debian-reference-pt debian-reference-pt-br debian-reference-id
  debian-handbook harden-doc debian-history
  maint-guide maint-guide-ja maint-guide-zh-cn maint-guide-zh-tw maint-guide-fr maint-guide-de
  maint-guide-es maint-guide-it maint-guide-ru maint-guide-ca maint-guide-vi
  debian-faq debian-faq-ja debian-faq-zh-cn debian-faq-fr debian-faq-de debian-faq-it
  debian-faq-ru debian-faq-pt debian-faq-nl debian-faq-ko
  developers-reference developers-reference-ja developers-reference-fr developers-reference-de
  developers-reference-it developers-reference-ru
  debian-policy debian-policy-ja
)

log() { printf 'fetch_debian_corpus: %s\n' "$*" >&2; }

# -- tools
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
need=()
command -v man >/dev/null || need+=(man-db)
command -v groff >/dev/null || need+=(groff-base)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  $SUDO apt-get install -y -q "${need[@]}"
fi
# apt-get download as root drops to the _apt user, which cannot write CACHE.
APT_OPTS=()
[ "$(id -u)" = 0 ] && APT_OPTS=(-o APT::Sandbox::User=root)

mkdir -p "$CACHE/debs" "$CACHE/root" "$OUT"

# -- download (only what is missing)
mapfile -t ALL < <(printf '%s\n' "${MAN_PKGS[@]}" "${LO_PKGS[@]}" "${MANUAL_PKGS[@]}" | sort -u)
missing=()
for p in "${ALL[@]}"; do
  compgen -G "$CACHE/debs/${p}_*.deb" >/dev/null && continue
  if apt-cache show --no-all-versions "$p" >/dev/null 2>&1; then
    missing+=("$p")
  else
    log "warning: apt knows no package $p (run apt-get update?), skipped"
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading ${#missing[@]} packages into $CACHE/debs"
  (cd "$CACHE/debs" && apt-get download -q "${APT_OPTS[@]}" "${missing[@]}")
fi

# -- unpack (a package is re-unpacked when its .deb changed)
for p in "${ALL[@]}"; do
  deb=$(compgen -G "$CACHE/debs/${p}_*.deb" | sort | tail -n 1 || true)
  [ -n "$deb" ] || continue
  stamp="$CACHE/root/$p/.unpacked"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(basename "$deb")" ]; then continue; fi
  rm -rf "${CACHE:?}/root/$p"
  mkdir -p "$CACHE/root/$p"
  dpkg-deb -x "$deb" "$CACHE/root/$p"
  basename "$deb" >"$stamp"
done
# Only the listed packages are rendered, even if CACHE holds others.
REN="$CACHE/render-root"
rm -rf "$REN"
mkdir -p "$REN"
for p in "${ALL[@]}"; do
  [ -d "$CACHE/root/$p" ] && ln -s "$CACHE/root/$p" "$REN/$p"
done

# -- render
log "rendering to $OUT with $JOBS processes"
FORCE_ARG=()
[ "${FORCE:-0}" = 1 ] && FORCE_ARG=(--force)
python3 "$HERE/debian_corpus_text.py" "$REN" "$OUT" --jobs "$JOBS" "${FORCE_ARG[@]}"
find "$OUT" -name '*.tmp' -type f -delete

# -- sanity summary
python3 - "$OUT" <<'PY'
import os, sys
out = sys.argv[1]
rows, total_b, total_f, bad = [], 0, 0, []
for lang in sorted(os.listdir(out)):
    d = os.path.join(out, lang)
    if not os.path.isdir(d):
        continue
    b = f = 0
    by_src = {}
    for dp, dn, fn in os.walk(d):
        dn.sort()
        for n in sorted(fn):
            if not n.endswith(".txt"):
                continue
            p = os.path.join(dp, n)
            s = os.path.getsize(p)
            b += s
            f += 1
            src = os.path.relpath(p, d).split(os.sep)[0]
            by_src[src] = by_src.get(src, 0) + s
            if s == 0:
                bad.append(p + " (empty)")
            elif len(bad) < 20:
                with open(p, "rb") as fh:
                    data = fh.read()
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    bad.append(p + " (not UTF-8)")
                    continue
                if max(map(len, text.split("\n"))) > 1000:
                    bad.append(p + " (line over 1000 chars)")
    rows.append((lang, f, b, by_src))
    total_b += b
    total_f += f
print(f"{'lang':8s} {'files':>7s} {'bytes':>12s}  by source (MB)")
for lang, f, b, by_src in rows:
    srcs = ", ".join(f"{k} {v/1e6:.1f}" for k, v in sorted(by_src.items()))
    print(f"{lang:8s} {f:7d} {b:12d}  {srcs}")
print(f"{'total':8s} {total_f:7d} {total_b:12d}  ({total_b/1e6:.1f} MB in {len(rows)} languages)")
big = [r[0] for r in rows if r[2] >= 1_000_000]
ok = total_b >= 150_000_000 and len(big) >= 8 and all(
    any(l == want or l.startswith(want + "-") for l in big) for want in ("ja", "zh", "fr"))
for line in bad[:20]:
    print("problem:", line)
print("sanity:", "OK" if ok and not bad else "CHECK",
      f"(>=150 MB: {total_b >= 150_000_000}; languages with >=1 MB: {len(big)}; ja/zh/fr present)")
sys.exit(0 if ok and not bad else 1)
PY
