// NumPy arrays <-> kiln::Tensor at the Python boundary. The one place the package copies data, and the
// rules for when it must (docs/python.md, "Arrays").
#pragma once

#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "kiln/tensor.h"

namespace kiln::python {

namespace py = pybind11;

// The model input `name` from a NumPy array (or anything np.asarray accepts). A C-contiguous array of a
// dtype Kiln takes (float32, float64, float16, int64, int32, int8, uint8, bool, in native byte order) is
// viewed in place: no copy, and `keep` holds a reference for as long as the view is used. Any other
// layout (strided, Fortran order, a transposed view) is copied once into C order. Other dtypes throw
// InvalidInputError naming the input, the dtype found and the dtypes accepted; the Engine then checks the
// dtype and shape against the model. Needs the GIL.
Tensor input_tensor(const std::string& name, py::handle value, std::vector<py::object>& keep);

// A NumPy array over the tensor's buffer (no copy; the array holds a reference to the buffer, so it
// outlives the tensor). bf16 has no NumPy dtype: it is widened to float32 (a copy). Needs the GIL.
py::array to_numpy(const Tensor& tensor);

}  // namespace kiln::python
