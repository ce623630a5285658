#!/usr/bin/env python3
"""Every public symbol of weft's headers has a doc comment: the rule no compiler checks.

    check_headers.py [--source SRC_DIR] [HEADER...]

Reads include/weft.h and include/weft/*.h under SRC_DIR (default: the repository this script
lives in), or the headers named, and prints each violation as `file:line: symbol: reason`.
Exit status 1 if there is any, 0 otherwise.

WHAT IS PUBLIC. At file scope (inside extern "C" too): functions and variables named weft_*;
types named weft_* (a typedef, or a struct / union / enum tag); macros named WEFT_*; enum
constants named WEFT_* or weft_*. Names that start with weft__ or WEFT__ are private. An
include guard (`#ifndef X` directly followed by `#define X` with no value) is not a symbol.
Struct fields are not checked (several public structs are documented as "fields are private").

WHEN A SYMBOL IS DOCUMENTED. A symbol declared several times (a forward typedef and the struct,
a macro defined in both branches of an #if) is documented if one of its declarations is.
A declaration is documented by:
  1. Its doc comment: a comment (block or // lines) that ends on the line directly above the
     declaration's first line. Between the two there may be only preprocessor conditionals
     (#if, #ifdef, #ifndef, #elif, #else, #endif), tooling comments (clang-format off/on,
     NOLINT) and other declarations with no blank line in between: declarations written as one
     block, without blank lines, share the comment above the first of them (a group). A blank
     line, an #include, or the start of the file ends the search: no doc comment.
  2. For a macro: also a trailing comment on the #define's own line.
  3. For an enum constant: also a trailing comment that starts on the constant's line, a
     comment inside the enum directly above the constant (shared by constants written without
     blank lines between them), or the doc comment of the enum itself (the group's comment).
A function's doc comment must also name it, as a whole word: the house form is
"weft_xxx - what it does", and a group's comment names each member
("weft_chan_send - weft_chan_send_dl with no deadline"). A function-like macro's doc comment
must name it too ("WEFT_AWAIT(co, expr) - ..."), unless a trailing comment documents it.
"""
import argparse
import glob
import os
import re
import sys

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOOLING = re.compile(r"^\s*(clang-format (on|off)|NOLINT\w*)\b")
CONDITIONAL = re.compile(r"^#\s*(if|ifdef|ifndef|elif|else|endif)\b")
KEYWORDS = {"typedef", "struct", "union", "enum", "static", "inline", "extern", "const",
            "volatile", "unsigned", "signed", "int", "char", "long", "short", "void", "bool",
            "float", "double", "_Thread_local", "thread_local", "__extension__", "restrict"}


def is_public(name):
    return (name.startswith("weft_") and not name.startswith("weft__")) or \
        (name.startswith("WEFT_") and not name.startswith("WEFT__"))


class Comment:
    def __init__(self, start, end, text, trailing):
        self.start, self.end, self.text = start, end, text
        self.trailing = trailing  # code precedes it on its first line

    def names(self, name):
        return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])",
                         self.text) is not None

    def tooling(self):
        return TOOLING.match(self.text.strip("/* \n")) is not None


