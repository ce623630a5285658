# 04_reactor_executor: five tasks, an executor loop written out in main(), a reactor that wakes
# exactly the task whose socket has data. Delays 250..50 ms: the answers arrive in reverse order,
# and every request is sent before the first answer (an order, not a time, that shows the five
# overlap: tasks run one after another print request-0 right after "sent ... request-0").
weft_add_example(04_reactor_executor
    SERVER weft-delayserver
    ARGS --delay-scale 0.05 @ADDR@
    ORDERED
    EXPECT "^sent GET /[0-9]+/request-0$" "^sent GET /[0-9]+/request-4$"
           "^main: 5 pending tasks\\. Sleep until notified\\.$" "^request-4$" "^request-3$"
           "^request-2$" "^request-1$" "^request-0$" "^main: All tasks are finished$")
