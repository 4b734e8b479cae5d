#!/usr/bin/env python3
"""List Rust `fn` bodies longer than a limit (default 80 lines).

The team guide asks that no function in src/ run past about 80 lines
unless it is a linear checklist; this finds the candidates by brace
matching (strings, chars and comments are skipped so their braces do not
count). A function whose body or doc comment holds the marker `checklist:` is
listed apart, as a declared exception.

    scripts/long_functions.py [--limit N] [PATH ...]   # default: src
"""
import argparse
import os
import re
import sys

FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")


def strip(src):
    """Blank out comments, strings and char literals, keeping newlines."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', src[i:i + 260]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'r(#*)"', src[i:])
            end = '"' + m.group(1)
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "'":
            # char literal ('a', '\n', '\u{..}', '{') or a lifetime ('a)
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", src[i:i + 12])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    code = strip(raw)
    raw_lines = raw.split("\n")
    for m in FN.finditer(code):
        # the body is the first `{` after the signature, unless a `;` ends it first
        j = m.end()
        depth_paren = 0
        while j < len(code):
            ch = code[j]
            if ch in "(<[":
                depth_paren += 1
            elif ch in ")>]":
                depth_paren -= 1
            elif ch == ";" and depth_paren <= 0:
                j = -1
                break
            elif ch == "{" and depth_paren <= 0:
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        depth, k = 0, j
        while k < len(code):
            if code[k] == "{":
                depth += 1
            elif code[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        start = code.count("\n", 0, m.start()) + 1
        end = code.count("\n", 0, k) + 1
        # the body and the comments and attributes just above it
        top = start - 1
        while top > 0 and raw_lines[top - 1].strip().startswith(("//", "#[")):
            top -= 1
        body = "\n".join(raw_lines[top:end])
        yield m.group(1), start, end - start + 1, "checklist:" in body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("paths", nargs="*", default=["src"])
    args = ap.parse_args()
    long, lists = [], []
    for root in args.paths:
        files = [root] if os.path.isfile(root) else [
            os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".rs")]
        for path in sorted(files):
            for name, line, length, checklist in functions(path):
                if length > args.limit:
                    (lists if checklist else long).append((length, f"{path}:{line}", name))
    for length, where, name in sorted(long, reverse=True):
        print(f"{length:5} {where} {name}")
    for length, where, name in sorted(lists, reverse=True):
        print(f"{length:5} {where} {name} (checklist)")
    return 1 if long else 0


if __name__ == "__main__":
    sys.exit(main())
