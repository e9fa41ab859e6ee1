// kiln._kiln.compile_file / analyze / bench / bench_sweep: the compiler and the measuring tools, called by
// kiln.compile, kiln.analyze and kiln.bench (python/kiln/__init__.py).
#pragma once

#include <pybind11/pybind11.h>

namespace kiln::python {

void bind_compile(pybind11::module_& m);

}  // namespace kiln::python
