# pitfall_locals: a loop counter kept in a local is reset on every poll; in the frame it works.
weft_add_example(pitfall_locals
    ORDERED
    EXPECT "^  still not finished after 8 polls" "^  finished after 4 polls with result 3$")
