# determinism.cmake: runs hearsay-sim twice in separate processes and fails unless both runs
# pass and print the same digest of the full trace. ARGS (a |-separated argument list) names
# the run; the default is the gossip simulator's `determinism` scenario.
# Usage: cmake -DSIM=/path/to/hearsay-sim [-DARGS="replay|--nodes|50"] -P determinism.cmake
if(ARGS)
  string(REPLACE "|" ";" RUN_ARGS "${ARGS}")
else()
  set(RUN_ARGS determinism --nodes 100 --duration 40 --seed 42 --quiet)
endif()
foreach(run 1 2)
  execute_process(COMMAND ${SIM} ${RUN_ARGS} OUTPUT_VARIABLE out${run} RESULT_VARIABLE rc${run})
  message("run ${run}: ${out${run}}")
  if(NOT rc${run} EQUAL 0)
    message(FATAL_ERROR "run ${run} failed (exit ${rc${run}})")
  endif()
  string(REGEX MATCH "digest=[0-9a-f]+" d${run} "${out${run}}")
endforeach()
if(NOT d1 OR NOT d1 STREQUAL d2)
  message(FATAL_ERROR "digests differ between processes: '${d1}' vs '${d2}'")
endif()
message("same digest in both processes: ${d1}")
