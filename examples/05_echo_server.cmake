# 05_echo_server: one coroutine per connection. The smoke test runs the built-in self-test: the
# server and 8 clients (50 round trips each) in one runtime, no external client needed.
weft_add_example(05_echo_server
    ARGS --selftest 8 --rounds 50
    ORDERED
    EXPECT "^listening on 127\\.0\\.0\\.1:[0-9]+$"
           "^selftest: 8 of 8 clients echoed 50 lines each correctly$")
