#!/usr/bin/env python3
"""test/sizes.py [SRCDIR] -- the size limits of src/*.c (`make lint`).

  * no file has more than MAX_FILE_LINES lines, and
  * no top-level block (a function, or an initialised table or a type
    defined in a .c file) has more than MAX_BLOCK_LINES lines.

The sources are in PostgreSQL style, so a top-level block is found by its
braces at column 0: it opens with a line that is just "{" (a function, a
type) or with a declaration at column 0 that ends in "{" (an initialised
table, "... = {"), and it ends at the next line that starts with "}".  Its
size counts from the first line of its declaration (for a function, the
return type on the line above its name) to that closing brace.  The
declaration is the run of non-blank lines above the "{" up to a comment, a
preprocessor line, a ";" or the end of the previous block.

Declarative tables are data, not code: list the ones that may be longer in
EXEMPT, with the reason.  Exit status 1 on any violation, with one line per
offender (file:line, name, size, limit).
"""
import os
import re
import sys

MAX_FILE_LINES = 600
MAX_BLOCK_LINES = 80

# (file, name): why it may be longer than MAX_BLOCK_LINES
EXEMPT = {
    ("kinds.c", "po_kinds"): "the table of event kinds, one entry per kind",
    ("outcome_classify.c", "po_outcome_rules"):
        "the table of outcome rules, one entry per server error report",
}

IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def declaration_start(lines, brace):
    """Index of the first line of the declaration above lines[brace]."""
    i = brace
    while i > 0:
        prev = lines[i - 1].rstrip()
        if (prev == "" or prev.endswith("*/") or prev.startswith("#") or
                prev.startswith("}") or prev.endswith(";")):
            break
        i -= 1
    return i


def block_name(header):
    """What a block declares (function, table or type) and its name."""
    text = " ".join(l.strip() for l in header).rstrip("{ ")
    if text.endswith(")"):
        kind = "function"
        text = text.split("(")[0]
    elif "=" in text:
        kind = "table"
        text = text.split("=")[0].split("[")[0]
    else:
        kind = "type"
    names = IDENT.findall(text)
    return kind, (names[-1] if names else "?")


def check_file(path, name, errors):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    biggest = (0, None)
    if len(lines) > MAX_FILE_LINES:
        errors.append("%s: %d lines (limit %d)" % (name, len(lines), MAX_FILE_LINES))
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line == "{":
            header_end = i
        elif (line.endswith("{") and IDENT.match(line) and
              not line.startswith("#")):
            header_end = i + 1
        else:
            i += 1
            continue
        start = declaration_start(lines, i)
        end = i + 1
        while end < len(lines) and not lines[end].startswith("}"):
            end += 1
        if end == len(lines):
            errors.append("%s:%d: no closing brace at column 0" % (name, i + 1))
            break
        kind, what = block_name(lines[start:header_end])
        size = end - start + 1
        if kind == "function" and size > biggest[0]:
            biggest = (size, what)
        if size > MAX_BLOCK_LINES and (name, what) not in EXEMPT:
            errors.append("%s:%d: %s %s: %d lines (limit %d)"
                          % (name, start + 1, kind, what, size, MAX_BLOCK_LINES))
        i = end + 1
    return len(lines), biggest


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else "src"
    files = sorted(f for f in os.listdir(srcdir) if f.endswith(".c"))
    if not files:
        print("sizes: no C sources in %s" % srcdir)
        return 1
    errors = []
    longest_file = (0, None)
    longest_func = (0, None)
    for f in files:
        n, (size, what) = check_file(os.path.join(srcdir, f), f, errors)
        longest_file = max(longest_file, (n, f))
        if what is not None:
            longest_func = max(longest_func, (size, "%s in %s" % (what, f)))
    for e in errors:
        print("sizes: " + e)
    if errors:
        print("sizes: split the file or the function (test/sizes.py has the limits)")
        return 1
    print("sizes: %d files, none over %d lines (largest: %s, %d), no function"
          " over %d (largest: %s, %d)"
          % (len(files), MAX_FILE_LINES, longest_file[1], longest_file[0],
             MAX_BLOCK_LINES, longest_func[1], longest_func[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
