# pitfall_switch: a suspension inside a switch loses its resume point (switch implementation).
weft_add_example(pitfall_switch
    ORDERED
    EXPECT "^  poll 2 failed: coroutine resume point lost" "^  finished after 4 polls: 3 changes$")
