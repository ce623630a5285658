# 02b_generator: generators on the coroutine macros, composed and cancelled.
weft_add_example(02b_generator
    ORDERED
    EXPECT "^fibonacci up to 100: 0 1 1 2 3 5 8 13 21 34 55 89$"
           "^even ones up to 1000: 0 2 8 34 144 610$"
           "^the first five of a long sequence: 0 1 1 2 3$"
           "^fib: cleanup after 5 values$"
           "^cancelled: Operation canceled$"
           "^polled again: coroutine already finished$")
