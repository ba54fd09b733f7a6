// python/src/weights.hpp: weights from a path or from a dict of arrays (a
// PyTorch state_dict converted with .numpy()), as a parsed safetensors file,
// so both go through the library's own key table and shape checks.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>

#include "arrays.hpp"

namespace hyena::python {

/// os.fspath(obj) for a str or os.PathLike; TypeError otherwise.
inline std::string path_of(py::handle obj, const char* name) {
  if (!py::isinstance<py::str>(obj) && !py::isinstance<py::bytes>(obj) && !py::hasattr(obj, "__fspath__"))
    throw_type(detail::concat(name, ": expected a path (str or os.PathLike) or a dict of arrays, got ", type_name(obj)));
  // fsdecode: a PathLike of bytes gives its file name, not "b'...'".
  return py::module_::import("os").attr("fsdecode")(obj).cast<std::string>();
}

/// The tensors of a dict {name: ndarray} as a safetensors file in memory.
/// Weights are copied into the model anyway, so any layout is taken; the
/// dtype must be float32 or float64 (TypeError naming the key otherwise).
inline safetensors_file file_from_dict(const py::dict& tensors) {
  safetensors_writer writer;
  for (const auto& item : tensors) {
    const array_entry e(item.first, item.second, "state_dict");
    const py::array& a = e.array;
    auto add = [&](auto tag) {
      using T = decltype(tag);
      const auto contiguous = py::array_t<T, py::array::c_style>::ensure(a);
      writer.add(e.key, e.shape(), span<const T>(contiguous.data(), index_t(contiguous.size())));
    };
    if (a.dtype().equal(py::dtype::of<float>()))
      add(float{});
    else if (a.dtype().equal(py::dtype::of<double>()))
      add(double{});
    else
      throw_type(detail::concat(e.name, ": expected a float32 or float64 array, got ", dtype_name(a.dtype())));
  }
  return safetensors_file::parse(writer.bytes(), "<state_dict>");
}

/// A path's file, or a dict's tensors.
inline safetensors_file weights_file(py::handle source, const char* name) {
  if (py::isinstance<py::dict>(source)) return file_from_dict(py::reinterpret_borrow<py::dict>(source));
  const std::string path = path_of(source, name);
  py::gil_scoped_release nogil;
  return safetensors_file::load(path);
}

}  // namespace hyena::python