class Header:
    """A header split into comments, preprocessor directives and top-level statements."""

    def __init__(self, path, text):
        self.path = path
        self.lines = text.split("\n")
        self.comments = []     # Comment, in order
        self.directives = []   # (first line, last line, text without comments)
        self.tokens = []       # (token, line) of code outside directives
        self._lex(text)
        self.comment_at_end = {}  # last line -> comment (the last one ending there)
        for c in self.comments:
            self.comment_at_end[c.end] = c
        self.statements = self._statements()
        self.owner = {}        # line -> (first, last) of the top-level item that spans it
        for first, last, _ in self.directives:
            for line in range(first, last + 1):
                self.owner[line] = (first, last)
        for st in self.statements:
            for line in range(st[0][1], st[-1][1] + 1):
                self.owner[line] = (st[0][1], st[-1][1])

    def _lex(self, text):
        i, line, n = 0, 1, len(text)
        at_line_start = True
        code_on_line = False
        while i < n:
            ch = text[i]
            if ch == "\n":
                line += 1
                i += 1
                at_line_start, code_on_line = True, False
                continue
            if ch in " \t":
                i += 1
                continue
            if text.startswith("/*", i) or text.startswith("//", i):
                i, line = self._comment(text, i, line, code_on_line)
                continue
            if ch == "#" and at_line_start:
                i, line = self._directive(text, i, line)
                continue
            at_line_start = False
            code_on_line = True
            if ch == '"' or ch == "'":
                j = i + 1
                while j < n and text[j] != ch:
                    j += 2 if text[j] == "\\" else 1
                self.tokens.append((text[i:j + 1], line))
                i = j + 1
                continue
            m = IDENT.match(text, i) or re.compile(r"[0-9][0-9A-Za-z_.]*").match(text, i)
            if m:
                self.tokens.append((m.group(0), line))
                i = m.end()
                continue
            self.tokens.append((ch, line))
            i += 1

    def _comment(self, text, i, line, trailing):
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = len(text) if j < 0 else j
        else:
            j = text.find("*/", i + 2)
            j = len(text) if j < 0 else j + 2
        body = text[i:j]
        end = line + body.count("\n")
        self.comments.append(Comment(line, end, body, trailing))
        return j, end

    def _directive(self, text, i, line):
        first, out = line, []
        n = len(text)
        while i < n:
            if text.startswith("\\\n", i):
                i, line = i + 2, line + 1
                out.append(" ")
            elif text[i] == "\n":
                break
            elif text.startswith("/*", i) or text.startswith("//", i):
                i, line = self._comment(text, i, line, True)
                out.append(" ")
            else:
                out.append(text[i])
                i += 1
        self.directives.append((first, line, "".join(out).strip()))
        return i, line

    def _statements(self):
        """Top-level statements: token lists ending at `;`, or at the `}` of a function body."""
        stmts, cur, depth, extern_c = [], [], 0, 0
        toks = self.tokens
        k = 0
        while k < len(toks):
            tok, line = toks[k]
            if depth == 0 and not cur and tok == "extern" and k + 2 < len(toks) and \
                    toks[k + 1][0] == '"C"' and toks[k + 2][0] == "{":
                extern_c += 1
                k += 3
                continue
            if depth == 0 and not cur and tok == "}" and extern_c:
                extern_c -= 1
                k += 1
                continue
            cur.append((tok, line))
            if tok in "{(":
                depth += 1
            elif tok in "})":
                depth -= 1
                if tok == "}" and depth == 0 and self._function_body_ends(cur):
                    stmts.append(cur)
                    cur = []
            elif tok == ";" and depth == 0:
                stmts.append(cur)
                cur = []
            k += 1
        if cur:
            stmts.append(cur)
        return stmts

    @staticmethod
    def _function_body_ends(cur):
        opening = next(i for i, (t, _) in enumerate(cur) if t == "{")
        return opening > 0 and cur[opening - 1][0] == ")" and cur[0][0] != "typedef"

    # --- where the doc comment of a declaration is ---

    def doc_above(self, line):
        """The doc comment of a top-level item whose first line is `line` (rule 1), or None."""
        ln = line - 1
        while ln > 0:
            if ln in self.owner:  # an item of the same group (its trailing comment included)
                first, _ = self.owner[ln]
                text = self._directive_text(first)
                if text is not None and not CONDITIONAL.match(text) and \
                        not text.startswith("#define"):
                    return None  # an #include, #undef, #error, #pragma ...
                ln = first - 1
                continue
            c = self.comment_at_end.get(ln)
            if c is None:
                return None  # a blank line, or `extern "C" {`
            if c.trailing:  # the end of a trailing comment that runs on below its item
                if c.start not in self.owner:
                    return None
                ln = self.owner[c.start][0] - 1
            elif c.tooling():
                ln = c.start - 1
            else:
                return c
        return None

    def doc_in_enum(self, line, brace_line):
        """The comment inside an enum directly above the constant on `line`, or None. Constants
        with no blank line between them share it, as top-level declarations do."""
        ln = line - 1
        while ln > brace_line:
            c = self.comment_at_end.get(ln)
            if c is not None and not c.trailing and not c.tooling():
                return c
            if c is not None:
                ln = c.start - 1
            elif self.lines[ln - 1].strip() == "":
                return None
            else:
                ln -= 1  # an earlier constant of the group
        return None

    def _directive_text(self, first):
        for f, _, text in self.directives:
            if f == first:
                return text
        return None

    def trailing_on(self, line):
        """A comment that starts on `line` after code (a trailing comment), or None."""
        for c in self.comments:
            if c.start == line and c.trailing:
                return c
        return None


