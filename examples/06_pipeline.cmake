# 06: producer -> channel -> workers -> channel -> consumer; back-pressure from bounded channels,
# a select with an idle timeout and Ctrl-C, shutdown by a chain of closes. Prints throughput.
weft_add_example(06_pipeline
    ARGS 20000 4
    ORDERED
    EXPECT "^pipeline: 20000 items through 4 workers in [0-9.]+ ms \\([0-9]+ items/s\\)$"
           "^producer: waited for room [1-9][0-9]* times"
           "^checksum: ok$")
