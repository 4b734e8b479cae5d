#!/usr/bin/env python3
"""Turns unpacked Debian documentation packages into plain UTF-8 text for the
scale benchmark corpus (issue 10); scripts/fetch_debian_corpus.sh calls it.

  usage: debian_corpus_text.py ROOT OUT [--jobs N] [--force]

ROOT holds one folder per unpacked package (ROOT/<package>/usr/...), as
fetch_debian_corpus.sh lays it out. Writes OUT/<lang>/<source>/... .txt:
  * man pages (any package's usr/share/man) rendered with `man -l` at 80
    columns, overstrikes and escapes stripped, header/footer lines dropped;
  * LibreOffice help (usr/share/libreoffice/help/<lang>/text/**.html);
  * every other package's HTML (the Debian manuals), tags, scripts, styles
    and navigation dropped.
Headings, paragraphs, list items, table rows and <pre> blocks become blocks
separated by one blank line; no line is longer than MAX_LINE characters.
Files are visited in sorted order and each output depends on its input only,
so runs are deterministic. An existing output is kept unless --force; output
is written to a temporary name and renamed. Files that render empty are
skipped. Standard library only.
"""

import argparse
import concurrent.futures as cf
import functools
import gzip
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

MAX_LINE = 1000

LANGS = set(
    "af ar ast be bg bn br bs ca cs cy da de dz el en eo es et eu fa fi fr ga gl gu he hi hr hu "
    "hy id is it ja ka kk km kn ko lt lv mk ml mn mr ms nb ne nl nn oc om pa pl pt ro ru si sk "
    "sl sq sr sv ta te th tr uk ur uz vi zh".split()
)
LOCALE_RE = re.compile(r"^([a-z]{2,3})(?:[-_]([A-Za-z]{2,4}))?(?:@\w+)?(?:\.[\w-]+)?$")


def norm_lang(tag):
    """ja-JP -> ja, zh_CN -> zh-Hans, zh-TW -> zh-Hant, pt-BR -> pt; None if unknown."""
    m = LOCALE_RE.match(tag)
    if not m or m.group(1).lower() not in LANGS:
        return None
    base = m.group(1).lower()
    region = (m.group(2) or "").lower()
    if base == "zh":
        return "zh-Hant" if region in ("tw", "hk", "mo", "hant") else "zh-Hans"
    return base


def pkg_lang(pkg):
    """Language named by a package's suffix (debian-reference-zh-tw -> zh-Hant)."""
    parts = pkg.split("-")
    for n in (2, 1):
        if len(parts) > n:
            lang = norm_lang("-".join(parts[-n:]))
            if lang and not (n == 1 and parts[-1] in ("dev", "doc", "common")):
                return lang
    return None


# ---------------------------------------------------------------- text tidy

CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
OVERSTRIKE_RE = re.compile(r".\x08")
WS_RE = re.compile(r"\s+")
BREAK_CHARS = " 。．！？；，、.!?;,)"