class Symbol:
    def __init__(self, name, kind):
        self.name, self.kind = name, kind
        self.decls = []  # (line, documented, reason if not)


def add(symbols, name, kind, line, doc_ok, reason):
    if not is_public(name):
        return
    sym = symbols.setdefault(name, Symbol(name, kind))
    sym.decls.append((line, doc_ok, reason))


def check_doc(doc, name, must_name):
    if doc is None:
        return False, "has no doc comment directly above it (nor a trailing one)"
    if must_name and not doc.names(name):
        return False, "has a doc comment (line %d) that does not name it" % doc.start
    return True, ""


def scan_macros(h, symbols):
    for idx, (first, last, text) in enumerate(h.directives):
        m = re.match(r"#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)(\()?\s*(.*)$", text)
        if not m:
            continue
        name, fnlike, value = m.group(1), m.group(2), m.group(3)
        if idx > 0 and value == "" and \
                re.match(r"#\s*ifndef\s+" + re.escape(name) + r"\s*$", h.directives[idx - 1][2]):
            continue  # an include guard
        trailing = h.trailing_on(first)
        if trailing is not None:
            add(symbols, name, "macro", first, True, "")
            continue
        ok, why = check_doc(h.doc_above(first), name, bool(fnlike))
        add(symbols, name, "macro", first, ok, why)


def braces(st):
    """(index of `{`, index of its `}`) of the statement's first brace pair, or None."""
    try:
        a = next(i for i, (t, _) in enumerate(st) if t == "{")
    except StopIteration:
        return None
    depth = 0
    for i in range(a, len(st)):
        depth += {"{": 1, "}": -1}.get(st[i][0], 0)
        if depth == 0:
            return a, i
    return a, len(st) - 1


def scan_enum_constants(h, st, a, b, enum_doc, symbols):
    body = st[a + 1:b]
    item, depth = [], 0
    items = []
    for tok, line in body:
        if tok in "({[":
            depth += 1
        elif tok in ")}]":
            depth -= 1
        if tok == "," and depth == 0:
            items.append(item)
            item = []
        else:
            item.append((tok, line))
    if item:
        items.append(item)
    brace_line = st[a][1]
    for it in items:
        name, line = it[0]
        if not IDENT.fullmatch(name):
            continue
        if h.trailing_on(line) is not None or enum_doc is not None:
            add(symbols, name, "enum constant", line, True, "")
            continue
        doc = h.doc_in_enum(line, brace_line)
        ok, why = check_doc(doc, name, False)
        if not ok:
            why = "has no trailing comment nor one above it, and the enum has no doc comment"
        add(symbols, name, "enum constant", line, ok, why)


