// python/src/operator.cpp: hyena.Operator (forward, stages, filters),
// hyena.PreparedFilters and hyena.DecoderState (step-by-step decoding).
#include <hyena/io/operator_weights.hpp>
#include <hyena/operator/hyena_operator.hpp>

#include <pybind11/stl.h>

#include <shared_mutex>

#include "arrays.hpp"
#include "bindings.hpp"
#include "decoding_state.hpp"
#include "weights.hpp"

namespace hyena::python {

namespace {

template <class T>
struct bound_operator {
  using value_type = T;
  bound_operator(hyena_weights<T> weights, const hyena_options& options) : op(std::move(weights), options) {}
  hyena_operator<T> op;
  workspace_pool<hyena_workspace<T>> workspaces;
  workspace_pool<fft_conv_workspace<T>> conv_workspaces;
  // Calls read the thread count, the `threads` setter writes it.
  std::shared_mutex execution_mutex;
};

struct operator_object;

/// hyena.PreparedFilters: the spectra of every step's filter at one length.
/// Holds its operator, so it stays usable whatever else is freed.
struct prepared_object {
  std::shared_ptr<operator_object> owner;
  std::variant<std::shared_ptr<const hyena_prepared_filters<float>>,
               std::shared_ptr<const hyena_prepared_filters<double>>>
      filters;
};

/// hyena.DecoderState.
using state_object = decoding_state<hyena_decoder_state, operator_object>;

filter_layout layout_from(const std::string& layout) {
  if (layout == "blocked") return filter_layout::blocked;
  if (layout == "interleaved") return filter_layout::interleaved;
  throw_value(detail::concat("layout: expected \"blocked\" or \"interleaved\", got \"", layout, "\""));
}

struct operator_object : std::enable_shared_from_this<operator_object> {
 private:
  // Helpers first: clang (-Wundefined-internal) does not see member templates
  // that generic lambdas above their definition use.
  template <class T>
  hyena_decoder_state<T>& state_of(state_object& s) const {
    return s.of<T>(this, "operator (make_state of this one)");
  }

  template <class T>
  static py::array writable_streams(py::handle obj, index_t S) {
    py::array a = input<T>(obj, "streams", {S, "length"});
    if (!a.writeable()) throw_value("streams: the array is read-only (this stage works in place)");
    return a;
  }

 public:
  either<bound_operator> impl;

  // The callers' generic lambdas deduce their return type: clang 14 leaves
  // the virtual members of std::shared_ptr control blocks made inside them
  // undefined (a link error in the ASan build) when such a lambda spells
  // `-> py::object` itself.
  template <class Fn>
  decltype(auto) visit(Fn&& fn) const {
    return std::visit([&](const auto& b) -> decltype(auto) { return fn(*b); }, impl);
  }

  static std::shared_ptr<operator_object> load(py::handle source, const std::string& layout, double shift,
                                               bool modulate, py::handle dtype, const std::string& prefix,
                                               py::handle threads) {
    hyena_options options;
    options.layout = layout_from(layout);
    if (!std::isfinite(shift)) throw_value(detail::concat("shift: expected a finite number, got ", shift));
    options.modulation.shift = shift;
    options.modulation.modulate = modulate;
    const bool is_double = is_double_dtype(dtype);
    const execution_context exec = execution_from(threads);
    const safetensors_file file = weights_file(source, "source");
    auto make = [&](auto tag) {
      using T = decltype(tag);
      py::gil_scoped_release nogil;
      auto bound = std::make_shared<bound_operator<T>>(load_hyena_weights<T>(file, prefix), options);
      bound->op.set_execution(exec);
      auto object = std::make_shared<operator_object>();
      object->impl = std::move(bound);
      return object;
    };
    return is_double ? make(double{}) : make(float{});
  }

