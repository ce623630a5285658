# 01: the event queue by itself (the epoll example of "Asynchronous Programming in Rust", ch. 4).
# Five requests with delays 1250..250 ms (--delay-scale 0.25); all five requests must be sent
# before the first answer (the order, not a time, shows they overlap: a program that waited for
# each answer before the next request fails "^SENT: token 4" then "^RECEIVED: token 4" then
# "^request-0$", in whatever order it sent them), and request-4 must be answered before
# request-0: the server's order, not the order of the requests. That order is a time: the two
# delays are 1 s apart, so that only a 1 s stall between sending request-0 and request-4 flips it
# (the neighbours, 250 ms apart, are not checked).
weft_add_example(01_event_queue
    SERVER weft-delayserver
    ARGS --delay-scale 0.25 @ADDR@
    EXPECT "^SENT: token 0," "^SENT: token 4," "^RECEIVED: token 4" "^request-4$" "^request-0$"
           "^FINISHED$"
    ORDERED)
