#!/usr/bin/env python3
"""Draws a deterministic query set for the scale benchmark (issue 10) from the
corpus that scripts/fetch_debian_corpus.sh builds.

  usage: make_scale_queries.py [CORPUS] [--out PREFIX] [--langs ja,zh-Hans,...]
                               [--per-lang N] [--seed S]

For each language folder CORPUS/<lang>/, N queries: pick a file (weighted by
its size, so every passage is about equally likely), then a passage-like line
of it, then a short span of that line: 2-4 words for space-separated
languages, 3-8 characters of one CJK run for ja and zh (with at least one Han
or katakana character). Spans that are mostly punctuation or digits, that
start with '-', or that repeat an earlier query are drawn again. The queries
are shuffled with the same seed, so any prefix mixes the languages.
Writes PREFIX.txt (one query per line) and PREFIX.jsonl ({"query", "lang"}).
Defaults: CORPUS /work/corpus/debian, PREFIX /work/corpus/queries,
--langs ja,zh-Hans,zh-Hant,fr,en,de,es,ru, --per-lang 40, --seed 10.
"""

import argparse
import bisect
import json
import os
import random
import re
import sys

CJK_LANGS = ("ja", "zh")
CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{3,}")
HAN_OR_KATA = re.compile(r"[\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
EDGE_PUNCT = "\"'`.,;:!?()[]{}<>«»“”‘’„*_|/\\=+~#&^%$@"


def is_cjk_lang(lang):
    return lang.split("-")[0] in CJK_LANGS


def list_files(root):
    files = []
    for dp, dn, fn in os.walk(root):
        dn.sort()
        for n in sorted(fn):
            if n.endswith(".txt"):
                p = os.path.join(dp, n)
                files.append((p, os.path.getsize(p)))
    files.sort()
    return files


def letter_share(s):
    chars = [c for c in s if not c.isspace()]
    return sum(c.isalpha() for c in chars) / len(chars) if chars else 0.0


def passage_lines(text, cjk):
    out = []
    for ln in text.split("\n"):
        ln = ln.strip()
        if cjk:
            if len(ln) >= 10 and CJK_RUN.search(ln):
                out.append(ln)
        elif len(ln) >= 30 and len(ln.split()) >= 5 and letter_share(ln) >= 0.7:
            out.append(ln)
    return out


def span_words(line, rng):
    words = [w.strip(EDGE_PUNCT) for w in line.split()]
    words = [w for w in words if w]
    n = rng.randint(2, 4)
    if len(words) < n:
        return None
    i = rng.randrange(len(words) - n + 1)
    span = words[i:i + n]
    if any(w.startswith("-") for w in span):
        return None
    if not all(any(c.isalpha() for c in w) for w in span):
        return None
    q = " ".join(span)
    if letter_share(q) < 0.8 or len(q) < 6:
        return None
    return q


def span_cjk(line, rng):
    runs = [m.group(0) for m in CJK_RUN.finditer(line)]
    if not runs:
        return None
    run = rng.choice(runs)
    n = rng.randint(3, min(8, len(run)))
    i = rng.randrange(len(run) - n + 1)
    q = run[i:i + n]
    return q if HAN_OR_KATA.search(q) else None


def draw(lang, files, n, rng, seen):
    sizes, acc = [], 0
    for _, s in files:
        acc += s
        sizes.append(acc)
    cjk = is_cjk_lang(lang)
    out, tries = [], 0
    while len(out) < n and tries < n * 200:
        tries += 1
        k = bisect.bisect_right(sizes, rng.randrange(acc))
        with open(files[k][0], encoding="utf-8", errors="replace") as f:
            lines = passage_lines(f.read(), cjk)
        if not lines:
            continue
        line = rng.choice(lines)
        q = span_cjk(line, rng) if cjk else span_words(line, rng)
        if q and q.lower() not in seen:
            seen.add(q.lower())
            out.append(q)
    if len(out) < n:
        print(f"make_scale_queries: only {len(out)} queries for {lang}", file=sys.stderr)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", default="/work/corpus/debian")
    ap.add_argument("--out", default="/work/corpus/queries", help="output prefix (.txt and .jsonl)")
    ap.add_argument("--langs", default="ja,zh-Hans,zh-Hant,fr,en,de,es,ru")
    ap.add_argument("--per-lang", type=int, default=40)
    ap.add_argument("--seed", type=int, default=10)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rows, seen = [], set()
    for lang in a.langs.split(","):
        files = [f for f in list_files(os.path.join(a.corpus, lang)) if f[1] > 0]
        if not files:
            sys.exit(f"make_scale_queries: no .txt files under {a.corpus}/{lang}")
        rows += [(q, lang) for q in draw(lang, files, a.per_lang, rng, seen)]
    rng.shuffle(rows)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out + ".txt", "w", encoding="utf-8") as f:
        f.writelines(q + "\n" for q, _ in rows)
    with open(a.out + ".jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"query": q, "lang": l}, ensure_ascii=False) + "\n" for q, l in rows)
    langs = sorted({l for _, l in rows})
    print(f"make_scale_queries: {len(rows)} queries in {len(langs)} languages ({', '.join(langs)}) "
          f"-> {a.out}.txt, {a.out}.jsonl", file=sys.stderr)


if __name__ == "__main__":
    main()
