# style.cmake: fails if any C file is not clang-formatted (ctest entry style.clang-format).
file(GLOB_RECURSE files ${SRC}/lib/*.[ch] ${SRC}/include/*.h ${SRC}/agent/*.[ch] ${SRC}/tests/*.[ch])
execute_process(COMMAND clang-format --dry-run -Werror ${files} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format: files above need formatting (clang-format -i)")
endif()
