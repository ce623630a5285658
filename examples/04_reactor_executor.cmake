# 04_reactor_executor: five tasks, an executor loop written out in main(), a reactor that wakes
# exactly the task whose socket has data. Delays 250..50 ms: the answers arrive in reverse order.
weft_add_example(04_reactor_executor
    SERVER weft-delayserver
    ARGS --delay-scale 0.05 @ADDR@
    ORDERED
    EXPECT "^main: 5 pending tasks\\. Sleep until notified\\.$" "^request-4$" "^request-3$"
           "^request-2$" "^request-1$" "^request-0$" "^main: All tasks are finished$")
