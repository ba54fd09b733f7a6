# cmake -DCOMMAND="prog;arg;..." -DEXPECT="regex" [-DEXPECT_STDERR="regex"] -P expect_success.cmake
# Passes when the command exits with status 0 and its stdout matches EXPECT;
# stderr must be empty, or match EXPECT_STDERR when that is given (a note).
# PASS_REGULAR_EXPRESSION alone would pass a tool that printed the right
# lines and then failed.
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE status ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT status STREQUAL "0")
  message(FATAL_ERROR "expected exit status 0, got '${status}'; stderr: ${err}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "stdout does not match '${EXPECT}':\n${out}")
endif()
if(DEFINED EXPECT_STDERR)
  if(NOT err MATCHES "${EXPECT_STDERR}")
    message(FATAL_ERROR "stderr does not match '${EXPECT_STDERR}':\n${err}")
  endif()
elseif(NOT err STREQUAL "")
  message(FATAL_ERROR "expected nothing on stderr, got:\n${err}")
endif()
message(STATUS "exit 0:\n${out}${err}")
