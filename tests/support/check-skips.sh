#!/bin/sh
# A cmocka program that skips a case must say so in its exit status, and run the cases that may
# skip apart from the others (tests/support/weft_test.h): no test calls cmocka's skip() (or _skip)
# directly, and every file that calls WEFT_TEST_SKIP() ends its main with
# `return WEFT_TEST_RUN(...)`, which reads the selection weft_add_test(... NEEDS) passes (a
# main that ran cmocka_run_group_tests itself would run every case in both ctest tests); and
# "_needs_", the marker of the cases that may skip ("*_needs_*"), appears in a name only as its
# end, <what>_needs_<word>, so that the pattern picks no other case. Which cases skip is checked
# when they run: outside the *_needs_<word> cases, a skip fails, and a word NEEDS does not list
# stops the program.
# Usage: check-skips.sh TESTS_DIR. Exits 1 naming each offending file, 2 if TESTS_DIR is not a
# directory. Comments are not stripped: a comment that writes skip() is flagged too (write
# "cmocka's skip" instead); weft_test.h, which defines WEFT_TEST_SKIP on top of skip(), is the one
# file allowed to.
dir=${1:?usage: check-skips.sh TESTS_DIR}
[ -d "$dir" ] || { echo "check-skips.sh: no directory $dir" >&2; exit 2; }
bad=0
list=$(mktemp) || exit 2
trap 'rm -f "$list"' EXIT
find "$dir" -type f \( -name '*.c' -o -name '*.h' \) ! -name weft_test.h | sort >"$list"
while IFS= read -r f; do
    if sed 's/WEFT_TEST_SKIP()//g' "$f" | grep -qE '(^|[^A-Za-z0-9_])_?skip[[:space:]]*\('; then
        echo "$f: calls cmocka's skip() directly: use WEFT_TEST_SKIP() (ctest would count it as passed)"
        bad=1
    fi
    if grep -q 'WEFT_TEST_SKIP()' "$f" && ! grep -qE 'return WEFT_TEST_RUN[[:space:]]*\(' "$f"; then
        echo "$f: uses WEFT_TEST_SKIP() but main does not return WEFT_TEST_RUN(...)"
        bad=1
    fi
    odd=$(grep -oE '[A-Za-z][A-Za-z0-9_]*_needs_[A-Za-z0-9_]*' "$f" | grep -vE '_needs_[A-Za-z0-9]+$' |
        sort -u | tr '\n' ' ')
    if [ -n "$odd" ]; then
        echo "$f: ${odd% }: _needs_ marks a case that may skip, as <what>_needs_<word>: rename"
        bad=1
    fi
done <"$list"
[ "$bad" = 0 ] && echo "every skip is reported by the exit status, apart from the cases that ran"
exit "$bad"
