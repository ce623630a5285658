# The test suite under valgrind: `ctest -T memcheck` runs each test executable under
#
#     valgrind --leak-check=full --error-exitcode=1 ...
#
# so that an invalid read or write, a use of uninitialised memory, or a block definitely or
# possibly lost at exit fails that test. The options are set here and written into the build
# tree (DartConfiguration.tcl, by include(CTest)), so any build tree configured with the tests
# can be checked without rebuilding, e.g. the dev preset's:
#
#     ctest --test-dir build/dev -T memcheck -L unit -LE novalgrind -j 2
#
# -L unit: only the cmocka executables (weft_add_test). The other tests run shell scripts
# (examples, install, curl); valgrind would check bash, not weft. Tests that cannot run under
# valgrind are left out in one of two ways, each with its reason beside it: listed in
# WEFT_VALGRIND_SKIP below, or labelled novalgrind where they are declared (then add
# -LE novalgrind, as scripts/test does). docs/reliability.md lists them. A sanitizer build
# cannot run under valgrind: use a plain one.
if(NOT WEFT_BUILD_TESTS)
    return()
endif()

find_program(MEMORYCHECK_COMMAND valgrind DOC "valgrind, for ctest -T memcheck")
set(MEMORYCHECK_SUPPRESSIONS_FILE ${PROJECT_SOURCE_DIR}/tests/reliability/valgrind.supp
    CACHE FILEPATH "Suppressions for ctest -T memcheck")
# --child-silent-after-fork: tests that fork and exec a server would otherwise print valgrind's
# report for the short-lived child between fork and exec.
set(MEMORYCHECK_COMMAND_OPTIONS
    "--leak-check=full --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite,possible --error-exitcode=1 --num-callers=32 --child-silent-after-fork=yes")

# include(CTest) writes DartConfiguration.tcl, which ctest -T memcheck needs. Without this
# property it would also add a dozen dashboard targets (Experimental, Nightly, ...) we never use.
set_property(GLOBAL PROPERTY CTEST_TARGETS_ADDED 1)
include(CTest)

# Tests that cannot run under valgrind; ctest -T memcheck skips them (they still run in every
# other configuration). Keep the reason next to each name.
set(WEFT_VALGRIND_SKIP
    # valgrind 3.19 does not know epoll_pwait2 (syscall 441, "unhandled"), so the poll layer falls
    # back to epoll_wait; this test counts the kernel waits of each path and injects faults into
    # epoll_pwait2 itself.
    test_poll_eintr
    # lowers RLIMIT_NOFILE to fill the fd table; valgrind keeps fds of its own near the limit and
    # rejects ("invalid file descriptor") the fds the test frees and accepts again.
    test_tcp_emfile)
string(REPLACE ";" " " _weft_skip "${WEFT_VALGRIND_SKIP}")
file(WRITE ${PROJECT_BINARY_DIR}/CTestCustom.cmake
     "# Written by cmake/valgrind.cmake.\nset(CTEST_CUSTOM_MEMCHECK_IGNORE ${_weft_skip})\n")
