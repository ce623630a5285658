# 01: the event queue by itself (the epoll example of "Asynchronous Programming in Rust", ch. 4).
# Five requests with delays 250..50 ms; the responses must come back in reverse order.
weft_add_example(01_event_queue
    SERVER weft-delayserver
    ARGS --delay-scale 0.05 @ADDR@
    EXPECT "^RECEIVED: token 4" "^request-4$" "^request-0$" "^FINISHED$"
    ORDERED)
