#!/usr/bin/env python3
"""Keeps the tutorial in docs/ honest: every output it shows comes from a real run, every piece
of C it quotes still exists, every file it names is there.

    check_docs.py --source SRC_DIR --build BUILD_DIR PAGE.md...

What a page may contain, and what is checked (docs/README.md, "How these pages are checked",
says the same for writers). Each comment stands on one line, right before its block:

  <!-- check: [--server PROG] [--show server] [--exit N] [--timeout S] [--mask RE]...
                [--drop RE]... [--env NAME=VALUE]... [--server-env NAME=VALUE]...
                [--signal SIG@SECONDS] PROG ARGS... -->
  ```output
  ...lines...
  ```
      PROG (relative to the build directory) is run from the build directory; with --server, the
      server is started first with `--port 0` and must print "listening on HOST:PORT", and @ADDR@
      in ARGS becomes HOST:PORT. The program must exit with status N (default 0). The block's
      lines are then compared with what the program printed (stdout and stderr, merged; with
      --show server: what the server printed). See match_output for the rules, MASKS for what
      may differ between runs; each --mask RE removes what the regex matches, on both sides,
      before comparing (for a count that varies, or a flag that may come in a later event); each
      --drop RE leaves the lines it matches out of the comparison (lines whose number varies).
      --env and --server-env add a variable to the program's or the server's environment (which
      otherwise has no WEFT_TRACE, and LC_ALL=C). --signal USR1@0.5 sends that signal to the
      server (to the program when there is no server) 0.5 s after the program started. @TMP@ in
      ARGS and in --env values becomes a directory kept for the whole page, so that one check can
      read what an earlier one wrote (a trace).

  <!-- quote: PATH -->
  ```c
  ...lines...
  ```
      Every line must be in the file PATH (relative to the source directory), in the same order
      and next to each other; a line `...` leaves lines out. The block may be indented less than
      the file, by the same amount for each run of lines.

  <!-- sketch -->          before a C block that is not quoted from a file (the reader is told so)
  <!-- pending: PATH -->   before an output block that cannot be filled yet because PATH does not
                           exist; once PATH exists the check is skipped (exit 77) with a message
  <!-- files: GLOB... --> every file matching a glob (relative to the source directory) must be
                           named somewhere in the page
  <!-- soon: PATH... -->   the page may link to or name PATH (relative to the source directory)
                           before it exists: another change is adding it

  A source line named in the prose in backticks (`tcp.c:260`) must appear in one of the page's
  checked output blocks (so a run shows it, and a moved line fails the page).

  Every ```output block needs a check or pending comment; every ```c block a quote or sketch
  comment. Every relative link, and every `path` in backticks that starts with a source
  directory's name (src/, include/, examples/, ...), must name a file or directory that exists.

Exit status: 0 all passed, 1 something failed, 77 nothing failed but a pending block is due.
"""
import argparse
import glob
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77

# Top-level directories of the source tree: a backticked path starting with one must exist.
SOURCE_DIRS = ("src/", "include/", "examples/", "tools/", "tests/", "docs/", "bench/",
               "scripts/", "cmake/")

# ---------------------------------------------------------------------------------------------
# Masking: what may differ between two runs of the same program
# ---------------------------------------------------------------------------------------------

MASKS = [
    # An HTTP date (the Date: field of every response).
    (re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"), "<date>"),
    # The port of a loopback address: servers are started on a free port (--port 0).
    (re.compile(r"(127\.0\.0\.1|\[::1\]|localhost):\d+"), r"\1:<port>"),
    # A rate: a number followed by something per second (items/s, MiB/s).
    (re.compile(r"\d+(?:\.\d+)?(\s?)([A-Za-z]+/s)\b"), r"<n>\1\2"),
    # A duration: a number followed by a unit of time.
    (re.compile(r"\d+(?:\.\d+)?(\s?)(ns|us|µs|ms|s)\b"), r"<n>\1\2"),
    # Any other number with a fractional part (ratios), but not part of an IPv4 address.
    (re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])"), "<n>"),
    # A pointer printed with %p.
    (re.compile(r"0x[0-9a-fA-F]+"), "<addr>"),
    # Column alignment depends on the width of the numbers above.
    (re.compile(r"\s+"), " "),
]


