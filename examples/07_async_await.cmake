# 07: the book's chapter-7 pair: five requests (delays 0..4000 ms, scaled by 0.05 here) awaited
# one after another, then the same five joined; both print ELAPSED TIME.
weft_add_example(07_async_await
    SERVER weft-delayserver
    ARGS --delay-scale 0.05 @ADDR@
    EXPECT "^Program starting" "/0/HelloWorld0 -> 200 HelloWorld0$"
           "/200/HelloWorld4 -> 200 HelloWorld4$" "^ELAPSED TIME: .*one after another"
           "^The same 5 requests, joined" "/200/HelloWorld4 -> 200 HelloWorld4$"
           "^ELAPSED TIME: .*joined"
    ORDERED)
