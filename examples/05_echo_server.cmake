# 05_echo_server: one coroutine per connection, and a graceful shutdown on SIGINT. The smoke test
# runs the built-in self-test: the server and 8 clients (50 round trips each) in one runtime, no
# external client needed. Each client, after its first echo, holds its connection open until all 8
# have had one, so "8 connection(s) open at once" witnesses that they were served concurrently (a
# server that served one connection at a time fails it: the clients give up at a 10 s guard).
weft_add_example(05_echo_server
    ARGS --selftest 8 --rounds 50
    ORDERED
    EXPECT "^listening on 127\\.0\\.0\\.1:[0-9]+$"
           "^shutdown: [0-9] connection\\(s\\) finished, 0 cancelled at the deadline$"
           "^selftest: the server had 8 connection\\(s\\) open at once$"
           "^selftest: 8 of 8 clients echoed 50 lines each correctly$")

# SIGINT to a running server with a connected client: it stops accepting, cancels what is still
# open at its grace deadline (or not, if the client hangs up first), says so and exits 0.
if(WEFT_BUILD_TESTS)
    add_test(NAME example_05_echo_server_sigint
             COMMAND ${PROJECT_SOURCE_DIR}/tests/tools/echo-server-sigint.sh
                     $<TARGET_FILE:05_echo_server>)
    set_tests_properties(example_05_echo_server_sigint PROPERTIES TIMEOUT 60 LABELS example)
endif()
