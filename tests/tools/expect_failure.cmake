# cmake -DCOMMAND="prog;arg;..." -DEXIT=N -DEXPECT="regex" -P expect_failure.cmake
# Passes when the command exits with status N (non-zero: 1 for bad input or a
# failure while running, 2 for a usage error) and prints exactly one line on
# stderr matching EXPECT: how hyena's tools must report problems.
if(NOT DEFINED EXIT OR NOT EXIT MATCHES "^[1-9][0-9]*$")
  message(FATAL_ERROR "expect_failure.cmake: pass the expected non-zero exit status as -DEXIT=N, got '${EXIT}'")
endif()
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE status ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT status STREQUAL "${EXIT}")
  message(FATAL_ERROR "expected exit status ${EXIT}, got '${status}'; stderr: ${err}")
endif()
string(STRIP "${err}" stripped)
string(FIND "${stripped}" "\n" newline)
if(NOT newline EQUAL -1)
  message(FATAL_ERROR "expected one line on stderr, got:\n${err}")
endif()
if(NOT stripped MATCHES "${EXPECT}")
  message(FATAL_ERROR "stderr does not match '${EXPECT}':\n${err}")
endif()
message(STATUS "exit ${status}: ${stripped}")
