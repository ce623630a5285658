#!/usr/bin/env python3
"""The header checker's own test: a check that cannot fail would let undocumented API in.

    test_check_headers.py

Writes tiny headers into a temporary directory and runs check_headers.py on each: a header
whose public symbols are all documented must pass (exit 0), and each kind of gap must fail
(exit 1) naming the symbol. Needs nothing but python3.
"""
import os
import subprocess
import sys
import tempfile

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_headers.py")

# name -> (header text, expected exit status, what the output must contain, must not contain)
CASES = {
    "documented function": (
        "/* weft_a - does a. Returns 0. Never suspends. */\nint weft_a(void);\n",
        0, "1 public symbol(s)", "weft_a:"),
    "undocumented function": (
        "/* weft_a - does a. */\nint weft_a(void);\n\nint weft_b(int x);\n",
        1, "h.h:4: weft_b: function has no doc comment", "weft_a:"),
    "doc comment that names another function": (
        "/* weft_a - does a. */\nint weft_b(void);\n", 1, "weft_b: function has a doc comment", ""),
    "a group that names each member": (
        "/* weft_a, weft_b - the same with no deadline. */\nint weft_a(void);\n"
        "static inline int weft_b(void)\n{\n    return weft_a();\n}\n", 0, "2 public", "weft_b:"),
    "a group broken by a blank line": (
        "/* weft_a, weft_b - the two. */\nint weft_a(void);\n\nint weft_b(void);\n",
        1, "h.h:4: weft_b: function has no doc", "weft_a:"),
    "a comment inside a body is not the next one's doc": (
        "static inline int weft__a(void)\n{\n    /* weft_s - looks like a doc comment */\n"
        "    return 0;\n}\nstruct weft_s {\n    int x;\n};\n", 1, "h.h:6: weft_s: struct has no doc",
        ""),
    "an #include between the comment and the declaration": (
        "/* weft_a - a. */\n#include <stddef.h>\nint weft_a(void);\n", 1, "weft_a: function has no",
        ""),
    "conditionals and clang-format comments in between": (
        "/* WEFT_X - x. */\n/* clang-format off */\n#ifndef WEFT_X\n#define WEFT_X 1\n#endif\n",
        0, "1 public", "WEFT_X:"),
    "private symbols and the include guard are not checked": (
        "#ifndef WEFT_H_H\n#define WEFT_H_H\nint weft__private(void);\n#define WEFT__P 1\n"
        "struct weft__s { int x; };\n#endif\n", 0, "0 public symbol(s)", ""),
    "macros: trailing comment, doc comment, none": (
        "#define WEFT_A 1 /* a */\n\n/* WEFT_B - b. */\n#define WEFT_B 2\n\n#define WEFT_C 3\n",
        1, "h.h:6: WEFT_C: macro has no doc", "WEFT_A:"),
    "a macro's trailing comment is not the next macro's doc": (
        "#define WEFT_A 1 /* a, which\n                    goes on */\n#define WEFT_B 2\n", 1,
        "h.h:3: WEFT_B: macro has no doc", "WEFT_A:"),
    "a function-like macro's doc must name it": (
        "/* Something else. */\n#define WEFT_F(x) ((x) + 1)\n", 1, "WEFT_F: macro has a doc", ""),
    "enum constants: trailing comments or the enum's comment": (
        "enum {\n    WEFT_A = 1, /* a */\n    WEFT_B,     /* b, which goes\n"
        "                   on */\n};\n\n/* weft_e - kinds. */\ntypedef enum weft_e {\n"
        "    WEFT_E1,\n    WEFT_E2,\n} weft_e;\n", 0, "5 public", "WEFT_"),
    "enum constants under a comment inside the enum": (
        "enum {\n    /* the first two */\n    WEFT_A = 1,\n    WEFT_B,\n\n    WEFT_C,\n};\n", 1,
        "h.h:6: WEFT_C: enum constant", "WEFT_B:"),
    "an enum constant with no comment at all": (
        "enum {\n    WEFT_A = 1, /* a */\n    WEFT_B,\n};\n", 1, "h.h:3: WEFT_B: enum constant",
        "WEFT_A:"),
    "a forward typedef documented at its struct": (
        "typedef struct weft_t weft_t;\n\n/* weft_t - a thing. */\nstruct weft_t {\n"
        "    int x;\n};\n\n/* weft_fn - a callback. */\ntypedef void weft_fn(weft_t *t);\n"
        "/* weft_cb - a pointer to one. */\ntypedef int (*weft_cb)(void);\n", 0, "3 public",
        "weft_"),
    "an undocumented function type and variable": (
        "typedef void weft_fn(int x);\n\nextern int weft_flag;\n", 1, "weft_flag: variable", ""),
    "an undocumented function type": (
        "typedef void weft_fn(int x);\n", 1, "weft_fn: typedef", ""),
    "an undocumented plain typedef": (
        "typedef int weft_t;\n", 1, "weft_t: typedef", ""),
}


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        header = os.path.join(tmp, "h.h")
        for name, (text, want, says, not_says) in CASES.items():
            with open(header, "w", encoding="utf-8") as f:
                f.write(text)
            res = subprocess.run([sys.executable, CHECKER, header], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=60)
            said = res.stdout.decode("utf-8", errors="replace").replace(tmp + os.sep, "")
            good = res.returncode == want and says in said and \
                (not not_says or not_says not in said)
            print("%-56s exit %d (want %d) %s" % (name, res.returncode, want,
                                                  "ok" if good else "WRONG"))
            if not good:
                failures.append("%s: exit %d, want %d, %r and not %r; the checker said:\n%s" %
                                (name, res.returncode, want, says, not_says, said))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
