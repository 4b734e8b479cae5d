#!/usr/bin/env python3
"""Generate a large synthetic multilingual corpus for benchmarks.

The words come from vecsearch's own sample corpus (data/sample), so the text
has real ja / zh-Hans / zh-Hant / fr / en vocabulary. Each passage draws
20-80 tokens from one language with a Zipf-like skew, which gives realistic
document frequencies. Deterministic for a given --seed.

    python3 scripts/gen_passages.py --n 100000 --out /tmp/p100k [--seed 1]

writes OUT/<lang>/part-NNNN.md files of 1,000 passages each, one paragraph
per line, blank lines between, plus OUT-queries.txt (--queries lines, default
1000) with 2-5 word queries drawn the same way.
"""
import argparse
import os
import random
import re
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANGS = ["ja", "zh-Hans", "zh-Hant", "fr", "en"]
CJK = {"ja", "zh-Hans", "zh-Hant"}


def vocabulary(lang):
    folder = os.path.join(ROOT, "data", "sample", lang)
    text = ""
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            text += f.read() + "\n"
    text = re.sub(r"^---.*?---", "", text, flags=re.S)
    if lang in CJK:
        # Runs of 1-4 CJK characters stand in for words.
        chars = [c for c in text if unicodedata.category(c).startswith("L") and ord(c) > 0x2E80]
        words = ["".join(chars[i:i + n]) for i, n in zip(range(0, len(chars), 2), [1, 2, 3, 4] * len(chars))]
    else:
        words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text)
    words = [w for w in words if w]
    return sorted(set(words))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--per-file", type=int, default=1000)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    vocab = {l: vocabulary(l) for l in LANGS}
    weights = {l: [1.0 / (i + 1) ** 0.9 for i in range(len(v))] for l, v in vocab.items()}
    for l in LANGS:
        rng.shuffle(vocab[l])

    def passage(lang, lo, hi):
        n = rng.randint(lo, hi)
        words = rng.choices(vocab[lang], weights[lang], k=n)
        if lang in CJK:
            # n counts characters in CJK, as the passage cutter does.
            out, size = [], 0
            for w in words:
                if size >= n:
                    break
                out.append(w)
                size += len(w)
            words = out
        sep = "" if lang in CJK else " "
        end = "。" if lang in CJK else "."
        return sep.join(words) + end

    per_lang = {l: 0 for l in LANGS}
    for i in range(a.n):
        lang = LANGS[i % len(LANGS)]
        idx = per_lang[lang]
        per_lang[lang] += 1
        folder = os.path.join(a.out, lang)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "part-%04d.md" % (idx // a.per_file))
        with open(path, "a", encoding="utf-8") as f:
            f.write(passage(lang, 20, 80) + "\n\n")
    with open(a.out.rstrip("/") + "-queries.txt", "w", encoding="utf-8") as f:
        for i in range(a.queries):
            lang = LANGS[i % len(LANGS)]
            f.write(passage(lang, 2, 5).rstrip("。.") + "\n")


if __name__ == "__main__":
    main()
