// python/src/arrays.hpp: how the module takes NumPy arrays without copying
// them. An argument is used in place only if it is a numpy.ndarray of exactly
// the expected dtype, C-contiguous, aligned and of the expected shape;
// anything else is refused with an exception naming the argument, what was
// expected and what came (TypeError for the wrong type or dtype, ValueError
// for the wrong layout or shape), never copied or converted behind the
// caller's back.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <hyena/core/config.hpp>
#include <hyena/core/execution.hpp>
#include <hyena/core/span.hpp>
#include <hyena/detail/checks.hpp>

namespace hyena::python {

namespace py = pybind11;

/// "float32", "int64", ... as NumPy spells it.
inline std::string dtype_name(const py::dtype& dtype) { return py::str(py::handle(dtype.ptr())).cast<std::string>(); }

template <class T>
std::string dtype_name() {
  return dtype_name(py::dtype::of<T>());
}

/// "(2, 5, 16)", as NumPy prints a shape.
inline std::string shape_text(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

/// The type's name of `obj` ("list", "Tensor"), for messages.
inline std::string type_name(py::handle obj) { return py::str(py::type::of(obj).attr("__name__")).cast<std::string>(); }

[[noreturn]] inline void throw_type(const std::string& message) { throw py::type_error(message); }
[[noreturn]] inline void throw_value(const std::string& message) { throw py::value_error(message); }

/// The ndarray `obj` as is, or TypeError: a list or a torch tensor would
/// otherwise be converted (copied) by NumPy.
inline py::array require_ndarray(py::handle obj, const char* name) {
  if (!py::isinstance<py::array>(obj))
    throw_type(detail::concat(name, ": expected a numpy.ndarray, got ", type_name(obj),
                              " (a torch CPU tensor converts without a copy: pass tensor.numpy())"));
  // A masked array's mask would be ignored: refuse it rather than compute
  // on the masked-out values. (Other subclasses, numpy.memmap among them,
  // are plain arrays over their buffer.)
  if (py::hasattr(obj, "mask") && py::hasattr(obj, "filled"))
    throw_type(detail::concat(name, ": expected a numpy.ndarray, got a masked array (", type_name(obj),
                              "); pass .filled(value) or .data"));
  return py::reinterpret_borrow<py::array>(obj);
}

/// `a` holds T: TypeError naming the expected and received dtypes otherwise.
template <class T>
void require_dtype(const py::array& a, const char* name) {
  if (!a.dtype().equal(py::dtype::of<T>()))
    throw_type(detail::concat(name, ": expected a ", dtype_name<T>(), " array, got ", dtype_name(a.dtype()),
                              " (convert it yourself, e.g. with .astype(numpy.", dtype_name<T>(), "))"));
}

/// C-contiguous and aligned, so its buffer is a plain row-major T array.
inline void require_c_layout(const py::array& a, const char* name) {
  const int flags = py::detail::array_proxy(a.ptr())->flags;
  if (!(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_))
    throw_value(detail::concat(name, ": expected a C-contiguous array, got one with strides ", [&] {
      std::string s = "(";
      for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.strides(i));
      return s + ")";
    }(), " (numpy.ascontiguousarray makes a contiguous copy)"));
  if (!(flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw_value(detail::concat(name, ": expected an aligned array (its data is not aligned to its element size)"));
}

/// One dimension of an expected shape: a fixed extent, or any extent
/// (value 0) named for the message, e.g. {"batch"}.
struct dim {
  const char* name = nullptr;
  index_t value = 0;
  dim(const char* n) : name(n) {}           // NOLINT(google-explicit-constructor)
  dim(index_t v) : value(v) {}              // NOLINT(google-explicit-constructor)
  dim(int v) : value(index_t(v)) {}         // NOLINT(google-explicit-constructor)
};

inline std::string shape_text(std::initializer_list<dim> dims) {
  std::string s = "[";
  bool first = true;
  for (const dim& d : dims) {
    s += (first ? "" : ", ") + (d.name ? std::string(d.name) : std::to_string(d.value));
    first = false;
  }
  return s + "]";
}

/// `a` has the rank and fixed extents of `dims`: ValueError otherwise.
inline void require_shape(const py::array& a, const char* name, std::initializer_list<dim> dims) {
  bool ok = a.ndim() == py::ssize_t(dims.size());
  py::ssize_t i = 0;
  for (const dim& d : dims) {
    if (!ok) break;
    if (!d.name && index_t(a.shape(i)) != d.value) ok = false;
    ++i;
  }
  if (!ok) throw_value(detail::concat(name, ": expected shape ", shape_text(dims), ", got ", shape_text(a)));
}

/// An input of T used in place: ndarray, dtype T, C layout, shape `dims`.
template <class T>
py::array input(py::handle obj, const char* name, std::initializer_list<dim> dims) {
  py::array a = require_ndarray(obj, name);
  require_dtype<T>(a, name);
  require_c_layout(a, name);
  require_shape(a, name, dims);
  return a;
}

template <class T>
span<const T> view(const py::array& a) {
  return span<const T>(static_cast<const T*>(a.data()), index_t(a.size()));
}

template <class T>
span<T> mutable_view(py::array& a) {
  return span<T>(static_cast<T*>(a.mutable_data()), index_t(a.size()));
}

inline bool overlaps(const py::array& a, const py::array& b) {
  const auto* a0 = static_cast<const char*>(a.data());
  const auto* b0 = static_cast<const char*>(b.data());
  return a.nbytes() != 0 && b.nbytes() != 0 && a0 < b0 + b.nbytes() && b0 < a0 + a.nbytes();
}

/// One entry of a dict {str: ndarray}: its key, its name for messages
/// (`dict_name["key"]`) and the array, checked to be an ndarray.
struct array_entry {
  std::string key, name;
  py::array array;

  array_entry(py::handle k, py::handle value, const char* dict_name) {
    if (!py::isinstance<py::str>(k))
      throw_type(detail::concat(dict_name, ": keys must be str, got ", type_name(k)));
    key = k.cast<std::string>();
    name = detail::concat(dict_name, "[\"", key, "\"]");
    array = require_ndarray(value, name.c_str());
  }
  std::vector<index_t> shape() const { return std::vector<index_t>(array.shape(), array.shape() + array.ndim()); }
};

/// Where a result goes: `out` if given (checked as an input, plus writeable,
/// of exactly `shape`, and not overlapping any of `inputs`), else a new array.
template <class T>
py::array output(py::handle out, const std::vector<index_t>& shape, std::initializer_list<const py::array*> inputs = {},
                 const char* name = "out") {
  if (out.is_none()) return py::array_t<T>(std::vector<py::ssize_t>(shape.begin(), shape.end()));
  py::array a = require_ndarray(out, name);
  require_dtype<T>(a, name);
  require_c_layout(a, name);
  bool same = a.ndim() == py::ssize_t(shape.size());
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = index_t(a.shape(i)) == shape[i];
  if (!same) {
    std::string expected = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) expected += (i ? ", " : "") + std::to_string(shape[i]);
    throw_value(detail::concat(name, ": expected shape ", expected, shape.size() == 1 ? ",)" : ")", ", got ",
                               shape_text(a)));
  }
  if (!a.writeable()) throw_value(detail::concat(name, ": the array is read-only"));
  for (const py::array* in : inputs)
    if (in && overlaps(a, *in))
      throw_value(detail::concat(name, ": overlaps an input array (the result must go to separate memory)"));
  return a;
}

/// An int argument in [lowest, highest]: TypeError for anything but an int
/// (a bool or a float included), ValueError naming it when out of range
/// (compared as Python ints, so 2**70 is out of range, not an overflow).
inline index_t int_argument(py::handle value, const char* name, index_t lowest,
                            index_t highest = index_t(std::numeric_limits<long long>::max())) {
  if (!py::isinstance<py::int_>(value) || py::isinstance<py::bool_>(value))
    throw_type(detail::concat(name, ": expected an int, got ", type_name(value)));
  const py::object v = py::reinterpret_borrow<py::object>(value);
  if (v < py::int_(lowest) || v > py::int_(highest))
    throw_value(detail::concat(name, ": expected ", lowest, " to ", highest, ", got ", py::str(v).cast<std::string>()));
  return static_cast<index_t>(v.cast<unsigned long long>());
}

/// threads=None: the object's own setting (or every core); else an integer
/// from 0 (every core) to execution_context::max_threads.
inline execution_context execution_from(py::handle threads, const execution_context& fallback = {}) {
  if (threads.is_none()) return fallback;
  if (!py::isinstance<py::int_>(threads) || py::isinstance<py::bool_>(threads))
    throw_type(detail::concat("threads: expected an int or None, got ", type_name(threads)));
  const py::object v = py::reinterpret_borrow<py::object>(threads);
  if (v < py::int_(0) || v > py::int_(execution_context::max_threads))
    throw_value(detail::concat("threads: expected 0 (every core) to ", execution_context::max_threads, ", got ",
                               py::str(v).cast<std::string>()));
  return execution_context(v.cast<unsigned>());
}

/// The float type a `dtype=` keyword names: "float32", "float64", numpy.float32, ...
inline bool is_double_dtype(py::handle dtype) {
  py::dtype d;
  try {
    d = py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype));
  } catch (const py::error_already_set&) {
    throw_value(detail::concat("dtype: expected float32 or float64, got ", py::repr(dtype).cast<std::string>()));
  }
  if (d.equal(py::dtype::of<float>())) return false;
  if (d.equal(py::dtype::of<double>())) return true;
  throw_value(detail::concat("dtype: expected float32 or float64, got ", dtype_name(d)));
}

