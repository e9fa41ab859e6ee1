// kiln._kiln.Model: a compiled model opened for running, over kiln::Model and kiln::Engine. The Python
// class kiln.Model (python/kiln/model.py) wraps it with torch conversion and positional arguments.
#pragma once

#include <pybind11/pybind11.h>

namespace kiln::python {

void bind_model(pybind11::module_& m);

}  // namespace kiln::python
