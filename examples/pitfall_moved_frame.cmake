# pitfall_moved_frame: the runtime polls the frame where it was spawned, not a copy of it.
weft_add_example(pitfall_moved_frame
    ORDERED
    EXPECT "never saw the stop request" "points into p \\(the original\\)$"
           "^  the job saw the stop request before its 10 rounds were up$")
