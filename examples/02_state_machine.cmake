# 02_state_machine: the book's chapter-7 coroutine, by hand and with weft's macros.
weft_add_example(02_state_machine
    SERVER weft-delayserver
    ARGS @ADDR@
    ORDERED
    EXPECT "^== 1\\. by hand" "^Program starting$" "^FIRST POLL - START OPERATION$"
           "^Schedule other tasks$" "^HelloWorld1$" "^FIRST POLL - START OPERATION$"
           "^Schedule other tasks$" "^HelloWorld2$"
           "^== 2\\. with weft's macros" "^Program starting$" "^FIRST POLL - START OPERATION$"
           "^Schedule other tasks$" "^HelloWorld1$" "^FIRST POLL - START OPERATION$"
           "^Schedule other tasks$" "^HelloWorld2$" "^both finished: [0-9]+ [0-9]+$")