  py::object forward(py::handle u_obj, py::handle out_obj) const {
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      const py::array u = input<T>(u_obj, "u", {"batch", "length", b.op.d_model()});
      const index_t B = u.shape(0), L = u.shape(1);
      py::array out = output<T>(out_obj, {B, L, b.op.d_model()}, {&u});
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
        auto ws = b.workspaces.take();
        b.op.forward(B, L, view<T>(u), mutable_view<T>(out), ws.get());
      }
      return py::object(std::move(out));
    });
  }

  py::tuple filters(py::handle length_obj) const {
    const index_t length = int_argument(length_obj, "length", 1);
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      step_filters<T> k;
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
        k = b.op.step_filters_at(length);
      }
      py::array_t<T> taps({k.steps, k.channels, k.length}), skips({k.steps, k.channels});
      std::copy(k.k.begin(), k.k.end(), taps.mutable_data());
      std::copy(k.skip.begin(), k.skip.end(), skips.mutable_data());
      return py::make_tuple(taps, skips);
    });
  }

  prepared_object prepared_filters(py::handle length_obj) {
    const index_t length = int_argument(length_obj, "length", 1);
    prepared_object p;
    p.owner = shared_from_this();
    visit([&](auto& b) {
      py::gil_scoped_release nogil;
      std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
      p.filters = b.op.prepared_filters(length);
    });
    return p;
  }

  // Stages: one batch element, channel-major streams [(N+1) D, L].
  py::object project_in(py::handle u_obj, py::handle out_obj) const {
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      const index_t D = b.op.d_model(), S = (b.op.order() + 1) * D;
      const py::array u = input<T>(u_obj, "u_b", {"length", D});
      const index_t L = u.shape(0);
      py::array streams = output<T>(out_obj, {S, L}, {&u});
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
        b.op.project_in(L, view<T>(u), mutable_view<T>(streams));
      }
      return py::object(std::move(streams));
    });
  }

  py::object short_conv(py::handle streams_obj) const {
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      const index_t S = (b.op.order() + 1) * b.op.d_model();
      py::array streams = writable_streams<T>(streams_obj, S);
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
        b.op.short_conv(index_t(streams.shape(1)), mutable_view<T>(streams));
      }
      return py::object(std::move(streams));
    });
  }

  py::object mix(py::handle streams_obj, const prepared_object& prepared) const {
    if (prepared.owner.get() != this) throw_value("filters: prepared by another operator");
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      const index_t D = b.op.d_model(), N = b.op.order();
      py::array streams = writable_streams<T>(streams_obj, (N + 1) * D);
      const auto& filters = *std::get<std::shared_ptr<const hyena_prepared_filters<T>>>(prepared.filters);
      if (index_t(streams.shape(1)) != filters.length)
        throw_value(detail::concat("streams: has length ", streams.shape(1), " but the filters were prepared for ",
                                   filters.length));
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
        auto ws = b.conv_workspaces.take();
        b.op.mix(filters, mutable_view<T>(streams), ws.get());
      }
      // y is the v stream: the last D rows, a view of `streams`.
      return streams[py::slice(py::int_(N * D), py::none(), py::none())];
    });
  }

  py::object project_out(py::handle y_obj, py::handle out_obj) const {
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      const index_t D = b.op.d_model();
      const py::array y = input<T>(y_obj, "y", {D, "length"});
      const index_t L = y.shape(1);
      py::array out = output<T>(out_obj, {L, D}, {&y});
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
        b.op.project_out(L, view<T>(y), mutable_view<T>(out));
      }
      return py::object(std::move(out));
    });
  }

  std::shared_ptr<state_object> make_state(py::handle batch_obj, py::handle capacity_obj) {
    const index_t batch = int_argument(batch_obj, "batch", 1), capacity = int_argument(capacity_obj, "capacity", 1);
    auto s = std::make_shared<state_object>();
    s->owner = shared_from_this();
    visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      py::gil_scoped_release nogil;
      std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
      s->state = std::make_unique<hyena_decoder_state<T>>(b.op.make_state(batch, capacity));
    });
    return s;
  }

  py::object prefill(state_object& s, py::handle u_obj, py::handle out_obj) const {
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      hyena_decoder_state<T>& state = state_of<T>(s);
      const index_t D = b.op.d_model();
      const py::array u = input<T>(u_obj, "u", {state.batch(), "length", D});
      const index_t L = u.shape(1);
      py::array out = output<T>(out_obj, {state.batch(), L, D}, {&u});
      const auto lock = s.claim();
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> exec_lock(b.execution_mutex);
        auto ws = b.workspaces.take();
        b.op.prefill(state, L, view<T>(u), mutable_view<T>(out), ws.get());
      }
      return py::object(std::move(out));
    });
  }

  py::object step(state_object& s, py::handle u_obj, py::handle out_obj) const {
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      hyena_decoder_state<T>& state = state_of<T>(s);
      const index_t D = b.op.d_model();
      const py::array u = input<T>(u_obj, "u_t", {state.batch(), D});
      py::array out = output<T>(out_obj, {state.batch(), D}, {&u});
      const auto lock = s.claim();
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> exec_lock(b.execution_mutex);
        b.op.step(state, view<T>(u), mutable_view<T>(out));
      }
      return py::object(std::move(out));
    });
  }

  unsigned threads() const {
    return visit([](auto& b) {
      std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
      return b.op.execution().threads();
    });
  }

  void set_threads(py::handle threads) {
    const execution_context exec = execution_from(threads);
    visit([&](auto& b) {
      py::gil_scoped_release nogil;  // calls in flight finish first
      std::unique_lock<std::shared_mutex> lock(b.execution_mutex);
      b.op.set_execution(exec);
    });
  }
};

}  // namespace

