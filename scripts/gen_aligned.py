#!/usr/bin/env python3
"""Generate data/sample/aligned.jsonl from the parallel sample files.

Usage:
    python3 scripts/gen_aligned.py            # (re)write data/sample/aligned.jsonl
    python3 scripts/gen_aligned.py --check    # exit 1 if the file is stale
    python3 scripts/gen_aligned.py --stats    # also print passage counts

A file name present under every language folder of data/sample/ (ja, zh-Hans,
zh-Hant, fr, en) is a parallel file: its passages are translations of each
other, paired by position.  A passage unit is any non-blank line that is not
YAML front matter, not a Markdown heading (`#`) and not a table separator row
(`|---|`): one paragraph line, one `- ` list item or one table row (the header
row included).  The k-th unit of every language gets the id `<stem>-<kk>`.

The parallel files are written so that the k-th unit sits on the same line in
every language; the script fails if the unit counts or line numbers differ, so
a translation that drifts out of step is caught.

Each output row: {"id", "lang", "file", "line_start", "line_end", "text"};
line numbers are 1-based and count every line of the file, front matter
included; line_start == line_end because every passage is one line.
"""

import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SAMPLE = os.path.join(ROOT, "data", "sample")
OUT = os.path.join(SAMPLE, "aligned.jsonl")
LANGS = ["ja", "zh-Hans", "zh-Hant", "fr", "en"]
TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def units(path):
    """Return [(line_no, text, kind)] for the passage units of a file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    i = 0
    if lines and lines[0].strip() == "---":
        j = 1
        while j < len(lines) and lines[j].strip() != "---":
            j += 1
        i = j + 1
    for n in range(i, len(lines)):
        s = lines[n]
        t = s.strip()
        if not t or t.startswith("#") or TABLE_SEP.match(t):
            continue
        if t.startswith("- "):
            kind = "item"
        elif t.startswith("|"):
            kind = "row"
        else:
            kind = "para"
        out.append((n + 1, s, kind))
    return out


def length_ok(text, kind):
    """Paragraph length rule: 20-80 words, or 40-150 CJK characters."""
    if kind != "para":
        return True
    cjk = sum(1 for ch in text if ord(ch) >= 0x3040 and not 0xFF00 <= ord(ch) <= 0xFF65
              and ch not in "、。「」『』（）・")
    if cjk >= 20:
        return 40 <= cjk <= 150
    words = len(text.split())
    return 20 <= words <= 80


def build():
    names = None
    for lang in LANGS:
        d = os.path.join(SAMPLE, lang)
        fs = {f for f in os.listdir(d) if f.endswith(".md")}
        names = fs if names is None else names & fs
    rows = []
    errors = []
    for name in sorted(names):
        stem = name[:-3]
        per_lang = {lang: units(os.path.join(SAMPLE, lang, name)) for lang in LANGS}
        ref = per_lang[LANGS[0]]
        for lang in LANGS[1:]:
            got = per_lang[lang]
            if [(n, k) for n, _, k in got] != [(n, k) for n, _, k in ref]:
                errors.append("%s: %s units %r differ from %s units %r" % (
                    name, lang, [(n, k) for n, _, k in got], LANGS[0],
                    [(n, k) for n, _, k in ref]))
        for idx in range(len(ref)):
            pid = "%s-%02d" % (stem, idx + 1)
            for lang in LANGS:
                if idx >= len(per_lang[lang]):
                    continue
                n, text, _ = per_lang[lang][idx]
                rows.append({
                    "id": pid,
                    "lang": lang,
                    "file": "data/sample/%s/%s" % (lang, name),
                    "line_start": n,
                    "line_end": n,
                    "text": text,
                })
    return rows, errors


def render(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def stats():
    total = 0
    bad = []
    for lang in LANGS:
        d = os.path.join(SAMPLE, lang)
        count = 0
        for name in sorted(os.listdir(d)):
            if not name.endswith(".md"):
                continue
            for n, text, kind in units(os.path.join(d, name)):
                count += 1
                if not length_ok(text, kind):
                    bad.append("%s/%s:%d" % (lang, name, n))
        print("%-8s %d passages" % (lang, count))
        total += count
    print("total    %d passages" % total)
    for b in bad:
        print("length out of range:", b)
    return not bad


def main(argv):
    rows, errors = build()
    if errors:
        for e in errors:
            print("error:", e, file=sys.stderr)
        return 1
    text = render(rows)
    if "--check" in argv:
        try:
            with open(OUT, encoding="utf-8") as f:
                cur = f.read()
        except FileNotFoundError:
            cur = None
        if cur != text:
            print("data/sample/aligned.jsonl is stale; run scripts/gen_aligned.py",
                  file=sys.stderr)
            return 1
        print("aligned.jsonl up to date (%d rows)" % len(rows))
    else:
        with open(OUT, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        ids = sorted({r["id"] for r in rows})
        print("wrote %s: %d rows, %d ids" % (os.path.relpath(OUT, ROOT), len(rows), len(ids)))
    if "--stats" in argv:
        if not stats():
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
