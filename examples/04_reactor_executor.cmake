# 04_reactor_executor: five tasks, an executor loop written out in main(), a reactor that wakes
# exactly the task whose socket has data. Delays 1250..250 ms (--delay-scale 0.25): every
# request is sent before the first answer (an order, not a time, that shows the five overlap:
# tasks run one after another print request-0 right after "sent ... request-0"), and request-4
# is answered before request-0, the reverse of the requests. That order is a time: the two delays
# are 1 s apart, so only a 1 s stall between sending request-0 and request-4 swaps them. The
# neighbours, 250 ms apart, are not checked (docs/04 shows the whole order at full delays).
weft_add_example(04_reactor_executor
    SERVER weft-delayserver
    ARGS --delay-scale 0.25 @ADDR@
    ORDERED
    EXPECT "^sent GET /[0-9]+/request-0$" "^sent GET /[0-9]+/request-4$"
           "^main: 5 pending tasks\\. Sleep until notified\\.$" "^request-4$" "^request-0$"
           "^main: All tasks are finished$")
