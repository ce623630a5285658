# pitfall_blocking: usleep() in a task stops every task; weft_sleep_for() stops only its own.
weft_add_example(pitfall_blocking
    ORDERED
    EXPECT "^  did the ticker tick while the worker waited\\? no$"
           "^  did the ticker tick while the worker waited\\? yes$")
