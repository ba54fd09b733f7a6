// python/src/io.cpp: safetensors files to and from dicts of NumPy arrays.
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>

#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "weights.hpp"

namespace hyena::python {

namespace {

template <class T>
py::object tensor_array(const safetensors_file& file, const tensor_info& info) {
  std::vector<T> values = file.read<T>(info.name);
  py::array_t<T> out(std::vector<py::ssize_t>(info.shape.begin(), info.shape.end()));
  std::copy(values.begin(), values.end(), out.mutable_data());
  return py::object(std::move(out));
}

py::dict load_safetensors(py::handle path_obj) {
  const std::string path = path_of(path_obj, "path");
  const safetensors_file file = [&] {
    py::gil_scoped_release nogil;
    return safetensors_file::load(path);
  }();
  py::dict tensors;
  for (const std::string& name : file.names()) {
    const tensor_info& info = file.info(name);
    switch (info.type) {
      case dtype::f64: tensors[py::str(name)] = tensor_array<double>(file, info); break;
      case dtype::i64: tensors[py::str(name)] = tensor_array<std::int64_t>(file, info); break;
      case dtype::i32: tensors[py::str(name)] = tensor_array<std::int32_t>(file, info); break;
      default: tensors[py::str(name)] = tensor_array<float>(file, info); break;  // F32, and F16 / BF16 widened
    }
  }
  return tensors;
}

std::map<std::string, std::string> safetensors_metadata(py::handle path_obj) {
  const std::string path = path_of(path_obj, "path");
  py::gil_scoped_release nogil;
  return safetensors_file::load(path).metadata();
}

void save_safetensors(py::handle path_obj, const py::dict& tensors, const std::map<std::string, std::string>& metadata) {
  const std::string path = path_of(path_obj, "path");
  safetensors_writer writer;
  for (const auto& [key, value] : metadata) writer.add_metadata(key, value);
  for (const auto& item : tensors) {
    const array_entry e(item.first, item.second, "tensors");
    const py::array& a = e.array;
    require_c_layout(a, e.name.c_str());
    const std::vector<index_t> shape = e.shape();
    const std::string& key = e.key;
    if (a.dtype().equal(py::dtype::of<float>())) writer.add(key, shape, view<float>(a));
    else if (a.dtype().equal(py::dtype::of<double>())) writer.add(key, shape, view<double>(a));
    else if (a.dtype().equal(py::dtype::of<std::int64_t>())) writer.add(key, shape, view<std::int64_t>(a));
    else if (a.dtype().equal(py::dtype::of<std::int32_t>())) writer.add(key, shape, view<std::int32_t>(a));
    else throw_type(detail::concat(e.name, ": expected float32, float64, int64 or int32, got ", dtype_name(a.dtype())));
  }
  py::gil_scoped_release nogil;
  writer.save(path);
}

}  // namespace

void bind_io(py::module_& m) {
  m.def("load_safetensors", &load_safetensors, py::arg("path"),
        "Every tensor of a safetensors file as {name: ndarray}: F32, F64, I64, I32 as stored, F16 and BF16 "
        "widened to float32. Malformed files raise SafetensorsError naming the problem.");
  m.def("safetensors_metadata", &safetensors_metadata, py::arg("path"), "The file's __metadata__ as a dict of str.");
  m.def("save_safetensors", &save_safetensors, py::arg("path"), py::arg("tensors"),
        py::arg("metadata") = std::map<std::string, std::string>{},
        "Writes {name: ndarray} (float32, float64, int64 or int32, C-contiguous) as a safetensors file.");
}

}  // namespace hyena::python
