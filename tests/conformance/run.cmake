# CTest conformance.onnx_node_tests: generate ONNX's node tests into the build dir, then run them with --check.
execute_process(COMMAND ${PY} ${SRC}/tests/conformance/generate_node_tests.py ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "generate_node_tests.py failed (${rc})")
endif()
execute_process(COMMAND ${PY} ${SRC}/tests/conformance/run_node_tests.py --kiln ${KILN} --session-runner ${RUNNER}
                  --tests ${OUT} --constant-operands --json ${OUT}.json --check
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "run_node_tests.py --check failed")
endif()
