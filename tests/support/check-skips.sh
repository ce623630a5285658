#!/bin/sh
# A cmocka program that skips a case must say so in its exit status (tests/support/weft_test.h):
# no test calls cmocka's skip() directly, and every file that calls WEFT_TEST_SKIP() ends its main
# with weft_test_exit(). Usage: check-skips.sh TESTS_DIR. Exits 1 naming each offending file.
dir=${1:?usage: check-skips.sh TESTS_DIR}
bad=0
for f in $(find "$dir" -name '*.c' | sort); do
    if grep -nE '(^|[^A-Za-z0-9_])skip\(\)' "$f" | grep -v 'WEFT_TEST_SKIP()' >/dev/null; then
        echo "$f: calls cmocka's skip() directly: use WEFT_TEST_SKIP() (ctest would count it as passed)"
        bad=1
    fi
    if grep -q 'WEFT_TEST_SKIP()' "$f" && ! grep -q 'weft_test_exit(' "$f"; then
        echo "$f: uses WEFT_TEST_SKIP() but main does not return weft_test_exit(...)"
        bad=1
    fi
done
[ "$bad" = 0 ] && echo "every skip is reported by the exit status"
exit "$bad"
