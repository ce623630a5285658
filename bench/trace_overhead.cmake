# trace_overhead (issue 7): the cost of the trace hooks while tracing is off. One benchmark,
# built against two builds of the runtime layer that differ only in WEFT_TRACE_COMPILED:
#
#   trace_overhead_on    the runtime as shipped: hooks compiled in, one branch each
#   trace_overhead_off   the runtime with WEFT_TRACE_COMPILED=0: no hooks at all
#
# python3 bench/trace_overhead.py <build dir> runs them interleaved and prints the medians.

file(GLOB _weft_runtime_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/runtime/*.c)
add_library(bench_weft_runtime_notrace OBJECT ${_weft_runtime_sources})
target_include_directories(bench_weft_runtime_notrace PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(bench_weft_runtime_notrace PRIVATE weft_coro) # include dirs, CORO_LABELS
target_compile_definitions(bench_weft_runtime_notrace PRIVATE WEFT_TRACE_COMPILED=0)
target_compile_options(bench_weft_runtime_notrace PRIVATE ${WEFT_WARNINGS})

set(_weft_base_objects $<TARGET_OBJECTS:weft_common> $<TARGET_OBJECTS:weft_poll>
                       $<TARGET_OBJECTS:weft_coro>)
weft_add_bench(trace_overhead_on SOURCES trace_overhead.c ${_weft_base_objects}
               $<TARGET_OBJECTS:weft_runtime> LIBS weft_coro Threads::Threads)
weft_add_bench(trace_overhead_off SOURCES trace_overhead.c ${_weft_base_objects}
               $<TARGET_OBJECTS:bench_weft_runtime_notrace> LIBS weft_coro Threads::Threads)
target_compile_definitions(trace_overhead_off PRIVATE WEFT_TRACE_COMPILED=0)
add_custom_target(bench_trace_overhead DEPENDS trace_overhead_on trace_overhead_off)
