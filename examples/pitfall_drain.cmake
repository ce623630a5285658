# pitfall_drain: edge-triggered readiness, one read per event (stuck) vs read until EAGAIN.
weft_add_example(pitfall_drain
    ORDERED
    EXPECT "^  wait: no event within 200 ms, with 4096 bytes still unread: stuck$"
           "^  all 8192 bytes read$")
