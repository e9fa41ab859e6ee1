// kiln._kiln: the Python extension over Kiln's public C++ API (include/kiln/). Everything here converts
// arguments and results; the behaviour is the library's, so Python, the CLI and the server agree.
//
// Errors: kiln::Error and its kinds become Python exceptions of the same names (kiln.Error, with
// kiln.InvalidInputError, also a ValueError; kiln.InternalError; kiln.QueueFullError), carrying the
// library's message unchanged: the same text the CLI prints after "kiln: error: ".
#include <pybind11/pybind11.h>

#include "compile_binding.h"
#include "kiln/engine.h"
#include "kiln/error.h"
#include "kiln/version.h"
#include "model_binding.h"

namespace py = pybind11;

PYBIND11_MODULE(_kiln, m) {
  m.doc() = "Kiln's C++ core (use the kiln package, not this module)";
  // py::exception's base may be a tuple of classes (PyErr_NewException takes one).
  static py::exception<kiln::Error> error(m, "Error", PyExc_RuntimeError);
  static py::exception<kiln::InvalidInputError> invalid(m, "InvalidInputError",
                                                        py::make_tuple(error, py::handle(PyExc_ValueError)));
  static py::exception<kiln::InternalError> internal(m, "InternalError", error.ptr());
  static py::exception<kiln::QueueFullError> queue_full(m, "QueueFullError", error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const kiln::QueueFullError& e) {
      PyErr_SetString(queue_full.ptr(), e.what());
    } catch (const kiln::InvalidInputError& e) {
      PyErr_SetString(invalid.ptr(), e.what());
    } catch (const kiln::InternalError& e) {
      PyErr_SetString(internal.ptr(), e.what());
    } catch (const kiln::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });
  m.attr("__version__") = kiln::version();
  kiln::python::bind_model(m);
  kiln::python::bind_compile(m);
}
