// NumPy .npy bytes (the tensors `kiln run` reads).
#include <string>

#include "kiln/npy.h"
#include "fuzz_common.h"

KILN_FUZZ_TARGET({ kiln::parse_npy(std::string(input), "fuzz.npy"); })
