# Runs the same seeds twice with the full trace on and fails unless the outputs are identical.
foreach(run a b)
  execute_process(COMMAND ${SIM} --seeds 3 --start 42 --trace OUTPUT_VARIABLE out_${run}
                  RESULT_VARIABLE rc_${run})
  if(NOT rc_${run} EQUAL 0)
    message(FATAL_ERROR "raft-sim failed (${rc_${run}})")
  endif()
endforeach()
string(LENGTH "${out_a}" len)
if(NOT out_a STREQUAL out_b OR len LESS 1000)
  message(FATAL_ERROR "raft-sim output differs between two runs of the same seeds (len ${len})")
endif()
message(STATUS "identical: ${len} bytes")