def mask(line, extra=()):
    """
    The line as compared: what a check's --mask regexes match removed, then timing, rates,
    ports, dates and pointers masked; spaces collapsed.
    """
    for pattern in extra:
        line = re.sub(pattern, "", line)
    for pattern, repl in MASKS:
        line = pattern.sub(repl, line)
    return line.strip()


def split_runs(lines):
    """Splits a block at its `...` lines. Returns (runs, open_start, open_end)."""
    runs, cur = [], []
    for line in lines:
        if line.strip() == "...":
            runs.append(cur)
            cur = []
        else:
            cur.append(line)
    runs.append(cur)
    open_start = len(runs) > 1 and not runs[0]
    open_end = len(runs) > 1 and not runs[-1]
    return [r for r in runs if r], open_start, open_end


def match_output(block, output, extra_masks=(), drops=()):
    """
    The rules for an output block: its lines, masked, must be lines of the output, masked, in the
    same order; lines next to each other in the block must be next to each other in the output,
    except where a `...` line stands between them (any number of lines, none included). A block
    that does not start with `...` must start with the first line of output; one that does not
    end with `...` must end with the last. Lines that a --drop regex matches are left out of both
    first. Returns None, or a message saying what did not match.
    """
    if drops:
        block = [l for l in block if not any(re.search(d, l) for d in drops)]
        output = [l for l in output if not any(re.search(d, l) for d in drops)]
    want_runs, open_start, open_end = split_runs(block)
    have = [mask(l, extra_masks) for l in output]
    pos = 0
    for i, run in enumerate(want_runs):
        want = [mask(l, extra_masks) for l in run]
        anchored = i == 0 and not open_start
        must_end = i == len(want_runs) - 1 and not open_end
        starts = [pos] if anchored else range(pos, len(have) - len(want) + 1)
        found = None
        for start in starts:
            if have[start:start + len(want)] != want:
                continue
            if must_end and start + len(want) != len(have):
                continue
            found = start
            break
        if found is None:
            where = "at the first line" if anchored else "after output line %d" % pos
            tail = ", ending at the last line" if must_end else ""
            return ("these lines were not found %s%s:\n    %s" %
                    (where, tail, "\n    ".join(want)))
        pos = found + len(want)
    return None


def match_quote(block, text):
    """
    The rules for a quoted C block: each run of lines (runs are separated by `...` lines) must
    appear in the file as consecutive lines, after the previous run; a run may be indented less
    than the file by a fixed number of spaces. Trailing spaces do not count. Returns None or a
    message.
    """
    runs, _, _ = split_runs(block)
    have = [l.rstrip() for l in text.split("\n")]
    pos = 0
    for run in runs:
        want = [l.rstrip() for l in run]
        found = None
        for start in range(pos, len(have) - len(want) + 1):
            if quote_fits(want, have[start:start + len(want)]):
                found = start
                break
        if found is None:
            return "these lines are not in the file (in this order):\n    " + "\n    ".join(want)
        pos = found + len(want)
    return None


def indent(line):
    return len(line) - len(line.lstrip(" "))


def quote_fits(want, have):
    first = next((k for k, l in enumerate(want) if l), None)
    if first is None or not have[first]:
        return False
    delta = indent(have[first]) - indent(want[first])
    if delta < 0:
        return False
    for w, h in zip(want, have):
        if not w:
            if h:
                return False
        elif h != " " * delta + w:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Running programs
# ---------------------------------------------------------------------------------------------


