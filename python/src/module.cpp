// python/src/module.cpp: the hyena Python module: the library's operators and
// models on NumPy arrays (and PyTorch CPU tensors through .numpy()), without
// copies, with the GIL released while they compute.
#include <pybind11/pybind11.h>

#include <stdexcept>

#include <hyena/io/safetensors_error.hpp>

#include "bindings.hpp"

PYBIND11_MODULE(hyena, m) {
  namespace py = pybind11;
  m.doc() = R"doc(
Hyena operators and models on NumPy arrays, from the header-only C++ library.

Arrays are used in place: an argument must be a numpy.ndarray of the expected
dtype (float32 or float64 as the object was made; int64 token ids),
C-contiguous and of the expected shape, or a TypeError / ValueError says what
was expected. Nothing is copied or converted behind your back. PyTorch CPU
tensors pass without a copy as tensor.numpy(). Every call that computes
releases the GIL.

Errors: bad arguments raise ValueError (the library's std::invalid_argument),
malformed weight files hyena.SafetensorsError (a ValueError), sizes beyond
the machine's memory MemoryError.
)doc";
  m.attr("__version__") = "0.1.0";

  // SafetensorsError subclasses ValueError: a malformed file is bad input.
  // Deliberately never freed: a static py::object would be released by a
  // C++ destructor after the interpreter has shut down.
  static const auto* safetensors_error =
      new py::exception<hyena::safetensors_error>(m, "SafetensorsError", PyExc_ValueError);
  // Local to this module: other extensions' length_errors keep their own mapping.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const hyena::safetensors_error& e) {
      PyErr_SetString(safetensors_error->ptr(), e.what());
    } catch (const std::length_error& e) {
      // The library throws length_error for sizes that overflow or exceed the
      // machine's memory: an allocation that cannot succeed.
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });

  hyena::python::bind_conv(m);
  hyena::python::bind_operator(m);
  hyena::python::bind_lm(m);
  hyena::python::bind_io(m);
  hyena::python::bind_attention(m);
}