def scan_statement(h, st, symbols):
    first = st[0][1]
    toks = [t for t, _ in st]
    doc = h.doc_above(first)
    br = braces(st)
    head = toks[:br[0]] if br else toks
    # A struct / union / enum tag, defined here (`struct T {`) or declared (`struct T;`).
    tag = None
    if br is not None and len(head) >= 2 and head[-2] in ("struct", "union", "enum"):
        tag = head[-2], head[-1]
    elif len(toks) == 3 and toks[0] in ("struct", "union", "enum") and toks[2] == ";":
        tag = toks[0], toks[1]
    if tag is not None and IDENT.fullmatch(tag[1]):
        ok, why = check_doc(doc, tag[1], False)
        add(symbols, tag[1], tag[0], first, ok, why)
    if br is not None and "enum" in head:
        scan_enum_constants(h, st, br[0], br[1], doc, symbols)
    if toks[0] == "typedef":
        tail = toks[br[1] + 1:] if br else toks[1:]
        name = typedef_name(tail)
        if name:
            ok, why = check_doc(doc, name, False)
            add(symbols, name, "typedef", first, ok, why)
        return
    if br is not None and not (toks[br[0] - 1] == ")"):
        return  # a struct / enum definition, done above
    if len(toks) == 3 and toks[0] in ("struct", "union", "enum"):
        return  # a forward declaration, done above
    fn = function_name(head)
    if fn:
        ok, why = check_doc(doc, fn, True)
        add(symbols, fn, "function", first, ok, why)
        return
    names = [t for t in head if IDENT.fullmatch(t) and t not in KEYWORDS]
    if names:
        ok, why = check_doc(doc, names[-1], False)
        add(symbols, names[-1], "variable", first, ok, why)


def typedef_name(tail):
    """The name a typedef declares, given the tokens after `typedef` (or after its braces)."""
    s = " ".join(tail)
    m = re.search(r"\( \* ([A-Za-z_]\w*) \)", s)
    if m:
        return m.group(1)
    depth = 0
    for i, t in enumerate(tail):  # a function type: `typedef void name(args);`
        if t == "(" and depth == 0 and i > 0 and IDENT.fullmatch(tail[i - 1]):
            return tail[i - 1]
        depth += {"(": 1, ")": -1}.get(t, 0)
    idents = [t for t in tail if IDENT.fullmatch(t)]
    return idents[-1] if idents else None


def function_name(head):
    for i, t in enumerate(head):
        if t == "=":
            return None
        if t == "(":
            prev = head[i - 1] if i > 0 else ""
            if prev == "__attribute__":
                continue
            return prev if IDENT.fullmatch(prev) and prev not in KEYWORDS else None
    return None


def check(paths, shown=None, listing=None):
    """Returns (number of public symbols, list of violation lines). listing: a list to which
    each symbol checked is appended as `file:line: symbol (kind)`."""
    total, errors = 0, []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            h = Header(path, f.read())
        symbols = {}
        scan_macros(h, symbols)
        for st in h.statements:
            scan_statement(h, st, symbols)
        name = shown(path) if shown else path
        for sym in sorted(symbols.values(), key=lambda s: s.decls[0][0]):
            total += 1
            if listing is not None:
                listing.append("%s:%d: %s (%s)" % (name, sym.decls[0][0], sym.name, sym.kind))
            if any(ok for _, ok, _ in sym.decls):
                continue
            line, _, why = sym.decls[0]
            errors.append("%s:%d: %s: %s %s" % (name, line, sym.name, sym.kind, why))
    return total, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    ap.add_argument("--verbose", action="store_true", help="name every symbol checked")
    ap.add_argument("headers", nargs="*")
    args = ap.parse_args()
    paths = args.headers or [os.path.join(args.source, "include", "weft.h")] + \
        sorted(glob.glob(os.path.join(args.source, "include", "weft", "*.h")))
    listing = [] if args.verbose else None
    total, errors = check(paths, lambda p: os.path.relpath(p, args.source)
                          if not args.headers else p, listing)
    for line in listing or []:
        print(line)
    for e in errors:
        print(e)
    print("%d public symbol(s) in %d header(s): %d undocumented" %
          (total, len(paths), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
