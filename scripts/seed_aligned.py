#!/usr/bin/env python3
"""Writes an aligned JSON-lines file for the shared seed articles (000 ja,
001 zh-Hans, 002 zh-Hant, 003 fr), whose content lines 13-40 are line-aligned
translations, for `vecsearch eval crosslang`. The output goes wherever you
say (never into the repository: the seeds are not ours to copy).

    python3 scripts/seed_aligned.py ../shared/corpus/seeds /tmp/seeds.jsonl
"""
import glob, json, os, sys

LANGS = {"000": "ja", "001": "zh-Hans", "002": "zh-Hant", "003": "fr"}

def main():
    seeds, out = sys.argv[1], sys.argv[2]
    rows = []
    for prefix, lang in LANGS.items():
        (path,) = glob.glob(os.path.join(seeds, prefix + "_*.txt"))
        lines = open(path, encoding="utf-8").read().split("\n")
        for n in range(13, 41):
            text = lines[n - 1]
            if text.strip():
                rows.append({"id": "line-%d" % n, "lang": lang, "file": os.path.basename(path),
                             "line_start": n, "line_end": n, "text": text})
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

main()
