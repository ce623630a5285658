# 07: the book's chapter-7 pair: five requests (delays 0..4000 ms, scaled by 0.05 here) awaited
# one after another, then the same five joined; both print ELAPSED TIME. Each request prints GET
# when it starts: joined, the last GET must come before the first answer (an order, where the
# elapsed times are not checked; a join that ran its children in turn fails it).
weft_add_example(07_async_await
    SERVER weft-delayserver
    ARGS --delay-scale 0.05 @ADDR@
    EXPECT "^Program starting" "^GET .*/0/HelloWorld0$" "/0/HelloWorld0 -> 200 HelloWorld0$"
           "^GET .*/200/HelloWorld4$" "/200/HelloWorld4 -> 200 HelloWorld4$"
           "^ELAPSED TIME: .*one after another"
           "^The same 5 requests, joined" "^GET .*/200/HelloWorld4$"
           "/0/HelloWorld0 -> 200 HelloWorld0$" "/200/HelloWorld4 -> 200 HelloWorld4$"
           "^ELAPSED TIME: .*joined"
    ORDERED)
