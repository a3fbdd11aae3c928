# determinism.cmake: runs `hearsay-sim determinism` twice in separate processes and fails
# unless both runs pass and print the same digest of the full event and packet trace.
# Usage: cmake -DSIM=/path/to/hearsay-sim -P determinism.cmake
foreach(run 1 2)
  execute_process(COMMAND ${SIM} determinism --nodes 100 --duration 40 --seed 42 --quiet
                  OUTPUT_VARIABLE out${run} RESULT_VARIABLE rc${run})
  message("run ${run}: ${out${run}}")
  if(NOT rc${run} EQUAL 0)
    message(FATAL_ERROR "determinism run ${run} failed (exit ${rc${run}})")
  endif()
  string(REGEX MATCH "digest=[0-9a-f]+" d${run} "${out${run}}")
endforeach()
if(NOT d1 OR NOT d1 STREQUAL d2)
  message(FATAL_ERROR "digests differ between processes: '${d1}' vs '${d2}'")
endif()
message("same digest in both processes: ${d1}")
