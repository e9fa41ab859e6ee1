// A .safetensors file: header length, JSON header, tensor offsets and the f32/f16/bf16 conversion.
#include "frontend/safetensors.h"
#include "fuzz_common.h"

KILN_FUZZ_TARGET({ kiln::frontend::read_safetensors_bytes(input, "fuzz.safetensors"); })