/// The float type of an array argument, for functions that follow their input.
inline bool is_double_array(py::handle obj, const char* name) {
  const py::array a = require_ndarray(obj, name);
  if (a.dtype().equal(py::dtype::of<float>())) return false;
  if (a.dtype().equal(py::dtype::of<double>())) return true;
  throw_type(detail::concat(name, ": expected a float32 or float64 array, got ", dtype_name(a.dtype())));
}

/// Reusable workspaces for calls that may come from several Python threads
/// at once: each call borrows one (or a new one) and gives it back, so
/// repeated calls allocate nothing.
template <class Workspace>
class workspace_pool {
 public:
  class lease {
   public:
    lease(workspace_pool& pool, std::unique_ptr<Workspace> ws) : pool_(pool), ws_(std::move(ws)) {}
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { pool_.give_back(std::move(ws_)); }
    Workspace& get() noexcept { return *ws_; }

   private:
    workspace_pool& pool_;
    std::unique_ptr<Workspace> ws_;
  };

  lease take() {
    std::unique_ptr<Workspace> ws;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        ws = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!ws) ws = std::make_unique<Workspace>();
    return lease(*this, std::move(ws));
  }

 private:
  void give_back(std::unique_ptr<Workspace> ws) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      free_.push_back(std::move(ws));
    } catch (...) {  // out of memory: drop it
    }
  }

  std::mutex mutex_;
  std::vector<std::unique_ptr<Workspace>> free_;
};

/// One of float and double, chosen at run time.
template <template <class> class Of>
using either = std::variant<std::shared_ptr<Of<float>>, std::shared_ptr<Of<double>>>;

}  // namespace hyena::python