def wrap_long(line, limit=MAX_LINE):
    """Cut a line longer than `limit` at a space or punctuation (else hard)."""
    out = []
    while len(line) > limit:
        cut = max(line.rfind(c, limit // 2, limit) for c in BREAK_CHARS)
        cut = limit if cut < 0 else cut + 1
        out.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    if line:
        out.append(line)
    return out


def join_blocks(blocks):
    """Blocks (lists of lines) -> text, one blank line between blocks."""
    parts = []
    for lines in blocks:
        kept = []
        for ln in lines:
            kept.extend(wrap_long(ln))
        if kept:
            parts.append("\n".join(kept))
    return "\n\n".join(parts) + "\n" if parts else ""


def tidy_man(raw):
    text = ANSI_RE.sub("", raw)
    while "\x08" in text:
        new = OVERSTRIKE_RE.sub("", text)
        if new == text:
            text = text.replace("\x08", "")
            break
        text = new
    text = CTRL_RE.sub("", text.expandtabs(8))
    lines = [ln.rstrip() for ln in text.split("\n")]
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    # Page header "LS(1)  User Commands  LS(1)" and footer "... LS(1)".
    for i in (nonempty[:1] + nonempty[-1:]) if nonempty else []:
        if re.search(r"\([0-9a-zA-Z]+\)\s*$", lines[i]) or re.match(r"^\S+\([0-9][a-z]*\)", lines[i].strip()):
            lines[i] = ""
    blocks, cur = [], []
    for ln in lines:
        if ln.strip():
            cur.append(ln)
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    # Dedent the whole page by its smallest indent.
    indent = min((len(ln) - len(ln.lstrip()) for b in blocks for ln in b), default=0)
    blocks = [[ln[indent:] for ln in b] for b in blocks]
    return join_blocks(blocks)


# ---------------------------------------------------------------- HTML -> text

SKIP_TAGS = {
    "script", "style", "head", "nav", "header", "aside", "footer", "noscript", "form", "button",
    "select", "textarea", "svg", "template", "iframe", "object", "math",
}
SKIP_CLASSES = {
    "navheader", "navfooter", "sphinxsidebar", "related", "footer", "headerlink", "breadcrumbs",
    "toc-backref", "debug", "docnav",
}
SKIP_IDS = {"banner", "TopLeftHeader", "searchbox"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
BLOCK = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "pre", "tr", "table", "ul", "ol", "dl",
    "blockquote", "section", "article", "main", "caption", "figcaption", "figure", "hr", "title", "body",
    "address", "center", "td", "th", "thead", "tbody", "tfoot", "details", "summary", "fieldset", "legend",
}


class Extractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks = []
        self.buf = []
        self.skip_tag = None
        self.skip_depth = 0
        self.pre = 0

    def flush(self):
        raw = "".join(self.buf)
        self.buf = []
        if self.pre:
            lines = [CTRL_RE.sub("", ln.expandtabs(8)).rstrip() for ln in raw.split("\n")]
            while lines and not lines[0].strip():
                lines.pop(0)
            while lines and not lines[-1].strip():
                lines.pop()
            # A blank line inside <pre> would split the block: drop it.
            lines = [ln for ln in lines if ln.strip()]
        else:
            lines = [WS_RE.sub(" ", CTRL_RE.sub(" ", ln)).strip() for ln in raw.split("\n\x00")]
            lines = [ln for ln in lines if ln]
        if lines:
            self.blocks.append(lines)

    def handle_starttag(self, tag, attrs):
        if self.skip_tag:
            if tag == self.skip_tag and tag not in VOID:
                self.skip_depth += 1
            return
        classes, ident = set(), None
        for k, v in attrs:
            if k == "class" and v:
                classes.update(v.split())
            elif k == "id":
                ident = v
        if tag in SKIP_TAGS or (classes & SKIP_CLASSES) or ident in SKIP_IDS:
            if tag not in VOID:
                self.skip_tag, self.skip_depth = tag, 1
            return
        if tag == "br":
            if self.pre:
                self.buf.append("\n")
            else:
                self.buf.append("\n\x00")
            return
        if tag in BLOCK:
            self.flush()
            if tag == "pre":
                self.pre += 1

    def handle_startendtag(self, tag, attrs):
        if tag in VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag in BLOCK:
            self.flush()
            if tag == "pre" and self.pre:
                self.pre -= 1
        elif tag in ("td", "th"):
            self.buf.append(" ")

    def handle_data(self, data):
        if not self.skip_tag:
            self.buf.append(data)

    def text(self):
        self.flush()
        return join_blocks(self.blocks)


CHARSET_RE = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


def decode_html(data):
    m = CHARSET_RE.search(data[:4096])
    enc = m.group(1).decode("ascii", "replace") if m else "utf-8"
    try:
        return data.decode(enc, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def html_to_text(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    p = Extractor()
    p.feed(decode_html(data))
    p.close()
    return p.text()


# ---------------------------------------------------------------- man pages

# A few pages send groff into an endless loop (zh df.1, smb.conf.5).
MAN_TIMEOUT = 20
MAN_ENV = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", MANWIDTH="80", GROFF_NO_SGR="1", MAN_DISABLE_SECCOMP="1")
MAN_ENV.pop("MAN_KEEP_FORMATTING", None)
MAN_ENV.pop("MANPAGER", None)
MAN_ENV.pop("PAGER", None)


def is_so_redirect(path):
    try:
        with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
            head = f.read(4096)
    except (OSError, EOFError):
        return True
    lines = [ln.strip() for ln in head.split(b"\n") if ln.strip() and not ln.startswith((b'.\\"', b"'\\\""))]
    return len(lines) <= 2 and any(ln.startswith(b".so ") for ln in lines)


def man_to_text(path):
    if is_so_redirect(path):
        return ""
    try:
        r = subprocess.run(
            ["man", "--nj", "--nh", "-E", "UTF-8", "-l", path],
            env=MAN_ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=MAN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return ""
    return tidy_man(r.stdout.decode("utf-8", errors="replace"))


# ---------------------------------------------------------------- jobs

def find_jobs(root):
    """(kind, src, out_rel) for every document, sorted."""
    jobs = []
    for pkg in sorted(os.listdir(root)):
        proot = os.path.join(root, pkg)
        if not os.path.isdir(proot):
            continue
        plang = pkg_lang(pkg)
        for dirpath, dirnames, filenames in os.walk(proot):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, proot)
            parts = rel_dir.split(os.sep)
            for fn in sorted(filenames):
                src = os.path.join(dirpath, fn)
                if os.path.islink(src) or not os.path.isfile(src):
                    continue
                # man pages: usr/share/man/[<locale>/]man<N>/<page>
                if parts[:3] == ["usr", "share", "man"] and len(parts) >= 4:
                    if len(parts) == 4 and parts[3].startswith("man"):
                        lang, sect = "en", parts[3]
                    elif len(parts) == 5 and parts[4].startswith("man"):
                        lang, sect = norm_lang(parts[3]), parts[4]
                    else:
                        continue
                    if not lang:
                        continue
                    name = fn[:-3] if fn.endswith(".gz") else fn
                    jobs.append(("man", src, os.path.join(lang, "man", pkg, sect, name + ".txt")))
                    continue
                if not (fn.endswith(".html") or fn.endswith(".htm") or fn.endswith(".html.gz")):
                    continue
                if fn in ("search.html", "genindex.html", "noscript.html", "py-modindex.html"):
                    continue
                if "_sources" in parts or "_static" in parts:
                    continue
                stem = re.sub(r"\.(html?|html\.gz)$", "", fn)
                # LibreOffice help: usr/share/libreoffice/help/<lang>/text/...
                if parts[:4] == ["usr", "share", "libreoffice", "help"] and len(parts) >= 6 and parts[5] == "text":
                    lang = norm_lang(parts[4])
                    if lang:
                        out = os.path.join(lang, "libreoffice", parts[4], *parts[6:], stem + ".txt")
                        jobs.append(("html", src, out))
                    continue
                if parts[:3] == ["usr", "share", "libreoffice"]:
                    continue
                # Manuals: the language is a path component (ja-JP/, fr/),
                # a file suffix (ch01.zh-tw.html), or the package's suffix.
                lang = None
                m = re.match(r"^(.*)\.([a-z]{2,3}(?:[-_][A-Za-z]{2,4})?)$", stem)
                if m and norm_lang(m.group(2)):
                    lang = norm_lang(m.group(2))
                if not lang:
                    for comp in reversed(parts):
                        lang = norm_lang(comp)
                        if lang:
                            break
                lang = lang or plang or "en"
                jobs.append(("html", src, os.path.join(lang, "manuals", pkg, rel_dir, stem + ".txt")))
    jobs.sort(key=lambda j: j[2])
    return jobs


def run_job(job, out_root, force, known_empty=frozenset()):
    kind, src, rel = job
    dst = os.path.normpath(os.path.join(out_root, rel))
    if not force and (os.path.exists(dst) or rel in known_empty):
        return "kept"
    try:
        text = man_to_text(src) if kind == "man" else html_to_text(src)
    except Exception as e:  # a broken page must not stop the corpus
        print(f"debian_corpus_text: {src}: {type(e).__name__}: {e}", file=sys.stderr)
        return "error"
    if not text.strip():
        if os.path.exists(dst):
            os.remove(dst)
        return "empty"
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, dst)
    return "written"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--force", action="store_true", help="re-render files that already exist")
    a = ap.parse_args()
    jobs = find_jobs(a.root)
    # Two documents mapping to one output name would make the result depend
    # on timing: keep the first in sorted source order.
    seen, uniq = set(), []
    for j in sorted(jobs, key=lambda j: (j[2], j[1])):
        if j[2] not in seen:
            seen.add(j[2])
            uniq.append(j)
    counts = {}
    # Sources that rendered empty before are listed in a hidden file (hidden
    # files are not indexed) and not tried again unless --force.
    empty_list = os.path.join(a.out, ".empty-sources")
    known_empty = set()
    if os.path.exists(empty_list) and not a.force:
        with open(empty_list, encoding="utf-8") as f:
            known_empty = {ln.rstrip("\n") for ln in f if ln.strip()}
    work = functools.partial(run_job, out_root=a.out, force=a.force, known_empty=frozenset(known_empty))
    empties = set(known_empty)
    with cf.ProcessPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for n, (job, status) in enumerate(zip(uniq, ex.map(work, uniq, chunksize=16)), 1):
            counts[status] = counts.get(status, 0) + 1
            if status == "empty":
                empties.add(job[2])
            if n % 2000 == 0:
                print(f"debian_corpus_text: {n}/{len(uniq)} documents", file=sys.stderr)
    os.makedirs(a.out, exist_ok=True)
    with open(empty_list, "w", encoding="utf-8") as f:
        f.writelines(r + "\n" for r in sorted(empties))
    print("debian_corpus_text: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
