// python/src/attention.cpp: hyena.Attention, the causal multi-head attention
// baselines (softmax, tiled, linear, local) as layers, for comparisons with
// the Hyena operator on the same arrays.
#include <hyena/baselines/attention_layer.hpp>

#include <shared_mutex>

#include "arrays.hpp"
#include "bindings.hpp"

namespace hyena::python {

namespace {

struct attention_object {
  virtual ~attention_object() = default;
  virtual py::object apply(py::handle x, py::handle out) = 0;
  virtual index_t d_model() const = 0;
  virtual index_t heads() const = 0;
  virtual py::dtype dtype() const = 0;
  virtual unsigned threads() const = 0;
  virtual void set_threads(const execution_context& exec) = 0;
  std::string kind;
};

template <class Core>
struct bound_attention final : attention_object {
  using T = typename Core::value_type;
  explicit bound_attention(attention_layer<Core> l) : layer(std::move(l)) {}

  py::object apply(py::handle x_obj, py::handle out_obj) override {
    const py::array x = input<T>(x_obj, "x", {"batch", "length", layer.d_model()});
    const index_t B = x.shape(0), L = x.shape(1);
    // The layer reads x completely before writing: out may be x itself.
    py::array out = output<T>(out_obj, {B, L, layer.d_model()});
    {
      py::gil_scoped_release nogil;
      std::shared_lock<std::shared_mutex> lock(execution_mutex);
      auto ws = workspaces.take();
      layer.apply(B, L, view<T>(x), mutable_view<T>(out), ws.get());
    }
    return py::object(std::move(out));
  }
  index_t d_model() const override { return layer.d_model(); }
  index_t heads() const override { return layer.heads(); }
  py::dtype dtype() const override { return py::dtype::of<T>(); }
  unsigned threads() const override {
    std::shared_lock<std::shared_mutex> lock(execution_mutex);
    return layer.execution().threads();
  }
  void set_threads(const execution_context& exec) override {
    py::gil_scoped_release nogil;
    std::unique_lock<std::shared_mutex> lock(execution_mutex);
    layer.set_execution(exec);
  }

  attention_layer<Core> layer;
  workspace_pool<attention_workspace<T>> workspaces;
  mutable std::shared_mutex execution_mutex;
};

template <class T>
std::unique_ptr<attention_object> make_attention(const std::string& kind, index_t heads, py::handle qkv_weight,
                                                 py::handle out_weight, py::handle qkv_bias, py::handle out_bias,
                                                 index_t window, const execution_context& exec) {
  const py::array wqkv = input<T>(qkv_weight, "qkv_weight", {"3*d_model", "d_model"});
  const index_t D = wqkv.shape(1);
  if (index_t(wqkv.shape(0)) != 3 * D)
    throw_value(detail::concat("qkv_weight: expected shape [3*d_model, d_model], got ", shape_text(wqkv)));
  const py::array wout = input<T>(out_weight, "out_weight", {D, D});
  py::array bqkv, bout;
  if (!qkv_bias.is_none()) bqkv = input<T>(qkv_bias, "qkv_bias", {3 * D});
  if (!out_bias.is_none()) bout = input<T>(out_bias, "out_bias", {D});
  const span<const T> bq = bqkv ? view<T>(bqkv) : span<const T>(), bo = bout ? view<T>(bout) : span<const T>();
  auto build = [&](auto core) -> std::unique_ptr<attention_object> {
    using Core = decltype(core);
    attention_layer<Core> layer(D, heads, view<T>(wqkv), bq, view<T>(wout), bo, std::move(core));
    layer.set_execution(exec);
    auto bound = std::make_unique<bound_attention<Core>>(std::move(layer));
    bound->kind = kind;
    return bound;
  };
  if (kind != "local" && window != 0) throw_value(detail::concat("window: only local attention has one, not ", kind));
  if (kind == "softmax") return build(softmax_attention<T>());
  if (kind == "tiled") return build(tiled_attention<T>());
  if (kind == "linear") return build(linear_attention<T>());
  if (kind == "local") {
    if (window == 0) throw_value("window: local attention needs window >= 1");
    return build(local_attention<T>(window));
  }
  throw_value(detail::concat("kind: expected \"softmax\", \"tiled\", \"linear\" or \"local\", got \"", kind, "\""));
}

}  // namespace

void bind_attention(py::module_& m) {
  py::class_<attention_object>(m, "Attention", R"doc(
A causal multi-head attention layer, the baseline Hyena replaces:
[q|k|v] = x W_qkv^T + b_qkv, per-head causal attention, then W_out (PyTorch's
nn.Linear conventions; W_qkv [3*d_model, d_model] holds q's rows, then k's,
then v's).

Attention(kind, heads, qkv_weight, out_weight, qkv_bias=None, out_bias=None,
window=0, threads=None): kind "softmax" (exact, O(L^2) memory), "tiled"
(exact, flash-style online softmax), "linear" (elu+1 feature map) or "local"
(exact softmax within `window` past positions). The weights' dtype (float32
or float64) is the layer's; they are copied.
)doc")
      .def(py::init([](const std::string& kind, py::handle heads_obj, py::handle qkv_weight, py::handle out_weight,
                       py::handle qkv_bias, py::handle out_bias, py::handle window_obj, py::handle threads) {
             const execution_context exec = execution_from(threads);
             const index_t heads = int_argument(heads_obj, "heads", 1), window = int_argument(window_obj, "window", 0);
             return is_double_array(qkv_weight, "qkv_weight")
                        ? make_attention<double>(kind, heads, qkv_weight, out_weight, qkv_bias, out_bias, window, exec)
                        : make_attention<float>(kind, heads, qkv_weight, out_weight, qkv_bias, out_bias, window, exec);
           }),
           py::arg("kind"), py::arg("heads"), py::arg("qkv_weight"), py::arg("out_weight"),
           py::arg("qkv_bias") = py::none(), py::arg("out_bias") = py::none(), py::arg("window") = 0,
           py::arg("threads") = py::none())
      .def("__call__", &attention_object::apply, py::arg("x"), py::arg("out") = py::none(),
           "y [batch, length, d_model] = the layer applied to x; `out` may be x itself.")
      .def_property_readonly("kind", [](const attention_object& a) { return a.kind; })
      .def_property_readonly("d_model", &attention_object::d_model)
      .def_property_readonly("heads", &attention_object::heads)
      .def_property_readonly("dtype", &attention_object::dtype)
      .def_property("threads", &attention_object::threads,
                    [](attention_object& a, py::handle threads) { a.set_threads(execution_from(threads)); });
}

}  // namespace hyena::python