void bind_operator(py::module_& m) {
  py::class_<prepared_object>(m, "PreparedFilters", R"doc(
The spectra of every recurrence step's long filter at one input length, from
Operator.prepared_filters(length), for Operator.mix. Keeps its operator alive.
)doc")
      .def_property_readonly("length", [](const prepared_object& p) {
        return std::visit([](const auto& f) { return f->length; }, p.filters);
      })
      .def_property_readonly("bytes", [](const prepared_object& p) {
        return std::visit([](const auto& f) { return f->bytes(); }, p.filters);
      })
      .def_property_readonly("operator", [](const prepared_object& p) { return p.owner; });

  py::class_<state_object, std::shared_ptr<state_object>>(m, "DecoderState", R"doc(
What decoding carries from token to token, for `batch` sequences of up to
`capacity` tokens: the short convolution's last inputs and one online long
convolution per recurrence step. From Operator.make_state; keeps its operator
alive. One call at a time may use it (another thread gets a RuntimeError).
)doc")
      .def_property_readonly("batch", [](const state_object& s) { return s.visit([](auto& x) { return x.batch(); }); })
      .def_property_readonly("capacity",
                             [](const state_object& s) { return s.visit([](auto& x) { return x.capacity(); }); })
      .def_property_readonly(
          "position", [](state_object& s) { return s.read([](auto& x) { return x.position(); }); },
          "Tokens consumed so far.")
      .def_property_readonly("bytes", [](state_object& s) { return s.read([](auto& x) { return x.bytes(); }); },
                             "Bytes of the state itself (the shared online filters not counted).")
      .def("reset", [](state_object& s) {
        const auto lock = s.claim();
        std::visit([](auto& x) { x->reset(); }, s.state);
      }, "Back to position 0, for a new prompt.")
      .def_property_readonly("operator", [](const state_object& s) { return s.owner; });

  py::class_<operator_object, std::shared_ptr<operator_object>>(m, "Operator", R"doc(
A Hyena operator (order N >= 2) with the weights of a PyTorch HyenaOperator.

Inputs and outputs are [batch, length, d_model], like the PyTorch module;
the stages work on one batch element's channel-major streams
[(order+1)*d_model, length] (time contiguous), as the operator does inside.
Every call releases the GIL; the operator may be called from many Python
threads at once.
)doc")
      .def_static("load", &operator_object::load, py::arg("source"), py::arg("layout") = "blocked",
                  py::arg("shift") = 0.0, py::arg("modulate") = true, py::arg("dtype") = "float32",
                  py::arg("prefix") = "", py::arg("threads") = py::none(),
                  R"doc(
The operator whose weights are `source`: a safetensors path, or a dict
{key: ndarray} such as {k: v.numpy() for k, v in module.state_dict().items()}
(weights are copied: the arrays may be freed afterwards). Keys are PyTorch's
(in_proj.weight, filter_fn.implicit_filter.0.weight, ...), under `prefix`.
layout: "blocked" (safari's standalone_hyena.py) or "interleaved" (safari's and
HyenaDNA's training code); they differ for order >= 3. shift, modulate: the
decay window's, which the weights do not store. dtype: float32 or float64.
threads: None or 0 for every core.
)doc")
      .def("__call__", &operator_object::forward, py::arg("u"), py::arg("out") = py::none(),
           "out = Hyena(u) for u [batch, length, d_model], 1 <= length <= max_length; into `out` if given "
           "(it must not overlap u).")
      .def("forward", &operator_object::forward, py::arg("u"), py::arg("out") = py::none(), "The same as calling it.")
      .def("filters", &operator_object::filters, py::arg("length"),
           "(k, skip): every step's long filter k [order-1, d_model, length] and skip D [order-1, d_model], "
           "as the forward applies them.")
      .def("prepared_filters", &operator_object::prepared_filters, py::arg("length"),
           "The filters' spectra for inputs of `length` (cached: the forward uses the same ones).")
      .def("project_in", &operator_object::project_in, py::arg("u_b"), py::arg("out") = py::none(),
           "Stage 1: streams [(order+1)*d_model, length] = W_in u_b^T + b_in for one batch element u_b "
           "[length, d_model].")
      .def("short_conv", &operator_object::short_conv, py::arg("streams"),
           "Stage 2, in place: the depthwise short causal convolution of every stream; returns streams.")
      .def("mix", &operator_object::mix, py::arg("streams"), py::arg("filters"),
           "Stages 3-6, in place: the gated long-convolution recurrence with `filters` "
           "(prepared_filters(length)); returns y [d_model, length], a view of the last d_model rows of streams.")
      .def("project_out", &operator_object::project_out, py::arg("y"), py::arg("out") = py::none(),
           "Stage 7: out [length, d_model] = (W_out y + b_out)^T.")
      .def("make_state", &operator_object::make_state, py::arg("batch"), py::arg("capacity"),
           "A fresh DecoderState for `batch` sequences of up to `capacity` tokens (<= max_length).")
      .def("prefill", &operator_object::prefill, py::arg("state"), py::arg("u"), py::arg("out") = py::none(),
           "Runs a fresh state's first tokens u [batch, length, d_model] by the FFT forward and returns their "
           "outputs; the state is then ready to step.")
      .def("step", &operator_object::step, py::arg("state"), py::arg("u_t"), py::arg("out") = py::none(),
           "One token for every sequence: u_t [batch, d_model] -> out_t [batch, d_model], equal to the "
           "forward's output at that position to rounding.")
      .def_property_readonly("d_model", [](const operator_object& o) { return o.visit([](auto& b) { return b.op.d_model(); }); })
      .def_property_readonly("order", [](const operator_object& o) { return o.visit([](auto& b) { return b.op.order(); }); })
      .def_property_readonly("max_length",
                             [](const operator_object& o) { return o.visit([](auto& b) { return b.op.max_length(); }); })
      .def_property_readonly("dtype", [](const operator_object& o) {
        return o.visit([](auto& b) { return py::dtype::of<typename std::decay_t<decltype(b)>::value_type>(); });
      })
      .def_property("threads", &operator_object::threads, &operator_object::set_threads,
                    "Threads of every call (set 0 or None for every core); results do not depend on it.");
}

}  // namespace hyena::python
