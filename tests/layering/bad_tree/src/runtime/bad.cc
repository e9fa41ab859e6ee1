// A runtime file that includes the compiler: check_includes.py must reject it (CTest layering.detects_violation).
#include "compiler/calibration.h"
