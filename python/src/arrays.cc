#include "arrays.h"

#include <cstring>

#include "kiln/error.h"

namespace kiln::python {

namespace {

struct DtypePair {
  py::dtype numpy;
  DType kiln;
};

const std::vector<DtypePair>& dtype_table() {
  // Built on first use, with the GIL held (every caller holds it), and kept for the process.
  static const auto* table = new std::vector<DtypePair>{
      {py::dtype::of<float>(), DType::f32},     {py::dtype::of<double>(), DType::f64},
      {py::dtype("float16"), DType::f16},       {py::dtype::of<int64_t>(), DType::i64},
      {py::dtype::of<int32_t>(), DType::i32},   {py::dtype::of<int8_t>(), DType::i8},
      {py::dtype::of<uint8_t>(), DType::u8},    {py::dtype::of<bool>(), DType::boolean}};
  return *table;
}

// "float32"; the byte order too when it is not native (">f4": big-endian float32).
std::string dtype_text(const py::dtype& d) {
  std::string name = py::str(static_cast<py::handle>(d)).cast<std::string>();
  return d.attr("isnative").cast<bool>() ? name : py::str(d.attr("str")).cast<std::string>();
}

}  // namespace

Tensor input_tensor(const std::string& name, py::handle value, std::vector<py::object>& keep) {
  py::object numpy = py::module_::import("numpy");
  py::array array;
  if (py::isinstance<py::array>(value)) {
    array = py::reinterpret_borrow<py::array>(value);
  } else {
    try {
      array = numpy.attr("asarray")(value);
    } catch (py::error_already_set& e) {
      fail("input '", name, "': cannot read a ", py::str(value.get_type().attr("__name__")).cast<std::string>(),
           " as an array (", e.what(), "); pass a NumPy array or a torch tensor");
    }
  }
  const DType* dtype = nullptr;
  for (const DtypePair& p : dtype_table())
    if (array.dtype().equal(p.numpy)) dtype = &p.kiln;
  if (!dtype) {
    std::string accepted;
    for (const DtypePair& p : dtype_table()) accepted += (accepted.empty() ? "" : ", ") + dtype_text(p.numpy);
    fail("input '", name, "': dtype ", dtype_text(array.dtype()), " is not one Kiln takes (", accepted,
         "; native byte order)");
  }
  if (!(array.flags() & py::array::c_style)) array = numpy.attr("ascontiguousarray")(array);  // the one copy
  Dims dims(array.shape(), array.shape() + array.ndim());
  keep.push_back(array);
  return Tensor::view(*dtype, std::move(dims), const_cast<void*>(array.data()));
}

py::array to_numpy(const Tensor& tensor) {
  std::vector<py::ssize_t> shape(tensor.dims().begin(), tensor.dims().end());
  if (tensor.dtype() == DType::bf16) {
    py::array_t<float> out(shape);
    const auto* in = tensor.data_as<uint16_t>();
    float* o = out.mutable_data();
    for (int64_t i = 0; i < tensor.numel(); ++i) {
      uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
      std::memcpy(&o[i], &bits, 4);
    }
    return out;
  }
  py::dtype dtype = py::dtype::of<float>();
  for (const DtypePair& p : dtype_table())
    if (p.kiln == tensor.dtype()) dtype = p.numpy;
  if (tensor.numel() == 0) return py::array(dtype, shape);
  // The capsule owns a copy of the Tensor object: it shares the buffer, so the array keeps it alive.
  auto* owner = new Tensor(tensor);
  py::capsule base(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(dtype, shape, const_cast<void*>(owner->data()), base);
}

}  // namespace kiln::python
