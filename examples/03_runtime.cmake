# 03_runtime: block_on parks in the poll layer and resumes the root coroutine on its socket's event
# (the book's chapter-8 first runtime). Two requests, 600 ms then 400 ms.
weft_add_example(03_runtime
    SERVER weft-fixture-delayserver
    ARGS @ADDR@
    ORDERED
    EXPECT "^Program starting$" "^FIRST POLL - START OPERATION$" "^Schedule other tasks$"
           "resumed by an event after" "^HelloWorld1$" "^FIRST POLL - START OPERATION$"
           "^Schedule other tasks$" "^HelloWorld2$" "^main: finished$")
