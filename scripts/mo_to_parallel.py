#!/usr/bin/env python3
"""Turns gettext catalogues (.mo) unpacked from Debian packages into aligned
JSON lines for `vecsearch lexicon learn`: one row per (catalogue, msgid)
in English (the pivot) and one per translation in ja, zh-Hans (zh_CN),
zh-Hant (zh_TW) and fr, sharing an `id`.

    python3 scripts/mo_to_parallel.py /work/parallel/root /work/parallel/gettext.jsonl

Strings are cleaned of what is not language: accelerator marks (_File,
&Open), printf and brace placeholders, markup tags, and keyboard hints like
"(_O)". Plural forms use the first (singular) msgid and msgstr. Identical
English strings from several catalogues are kept once per translation.
"""
import hashlib, json, os, re, struct, sys

LANGS = {"ja": "ja", "zh_CN": "zh-Hans", "zh_TW": "zh-Hant", "fr": "fr",
         "zh-CN": "zh-Hans", "zh-TW": "zh-Hant"}
# Where catalogues live: the system locale tree, and LibreOffice's own
# (resource/<lang>/LC_MESSAGES, with zh-CN/zh-TW spelt with a hyphen).
LOCALE_DIRS = ["usr/share/locale", "usr/lib/libreoffice/program/resource"]

def read_mo(path):
    data = open(path, "rb").read()
    if len(data) < 28:
        return {}
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic == 0x950412DE else ">" if magic == 0xDE120495 else None
    if end is None:
        return {}
    _, n, orig, trans = struct.unpack(end + "4I", data[4:20])
    out = {}
    for i in range(n):
        ol, oo = struct.unpack(end + "2I", data[orig + 8 * i: orig + 8 * i + 8])
        tl, to = struct.unpack(end + "2I", data[trans + 8 * i: trans + 8 * i + 8])
        msgid = data[oo:oo + ol]
        msgstr = data[to:to + tl]
        if not msgid:
            continue  # the header entry
        try:
            msgid = msgid.split(b"\0")[0].decode("utf-8")
            msgstr = msgstr.split(b"\0")[0].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if b"\x04" in data[oo:oo + ol]:
            msgid = msgid.split("\x04", 1)[1]  # drop the msgctxt
        if msgstr:
            out[msgid] = msgstr
    return out

HINT = re.compile(r"\((?:_|&)?[A-Za-z0-9]\)")
PLACEHOLDER = re.compile(r"%(?:\d+\$)?[-+ #0']*\d*(?:\.\d+)?(?:hh|h|ll|l|L|z|j|t|I64)?[a-zA-Z%]|\{[^{}]*\}|\$\{?\w+\}?")
TAG = re.compile(r"<[^<>]{1,40}>")

def clean(s):
    s = TAG.sub(" ", s)
    s = HINT.sub(" ", s)
    s = PLACEHOLDER.sub(" ", s)
    s = re.sub(r"(?<=\w)[_&](?=\w)|(?<!\w)[_&](?=\w)", "", s)
    s = re.sub(r"\s+", " ", s).strip()
    return s

def main():
    root, out = sys.argv[1], sys.argv[2]
    # catalogue name -> {lang: path}
    cats = {}
    for i, sub in enumerate(LOCALE_DIRS):
        locale = os.path.join(root, sub)
        for loc, tag in LANGS.items():
            d = os.path.join(locale, loc, "LC_MESSAGES")
            if not os.path.isdir(d):
                continue
            for f in sorted(os.listdir(d)):
                if f.endswith(".mo"):
                    # The first tree keeps its plain names (ids unchanged).
                    name = f[:-3] if i == 0 else "%s:%s" % (sub, f[:-3])
                    cats.setdefault(name, {})[tag] = os.path.join(d, f)
    seen = set()
    n_ids = n_rows = 0
    with open(out, "w", encoding="utf-8") as w:
        for cat in sorted(cats):
            per = {tag: read_mo(p) for tag, p in sorted(cats[cat].items())}
            ids = sorted(set().union(*[m.keys() for m in per.values()]))
            for msgid in ids:
                en = clean(msgid)
                if not re.search(r"[A-Za-z]{2}", en) or len(en) > 400:
                    continue
                rows = []
                for tag, m in per.items():
                    if msgid in m:
                        t = clean(m[msgid])
                        key = (en, tag, t)
                        if t and t != en and key not in seen:
                            seen.add(key)
                            rows.append((tag, t))
                if not rows:
                    continue
                rid = hashlib.sha1((cat + "\0" + msgid).encode()).hexdigest()[:16]
                w.write(json.dumps({"id": rid, "lang": "en", "text": en}, ensure_ascii=False) + "\n")
                for tag, t in rows:
                    w.write(json.dumps({"id": rid, "lang": tag, "text": t}, ensure_ascii=False) + "\n")
                n_ids += 1
                n_rows += len(rows)
    print("%d catalogues, %d English strings, %d translations -> %s" % (len(cats), n_ids, n_rows, out), file=sys.stderr)

main()
