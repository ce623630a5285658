# timers_deadlines: sleepers wake in deadline order, a read deadline, select against a timer.
weft_add_example(timers_deadlines
    SERVER weft-delayserver
    ARGS @ADDR@
    ORDERED
    EXPECT "^  B woke" "^  C woke" "^  A woke" "Connection timed out" "^  reading on.*\"slow\""
           "the timer won" "the request won")