def start_server(build, prog, log, env):
    """Starts prog --port 0; returns (process, "HOST:PORT") once it says where it listens."""
    path = os.path.join(build, prog)
    if not os.access(path, os.X_OK):
        raise RuntimeError("server %s is not built (looked for %s)" % (prog, path))
    proc = subprocess.Popen([path, "--port", "0"], cwd=build, stdout=log, env=env,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(log.name, encoding="utf-8", errors="replace") as f:
            m = re.search(r"listening on (\S+)", f.read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    stop(proc)
    raise RuntimeError("server %s did not say 'listening on HOST:PORT'" % prog)


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def parse_signal(value):
    """`USR1@0.5` -> (signal.SIGUSR1, 0.5)."""
    m = re.match(r"^(?:SIG)?([A-Z][A-Z0-9]*)@(\d+(?:\.\d+)?)$", value.upper())
    if not m or not isinstance(getattr(signal, "SIG" + m.group(1), None), signal.Signals):
        raise ValueError("--signal takes SIG@SECONDS (USR1@0.5), not %r" % value)
    return getattr(signal, "SIG" + m.group(1)), float(m.group(2))


def parse_check(spec):
    """`[--server P] [--show server] [--exit N] [--timeout S] [--mask RE]... [--drop RE]...
    [--env N=V]... [--server-env N=V]... [--signal SIG@S] PROG ARGS...`"""
    words = shlex.split(spec)
    opts = {"server": None, "show": "program", "exit": 0, "timeout": 60.0, "mask": [],
            "drop": [], "env": [], "server-env": [], "signal": None}
    while words and words[0].startswith("--") and words[0][2:] in opts:
        key = words.pop(0)[2:]
        if not words:
            raise ValueError("option --%s needs a value" % key)
        value = words.pop(0)
        if key in ("mask", "drop"):
            re.compile(value)  # a bad regex is the page's error, reported as such
            opts[key].append(value)
        elif key in ("env", "server-env"):
            if not re.match(r"^[A-Za-z_]\w*=", value):
                raise ValueError("--%s takes NAME=VALUE, not %r" % (key, value))
            opts[key].append(value)
        elif key == "signal":
            opts[key] = parse_signal(value)
        else:
            opts[key] = int(value) if key == "exit" else float(value) if key == "timeout" else value
    if not words:
        raise ValueError("no program to run")
    if opts["show"] not in ("program", "server"):
        raise ValueError("--show takes 'program' or 'server'")
    if opts["show"] == "server" and not opts["server"]:
        raise ValueError("--show server needs --server")
    opts["argv"] = words
    return opts


def environment(extra, tmp):
    """The environment of a program the checker runs: ours, LC_ALL=C, no WEFT_TRACE, extra."""
    env = dict(os.environ, LC_ALL="C")
    env.pop("WEFT_TRACE", None)
    for item in extra:
        name, _, value = item.partition("=")
        env[name] = value.replace("@TMP@", tmp)
    return env


def run_program(argv, build, env, opts, server):
    """Runs argv; sends --signal's signal when due. Returns (exit status, output bytes)."""
    proc = subprocess.Popen(argv, cwd=build, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if opts["signal"]:
        signo, after = opts["signal"]
        timer = threading.Timer(after, lambda: (server or proc).send_signal(signo))
        timer.start()
    try:
        out, _ = proc.communicate(timeout=opts["timeout"])
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError("%s did not finish within %g s" % (argv[0], opts["timeout"]))
    finally:
        if opts["signal"]:
            timer.cancel()
    return proc.returncode, out


def run_check(source, build, opts, tmp):
    """
    Runs what a check comment says; returns the lines to compare with the block, and the raw
    output. Paths into the source or build tree (__FILE__ in a message) are made relative.
    """
    with tempfile.NamedTemporaryFile("w+b", suffix=".log") as log:
        server, argv = None, [a.replace("@TMP@", tmp) for a in opts["argv"]]
        if opts["server"]:
            server, addr = start_server(build, opts["server"], log,
                                        environment(opts["server-env"], tmp))
            argv = [a.replace("@ADDR@", addr) for a in argv]
        try:
            path = os.path.join(build, argv[0])
            if not os.access(path, os.X_OK):
                raise RuntimeError("%s is not built (looked for %s)" % (argv[0], path))
            returncode, stdout = run_program([path] + argv[1:], build,
                                             environment(opts["env"], tmp), opts, server)
        finally:
            if server:
                stop(server)
        out = stdout.decode("utf-8", errors="replace")
        if returncode != opts["exit"]:
            raise RuntimeError("%s exited with status %d, expected %d; it printed:\n%s" %
                               (" ".join(argv), returncode, opts["exit"], out))
        if opts["show"] == "server":
            log.seek(0)
            out = log.read().decode("utf-8", errors="replace")
        for tree in (os.path.abspath(build), os.path.abspath(source)):
            out = out.replace(tree + os.sep, "")
        out = out.replace(tmp + os.sep, "")
        return out.rstrip("\n").split("\n"), out


# ---------------------------------------------------------------------------------------------
# Reading a page
# ---------------------------------------------------------------------------------------------

MARKER = re.compile(r"^<!--\s*(check|quote|sketch|pending|files|soon)\b:?\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")


class Page:
    def __init__(self, path, source):
        self.path = path
        self.source = source
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.lines = self.text.split("\n")
        self.blocks = []  # (marker or None, marker arg, info string, first line number, lines)
        self.files_globs = []
        self.soon = set()  # files this page may link to before they exist
        self.prose = []  # lines outside fenced blocks
        self._parse()

    def _parse(self):
        pending = None  # the last marker seen, until the next non-blank line
        i = 0
        while i < len(self.lines):
            line = self.lines[i]
            m = MARKER.match(line.strip())
            f = FENCE.match(line)
            if m and m.group(1) == "files":
                self.files_globs += m.group(2).split()
            elif m and m.group(1) == "soon":
                self.soon |= {os.path.normpath(os.path.join(self.source, p))
                              for p in m.group(2).split()}
            elif m:
                pending = (m.group(1), m.group(2), i + 1)
            elif f:
                close = f.group(1)
                body, j = [], i + 1
                while j < len(self.lines) and not self.lines[j].startswith(close):
                    body.append(self.lines[j])
                    j += 1
                self.blocks.append((pending, f.group(2), i + 1, body))
                pending = None
                i = j
            elif line.strip():
                if pending:
                    raise ValueError("%s:%d: a %s comment must stand right before a fenced block"
                                     % (self.path, pending[2], pending[0]))
                self.prose.append(line)
            i += 1


def anchors(path):
    """The anchors GitHub makes for a markdown file's headings."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    slugs = set()
    for heading in re.findall(r"^#+\s+(.*?)\s*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


def check_links(page, source):
    """Relative links (and their #anchors) and backticked source paths must exist."""
    errors = []
    base = os.path.dirname(page.path)
    prose = "\n".join(page.prose)
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if re.match(r"^[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        path = os.path.normpath(os.path.join(base, file_part)) if file_part else page.path
        if file_part and os.path.normpath(path) in page.soon and not os.path.exists(path):
            print("%s: %s is coming (soon: marker)" % (os.path.basename(page.path), file_part))
            continue
        if not os.path.exists(path):
            errors.append("link to %s: no such file" % target)
        elif anchor and path.endswith(".md") and anchor not in anchors(path):
            errors.append("link to %s: no heading makes the anchor #%s" % (target, anchor))
    for code in re.findall(r"`([^`\s]+)`", prose):
        code = re.sub(r":\d+$", "", code)
        if not code.startswith(SOURCE_DIRS) or any(c in code for c in "*?{<"):
            continue
        path = os.path.normpath(os.path.join(source, code))
        if not os.path.exists(path) and path not in page.soon:
            errors.append("`%s` is named but does not exist" % code)
    return errors


def check_files(page, source):
    """Every file matching a `files` glob must be named in the page."""
    errors = []
    for pattern in page.files_globs:
        for path in sorted(glob.glob(os.path.join(source, pattern))):
            rel = os.path.relpath(path, source)
            if not re.search(r"(?<![\w/.-])" + re.escape(rel) + r"(?![\w.-])", page.text):
                errors.append("%s matches `%s` but the page does not describe it" % (rel, pattern))
    return errors


def check_line_refs(page):
    """Every `file:line` in the prose must be shown by a checked output block of the page."""
    shown = "\n".join("\n".join(body) for marker, info, _, body in page.blocks
                      if info == "output" and marker and marker[0] == "check")
    errors = []
    for ref in re.findall(r"`([\w.-]+\.[a-z]+:\d+)`", "\n".join(page.prose)):
        if not re.search(r"(?<![\w.-])" + re.escape(ref) + r"(?!\d)", shown):
            errors.append("`%s` is named, but no checked output block shows it" % ref)
    return errors


def check_block(page, block, source, build, tmp):
    """Returns (errors, skipped) for one fenced block."""
    marker, info, lineno, body = block
    kind, arg = (marker[0], marker[1]) if marker else (None, None)
    where = "%s:%d" % (os.path.basename(page.path), lineno)
    if info == "output" and kind not in ("check", "pending"):
        return ["%s: an output block needs a <!-- check: ... --> comment" % where], []
    if info == "c" and kind not in ("quote", "sketch"):
        return ["%s: a C block needs <!-- quote: FILE --> or <!-- sketch -->" % where], []
    if kind == "pending":
        if os.path.exists(os.path.join(source, arg)):
            return [], ["%s: %s exists now: run it and replace this block with its output" %
                        (where, arg)]
        print("%s: pending until %s exists" % (where, arg))
        return [], []
    if kind == "quote":
        path = os.path.join(source, arg)
        if not os.path.isfile(path):
            return ["%s: quotes %s, which does not exist" % (where, arg)], []
        with open(path, encoding="utf-8") as f:
            err = match_quote(body, f.read())
        return (["%s: quote of %s: %s" % (where, arg, err)] if err else []), []
    if kind == "check":
        try:
            opts = parse_check(arg)
            lines, raw = run_check(source, build, opts, tmp)
        except (ValueError, RuntimeError, OSError, re.error) as e:
            return ["%s: %s" % (where, e)], []
        err = match_output(body, lines, opts["mask"], opts["drop"])
        if err:
            return ["%s: `%s`: %s\n  the run printed:\n    %s" %
                    (where, arg, err, "\n    ".join(raw.rstrip("\n").split("\n")))], []
        print("%s: ok (%s)" % (where, " ".join(opts["argv"])))
    return [], []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", required=True, help="the source tree")
    ap.add_argument("--build", required=True, help="a build tree with the examples and tools")
    ap.add_argument("pages", nargs="+")
    args = ap.parse_args()
    args.source, args.build = os.path.abspath(args.source), os.path.abspath(args.build)
    errors, skipped = [], []
    for path in args.pages:
        try:
            page = Page(os.path.abspath(path), args.source)
        except ValueError as e:
            errors.append(str(e))
            continue
        errors += ["%s: %s" % (os.path.basename(path), e) for e in check_links(page, args.source)]
        errors += ["%s: %s" % (os.path.basename(path), e) for e in check_files(page, args.source)]
        errors += ["%s: %s" % (os.path.basename(path), e) for e in check_line_refs(page)]
        with tempfile.TemporaryDirectory(prefix="check_docs.") as tmp:
            for block in page.blocks:
                e, s = check_block(page, block, args.source, args.build, tmp)
                errors += e
                skipped += s
    for e in errors:
        print("FAIL " + e)
    for s in skipped:
        print("SKIP " + s)
    if errors:
        return 1
    return SKIP if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
