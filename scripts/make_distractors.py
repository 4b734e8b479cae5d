#!/usr/bin/env python3
"""Writes a distractor corpus for the cross-language benchmark: the longer
gettext strings (ja, zh-Hans, zh-Hant, fr, en) from the parallel file made
by scripts/mo_to_parallel.py, one paragraph each, 200 per file, outside the
repository. Indexed together with the seeds, they make the dense candidate
search matter (BENCHMARKS.md).

    python3 scripts/make_distractors.py /work/parallel/gettext.jsonl /work/parallel/distract 4000
"""
import json, os, random, sys

src, out, per_lang = sys.argv[1], sys.argv[2], int(sys.argv[3])
by_lang = {}
for line in open(src, encoding="utf-8"):
    r = json.loads(line)
    if len(r["text"]) >= (30 if r["lang"] in ("ja", "zh-Hans", "zh-Hant") else 60):
        by_lang.setdefault(r["lang"], []).append(r["text"])
rng = random.Random(7)
os.makedirs(out, exist_ok=True)
for lang, texts in sorted(by_lang.items()):
    texts = sorted(set(texts))
    rng.shuffle(texts)
    texts = texts[:per_lang]
    for i in range(0, len(texts), 200):
        with open(os.path.join(out, "%s-%03d.txt" % (lang, i // 200)), "w", encoding="utf-8") as f:
            f.write("\n\n".join(t.replace("\n", " ") for t in texts[i:i + 200]) + "\n")
    print(lang, len(texts), file=sys.stderr)
