# 01: the event queue by itself (the epoll example of "Asynchronous Programming in Rust", ch. 4).
# Five requests with delays 250..50 ms; the responses must come back in reverse order, and all
# five requests must be sent before the first answer (the order, not a time, shows they overlap:
# a program that waited for each answer before the next request fails "^SENT: token 4" then
# "^RECEIVED: token 4" then "^request-0$", in whatever order it sent them).
weft_add_example(01_event_queue
    SERVER weft-delayserver
    ARGS --delay-scale 0.05 @ADDR@
    EXPECT "^SENT: token 0," "^SENT: token 4," "^RECEIVED: token 4" "^request-4$" "^request-0$"
           "^FINISHED$"
    ORDERED)
