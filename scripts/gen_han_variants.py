#!/usr/bin/env python3
"""Generate data/han_variants.tsv and data/han_script.tsv from OpenCC's
character dictionaries (Apache-2.0).

Usage:
    python3 scripts/gen_han_variants.py DICT_DIR [--opencc-version X.Y.Z]
                                        [--out-dir data]

DICT_DIR is OpenCC's `data/dictionary` folder (from the OpenCC sdist on PyPI)
holding TSCharacters.txt, STCharacters.txt and JPShinjitaiCharacters.txt.
The older JPVariants.txt (traditional -> shinjitai, as shipped by the
`opencc-python-reimplemented` wheel) is used instead when
JPShinjitaiCharacters.txt is missing.

The OpenCC version is read from the PKG-INFO of the unpacked sdist (searched
upwards from DICT_DIR) unless --opencc-version is given.

Outputs (UTF-8, LF, sorted by code point of the first column):

han_variants.tsv   variant<TAB>simplified<TAB>source
    source = t2s   traditional character -> its first simplified candidate
                   (TSCharacters.txt)
    source = jp2s  Japanese shinjitai form -> simplified, via its traditional
                   form (JPShinjitaiCharacters.txt, then TSCharacters.txt);
                   shinjitai forms that OpenCC's Chinese dictionaries (ST/TS
                   characters and phrases) also use are left out, since
                   they are Chinese characters in their own right (予, 芸)
    Only single characters, only rows where variant != simplified; one row per
    variant (t2s wins over jp2s).

han_script.tsv     char<TAB>T  or  char<TAB>S
    T  used only in traditional writing: t2s maps it to a different character
       and it is not itself a simplified form of anything (not a t2s result,
       not an STCharacters key).
    S  used only in simplified writing: s2t maps it only to other characters
       and it is not itself a traditional character (not an s2t candidate,
       not a TSCharacters key).
    Characters whose TS entry only normalises a variant to a form s2t leaves
    alone (査 -> 查) make the target shared, not S.  Japanese shinjitai forms
    that Chinese does not use (広, 図) are in neither class.
"""

import argparse
import os
import re
import sys


