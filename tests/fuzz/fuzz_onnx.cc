// ONNX model bytes: the operator table (analyze) and the import into Kiln's IR. External data is refused
// (no directory), so the fuzzer never reads files.
#include "frontend/onnx_import.h"
#include "fuzz_common.h"

KILN_FUZZ_TARGET({
  kiln::frontend::analyze_onnx_bytes(input, "fuzz.onnx");
  kiln::frontend::import_onnx_bytes(input, "fuzz.onnx");
})
