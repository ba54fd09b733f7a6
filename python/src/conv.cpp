// python/src/conv.cpp: hyena.causal_conv and hyena.FFTFilter, the causal FFT
// long convolution on [batch, channels, length] arrays.
#include <hyena/conv/fft_conv.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

namespace hyena::python {

namespace {

template <class T>
struct bound_filter {
  using value_type = T;
  template <class... Args>
  explicit bound_filter(Args&&... args) : filter(std::forward<Args>(args)...) {}
  fft_filter<T> filter;
  workspace_pool<fft_conv_workspace<T>> workspaces;
};

/// hyena.FFTFilter: a filter bank's spectra, computed once.
struct filter_object {
  either<bound_filter> impl;
  execution_context execution;  // threads= of the constructor: every call's default

  static filter_object make(py::handle k_obj, py::handle skip_obj, py::handle threads) {
    const execution_context exec = execution_from(threads);
    auto build = [&](auto tag) -> filter_object {
      using T = decltype(tag);
      const py::array k = input<T>(k_obj, "k", {"channels", "length"});
      py::array skip;
      if (!skip_obj.is_none()) skip = input<T>(skip_obj, "skip", {index_t(k.shape(0))});
      const index_t C = k.shape(0), L = k.shape(1);
      const span<const T> skip_view = skip ? view<T>(skip) : span<const T>();
      py::gil_scoped_release nogil;
      return filter_object{
          std::make_shared<bound_filter<T>>(C, L, view<T>(k), skip_view, fft_planning::estimate, exec), exec};
    };
    return is_double_array(k_obj, "k") ? build(double{}) : build(float{});
  }

  py::object apply(py::handle u_obj, py::handle out_obj, py::handle threads) const {
    const execution_context exec = execution_from(threads, execution);
    return std::visit(
        [&](const auto& f) -> py::object {
          using T = typename std::decay_t<decltype(*f)>::value_type;
          const fft_filter<T>& filter = f->filter;
          const py::array u = input<T>(u_obj, "u", {"batch", filter.channels(), filter.length()});
          const index_t B = u.shape(0);
          // y may be u itself (in place), but no other overlap.
          const bool in_place = out_obj.ptr() == u_obj.ptr();
          py::array y = in_place ? output<T>(out_obj, {B, filter.channels(), filter.length()})
                                 : output<T>(out_obj, {B, filter.channels(), filter.length()}, {&u});
          {
            py::gil_scoped_release nogil;
            auto ws = f->workspaces.take();
            causal_conv(filter, B, view<T>(u), mutable_view<T>(y), ws.get(), exec);
          }
          return py::object(std::move(y));
        },
        impl);
  }
};

}  // namespace

void bind_conv(py::module_& m) {
  py::class_<filter_object>(m, "FFTFilter", R"doc(
A causal long-convolution filter bank, prepared once for repeated calls.

FFTFilter(k, skip=None, threads=None): k is [channels, length] (float32 or
float64), skip is [channels] or None. The spectra are computed once, at an FFT
size >= 2*length - 1 (linear, never circular, convolution); k is copied, so it
may be freed or changed afterwards. Calling the filter on u [batch, channels,
length] of the same dtype gives

    y[b, c, t] = sum_{s <= t} k[c, s] u[b, c, t - s] + skip[c] u[b, c, t]
)doc")
      .def(py::init(&filter_object::make), py::arg("k"), py::arg("skip") = py::none(), py::arg("threads") = py::none())
      .def("__call__", &filter_object::apply, py::arg("u"), py::arg("out") = py::none(),
           py::arg("threads") = py::none(),
           "y = the causal convolution of u [batch, channels, length]; into `out` if given (it may be u itself), "
           "else a new array. threads: None for the constructor's, 0 for every core, else that many (results do "
           "not depend on it). "
           "The GIL is released while it runs.")
      .def_property_readonly("channels", [](const filter_object& f) {
        return std::visit([](const auto& b) { return b->filter.channels(); }, f.impl);
      })
      .def_property_readonly("length", [](const filter_object& f) {
        return std::visit([](const auto& b) { return b->filter.length(); }, f.impl);
      })
      .def_property_readonly("threads", [](const filter_object& f) { return f.execution.threads(); },
                             "Threads of a call that passes threads=None.")
      .def_property_readonly("fft_size", [](const filter_object& f) {
        return std::visit([](const auto& b) { return b->filter.fft_size(); }, f.impl);
      })
      .def_property_readonly("bytes", [](const filter_object& f) {
        return std::visit([](const auto& b) { return b->filter.bytes(); }, f.impl);
      }, "Bytes of the stored spectra and skips.")
      .def_property_readonly("dtype", [](const filter_object& f) {
        return std::visit([](const auto& b) {
          return py::dtype::of<typename std::decay_t<decltype(*b)>::value_type>();
        }, f.impl);
      });

  m.def(
      "causal_conv",
      [](py::handle u, py::handle k, py::handle skip, py::handle out, py::handle threads) {
        if (!is_double_array(u, "u") != !is_double_array(k, "k"))
          throw_type(detail::concat("k: expected the dtype of u (", dtype_name(require_ndarray(u, "u").dtype()),
                                    "), got ", dtype_name(require_ndarray(k, "k").dtype())));
        return filter_object::make(k, skip, threads).apply(u, out, threads);
      },
      py::arg("u"), py::arg("k"), py::arg("skip") = py::none(), py::arg("out") = py::none(),
      py::arg("threads") = py::none(),
      R"doc(
y[b, c, t] = sum_{s <= t} k[c, s] u[b, c, t - s] + skip[c] u[b, c, t].

u: [batch, channels, length]; k: [channels, length]; skip: [channels] or None;
all float32 or all float64, C-contiguous (never copied). out: None (a new
array), or an array of u's shape and dtype written in place (u itself allowed).
For repeated calls with one filter, FFTFilter(k, skip) computes the spectra once.
)doc");
}

}  // namespace hyena::python