def read_dict(path):
    """Return {key: [candidates...]} for single-character keys, keeping file
    order of candidates; candidates that are not single characters are
    dropped."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            key = parts[0].strip()
            cands = [c for c in parts[1].split() if len(c) == 1]
            if len(key) != 1 or not cands:
                continue
            lst = out.setdefault(key, [])
            for c in cands:
                if c not in lst:
                    lst.append(c)
    return out


def find_version(dict_dir):
    d = os.path.abspath(dict_dir)
    for _ in range(6):
        for name in ("PKG-INFO", "METADATA"):
            p = os.path.join(d, name)
            if os.path.isfile(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        m = re.match(r"Version:\s*(\S+)", line)
                        if m:
                            return m.group(1)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dict_dir")
    ap.add_argument("--opencc-version")
    ap.add_argument("--out-dir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data"))
    args = ap.parse_args(argv)

    version = args.opencc_version or find_version(args.dict_dir)
    if not version:
        sys.exit("cannot find the OpenCC version; pass --opencc-version")

    ts = read_dict(os.path.join(args.dict_dir, "TSCharacters.txt"))
    st = read_dict(os.path.join(args.dict_dir, "STCharacters.txt"))

    # shinjitai -> [traditional candidates]
    jp_path = os.path.join(args.dict_dir, "JPShinjitaiCharacters.txt")
    if os.path.isfile(jp_path):
        jp2t = read_dict(jp_path)
    else:
        legacy = read_dict(os.path.join(args.dict_dir, "JPVariants.txt"))
        jp2t = {}
        for trad, shins in legacy.items():
            for s in shins:
                jp2t.setdefault(s, [])
                if trad not in jp2t[s]:
                    jp2t[s].append(trad)

    def t2s(ch):
        c = ts.get(ch)
        return c[0] if c else ch

    # every character OpenCC's Chinese dictionaries use (keys, values and
    # phrases): a shinjitai form found here is written in Chinese too, with
    # its own meaning or as its own simplified form, so it gets no jp2s row
    zh_chars = set()
    for name in ("TSCharacters.txt", "STCharacters.txt", "TSPhrases.txt",
                 "STPhrases.txt"):
        p = os.path.join(args.dict_dir, name)
        if not os.path.isfile(p):
            continue
        with open(p, encoding="utf-8") as f:
            for line in f:
                if not line.startswith("#"):
                    zh_chars.update(ch for ch in line if ord(ch) > 0x2E7F)

    rows = {}  # variant -> (simplified, source)
    for trad, cands in ts.items():
        simp = cands[0]
        if simp != trad:
            rows[trad] = (simp, "t2s")
    for shin, trads in jp2t.items():
        if shin in rows:
            continue  # t2s wins
        # skip self-mappings (OpenCC keeps some compatibility entries with
        # the key itself as first candidate); take the first real traditional
        # form
        # form, preferring one that t2s changes (挙 -> 擧 舉: use 舉 -> 举)
        if shin in zh_chars:
            continue  # also a Chinese character in its own right (予, 芸, 叙)
        real = [t for t in trads if t != shin]
        if not real:
            continue
        trad = next((t for t in real if t2s(t) != t), real[0])
        simp = t2s(trad)
        if simp != shin:
            rows[shin] = (simp, "jp2s")

    # script classes.  "Simplified forms" are what t2s produces (first
    # candidates) plus the keys that s2t changes; "traditional forms" are the
    # keys that t2s changes plus every s2t candidate.  Non-first candidates and
    # TS entries that only normalise a variant (査 -> 查, 眞 -> 真) do not make
    # 查 or 真 simplified-only: s2t leaves them alone, so they are shared.
    s2t_changes = {ch for ch, cands in st.items() if ch not in cands}
    t2s_changes = {ch for ch, cands in ts.items() if cands[0] != ch}
    simp_forms = s2t_changes | {ts[ch][0] for ch in t2s_changes}
    trad_forms = set(t2s_changes)
    for cands in st.values():
        trad_forms.update(cands)
    script = {}
    for ch in t2s_changes:
        if ch not in simp_forms and ch not in st:
            script[ch] = "T"
    for ch in s2t_changes:
        if ch not in trad_forms and ch not in ts:
            script[ch] = "S"

    header = ("# generated by scripts/gen_han_variants.py from OpenCC %s "
              "(Apache-2.0); do not edit\n" % version)
    os.makedirs(args.out_dir, exist_ok=True)
    p1 = os.path.join(args.out_dir, "han_variants.tsv")
    with open(p1, "w", encoding="utf-8", newline="\n") as f:
        f.write(header)
        for v in sorted(rows, key=ord):
            s, src = rows[v]
            f.write("%s\t%s\t%s\n" % (v, s, src))
    p2 = os.path.join(args.out_dir, "han_script.tsv")
    with open(p2, "w", encoding="utf-8", newline="\n") as f:
        f.write(header)
        for ch in sorted(script, key=ord):
            f.write("%s\t%s\n" % (ch, script[ch]))

    nt = sum(1 for v in rows.values() if v[1] == "t2s")
    print("%s: %d rows (%d t2s, %d jp2s)" % (p1, len(rows), nt, len(rows) - nt))
    print("%s: %d rows (%d T, %d S)" % (
        p2, len(script), sum(1 for v in script.values() if v == "T"),
        sum(1 for v in script.values() if v == "S")))

    # sanity checks on well-known pairs
    expect = {"資": "资", "庫": "库", "體": "体", "軟": "软", "數": "数",
              "據": "据", "広": "广", "図": "图", "変": "变"}
    bad = [(k, v, rows.get(k)) for k, v in expect.items()
           if rows.get(k, (None,))[0] != v]
    for k in ("体", "数"):
        if k in rows:
            bad.append((k, "(absent)", rows[k]))
    if bad:
        sys.exit("sanity check failed: %r" % bad)


if __name__ == "__main__":
    main()
