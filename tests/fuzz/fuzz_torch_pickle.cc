// pytorch_model.bin bytes: the zip directory, the pickle machine and the tensor views it rebuilds.
#include "frontend/torch_pickle.h"
#include "fuzz_common.h"

KILN_FUZZ_TARGET({ kiln::frontend::read_torch_state_dict_bytes(input, "fuzz.bin"); })
