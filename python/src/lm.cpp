// python/src/lm.cpp: hyena.LM (HyenaDNA-style language models: logits,
// hidden states, embeddings, scores, generation, step-by-step decoding),
// hyena.Score and hyena.Tokenizer.
#include <hyena/io/lm_config.hpp>
#include <hyena/io/lm_loader.hpp>
#include <hyena/model/hyena_lm.hpp>
#include <hyena/model/sampling.hpp>
#include <hyena/model/scoring.hpp>
#include <hyena/model/tokenizer.hpp>

#include <pybind11/stl.h>

#include <shared_mutex>

#include "arrays.hpp"
#include "bindings.hpp"
#include "decoding_state.hpp"
#include "weights.hpp"

namespace hyena::python {

namespace {

template <class T>
struct bound_lm {
  using value_type = T;
  bound_lm(hyena_lm_weights<T> weights, hyena_lm_options options) : model(std::move(weights), std::move(options)) {}
  hyena_lm<T> model;
  workspace_pool<hyena_lm_workspace<T>> workspaces;
  std::shared_mutex execution_mutex;
};

struct lm_object;

/// hyena.LMState.
using lm_state_object = decoding_state<hyena_lm_state, lm_object>;

/// A copy of an int64 ids array, taken while the GIL is held. Ids are
/// checked, then used as row indices into the embedding: read from the
/// caller's array, another Python thread could change one in between and
/// send the lookup out of bounds. (8 bytes a token, against d_model floats
/// of work per token and layer.)
std::vector<std::int64_t> copy_ids(const py::array& a) {
  const span<const std::int64_t> v = view<std::int64_t>(a);
  return std::vector<std::int64_t>(v.begin(), v.end());
}

/// Token ids [batch, length] or [length] (one sequence), int64.
struct id_batch {
  py::array ids;
  std::vector<std::int64_t> values;  // copy_ids(ids)
  index_t batch = 0, length = 0;
  bool single = false;  // given as [length]: results drop the batch axis

  span<const std::int64_t> view() const { return span<const std::int64_t>(values.data(), values.size()); }
};

id_batch ids_from(py::handle obj, const char* name = "ids") {
  py::array a = require_ndarray(obj, name);
  require_dtype<std::int64_t>(a, name);
  require_c_layout(a, name);
  if (a.ndim() == 1) return {a, copy_ids(a), 1, index_t(a.shape(0)), true};
  require_shape(a, name, {"batch", "length"});
  return {a, copy_ids(a), index_t(a.shape(0)), index_t(a.shape(1)), false};
}

std::vector<index_t> shape_for(const id_batch& ids, index_t width) {
  if (ids.single) return {ids.length, width};
  return {ids.batch, ids.length, width};
}

hyena_lm_config config_from(py::handle config) {
  if (config.is_none()) return {};
  if (py::isinstance<py::dict>(config)) {
    // allow_nan=False: JSON has no NaN, and json.dumps would write one anyway.
    std::string text;
    try {
      text = py::module_::import("json").attr("dumps")(config, py::arg("allow_nan") = false).cast<std::string>();
    } catch (const py::error_already_set& e) {
      throw_value(detail::concat("config: not expressible as JSON: ", e.what()));
    }
    return parse_hyena_lm_config(nlohmann::json::parse(text), "<config dict>");
  }
  const std::string path = path_of(config, "config");
  try {
    return load_hyena_lm_config(path);
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::runtime_error& e) {  // cannot open or read: bad input too
    throw_value(e.what());
  }
}

struct lm_object : std::enable_shared_from_this<lm_object> {
 private:
  // Helpers first: clang (-Wundefined-internal) does not see member templates
  // that generic lambdas above their definition use.
  template <class T>
  hyena_lm_state<T>& state_of(lm_state_object& s) const {
    return s.of<T>(this, "model (make_state of this one)");
  }

 public:
  either<bound_lm> impl;

  // The callers' generic lambdas deduce their return type: clang 14 leaves
  // the virtual members of std::shared_ptr control blocks made inside them
  // undefined (a link error in the ASan build) when such a lambda spells
  // `-> py::object` itself.
  template <class Fn>
  decltype(auto) visit(Fn&& fn) const {
    return std::visit([&](const auto& b) -> decltype(auto) { return fn(*b); }, impl);
  }

  static std::shared_ptr<lm_object> load(py::handle weights, py::handle config_obj, py::handle dtype,
                                         py::handle vocab_size, py::handle threads) {
    hyena_lm_config config = config_from(config_obj);
    const bool is_double = is_double_dtype(dtype);
    const execution_context exec = execution_from(threads);
    std::optional<index_t> vocab;
    if (!vocab_size.is_none()) vocab = int_argument(vocab_size, "vocab_size", 1);
    const safetensors_file file = weights_file(weights, "weights");
    auto make = [&](auto tag) {
      using T = decltype(tag);
      py::gil_scoped_release nogil;
      auto w = load_hyena_lm_weights<T>(file, config);
      hyena_lm_options options = config.options;
      // As hyena-lm: without a vocabulary size, the real tokens are the DNA
      // tokenizer's (a padded embedding's extra rows are never tokens).
      if (options.vocab_size == 0)
        options.vocab_size = std::min(w.padded_vocab_size, character_tokenizer::dna().vocab_size());
      if (vocab) options.vocab_size = *vocab;
      auto bound = std::make_shared<bound_lm<T>>(std::move(w), options);
      bound->model.set_execution(exec);
      auto object = std::make_shared<lm_object>();
      object->impl = std::move(bound);
      return object;
    };
    return is_double ? make(double{}) : make(float{});
  }

  /// hidden and/or logits of a forward over ids.
  template <class B>
  void run(B& b, const id_batch& ids, py::array* hidden, py::array* logits) const {
    using T = typename B::value_type;
    const index_t D = b.model.d_model();
    std::vector<T> scratch;
    py::gil_scoped_release nogil;
    std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
    span<T> h;
    if (hidden) {
      h = mutable_view<T>(*hidden);
    } else {
      scratch.resize(detail::checked_mul(ids.batch, ids.length, D, "batch*length*d_model"));
      h = span<T>(scratch.data(), scratch.size());
    }
    auto ws = b.workspaces.take();
    b.model.forward(ids.batch, ids.length, ids.view(), h,
                    logits ? mutable_view<T>(*logits) : span<T>(), ws.get());
  }

  py::object logits(py::handle ids_obj, py::handle out_obj) const {
    const id_batch ids = ids_from(ids_obj);
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      py::array out = output<T>(out_obj, shape_for(ids, b.model.padded_vocab_size()), {&ids.ids});
      run(b, ids, nullptr, &out);
      return py::object(std::move(out));
    });
  }

  py::object hidden(py::handle ids_obj, py::handle out_obj) const {
    const id_batch ids = ids_from(ids_obj);
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      py::array out = output<T>(out_obj, shape_for(ids, b.model.d_model()), {&ids.ids});
      run(b, ids, &out, nullptr);
      return py::object(std::move(out));
    });
  }

  py::object embed(py::handle ids_obj) const {
    const id_batch ids = ids_from(ids_obj);
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      const index_t D = b.model.d_model();
      py::array hidden = py::array_t<T>(std::vector<py::ssize_t>{py::ssize_t(ids.batch), py::ssize_t(ids.length), py::ssize_t(D)});
      run(b, ids, &hidden, nullptr);
      py::array out = ids.single ? py::array_t<T>(py::ssize_t(D)) : py::array_t<T>({py::ssize_t(ids.batch), py::ssize_t(D)});
      const span<const T> h = view<T>(hidden);
      const span<T> pooled = mutable_view<T>(out);
      {
        py::gil_scoped_release nogil;
        mean_pool<T>(ids.batch, ids.length, D, h, pooled);
      }
      return py::object(std::move(out));
    });
  }

  py::object score(py::handle ids_obj) const {
    const id_batch ids = ids_from(ids_obj);
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      const index_t V = b.model.padded_vocab_size(), L = ids.length;
      py::array logits = py::array_t<T>(std::vector<py::ssize_t>{py::ssize_t(ids.batch), py::ssize_t(L), py::ssize_t(V)});
      run(b, ids, nullptr, &logits);
      std::vector<sequence_score> scores(ids.batch);
      const span<const T> all = view<T>(logits);
      const span<const std::int64_t> all_ids = ids.view();
      {
        py::gil_scoped_release nogil;
        for (index_t s = 0; s < ids.batch; ++s)
          scores[s] = next_token_log_likelihood<T>(L, V, all.subspan(s * L * V, L * V), all_ids.subspan(s * L, L));
      }
      if (ids.single) return py::cast(scores.front());
      return py::cast(scores);
    });
  }

  py::object generate(py::handle ids_obj, py::handle n, double temperature, py::handle top_k_obj,
                      py::handle seed_obj, py::handle allowed) const {
    const index_t new_tokens = int_argument(n, "n", 0), top_k = int_argument(top_k_obj, "top_k", 0);
    const std::uint64_t seed = int_argument(seed_obj, "seed", 0, ~index_t(0));
    py::array prompt = require_ndarray(ids_obj, "ids");
    require_dtype<std::int64_t>(prompt, "ids");
    require_c_layout(prompt, "ids");
    require_shape(prompt, "ids", {"length"});
    const std::vector<std::int64_t> prompt_ids = copy_ids(prompt);
    sampling_options options;
    options.temperature = temperature;
    options.top_k = top_k;
    if (!allowed.is_none()) {
      const py::array a = input<std::int64_t>(allowed, "allowed_ids", {"count"});
      const span<const std::int64_t> v = view<std::int64_t>(a);
      options.allowed_ids.assign(v.begin(), v.end());
    }
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      std::vector<std::int64_t> tokens;
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
        tokens = hyena::generate<T>(b.model, span<const std::int64_t>(prompt_ids.data(), prompt_ids.size()),
                                    new_tokens, options, seed);
      }
      py::array_t<std::int64_t> out(py::ssize_t(tokens.size()));
      std::copy(tokens.begin(), tokens.end(), out.mutable_data());
      return py::object(std::move(out));
    });
  }

  std::shared_ptr<lm_state_object> make_state(py::handle batch_obj, py::handle capacity_obj) {
    const index_t batch = int_argument(batch_obj, "batch", 1), capacity = int_argument(capacity_obj, "capacity", 1);
    auto s = std::make_shared<lm_state_object>();
    s->owner = shared_from_this();
    visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      py::gil_scoped_release nogil;
      std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
      s->state = std::make_unique<hyena_lm_state<T>>(b.model.make_state(batch, capacity));
    });
    return s;
  }

  py::object prefill(lm_state_object& s, py::handle ids_obj) const {
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      hyena_lm_state<T>& state = state_of<T>(s);
      const py::array ids = input<std::int64_t>(ids_obj, "ids", {state.batch(), "length"});
      const std::vector<std::int64_t> values = copy_ids(ids);
      const index_t L = ids.shape(1), V = b.model.padded_vocab_size();
      py::array logits = py::array_t<T>(std::vector<py::ssize_t>{py::ssize_t(state.batch()), py::ssize_t(L), py::ssize_t(V)});
      const auto lock = s.claim();
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> exec_lock(b.execution_mutex);
        std::vector<T> hidden(detail::checked_mul(state.batch(), L, b.model.d_model(), "batch*length*d_model"));
        auto ws = b.workspaces.take();
        b.model.prefill(state, L, span<const std::int64_t>(values.data(), values.size()),
                        span<T>(hidden.data(), hidden.size()),
                        mutable_view<T>(logits), ws.get());
      }
      return py::object(std::move(logits));
    });
  }

  py::object step(lm_state_object& s, py::handle ids_obj) const {
    return visit([&](auto& b) {
      using T = typename std::decay_t<decltype(b)>::value_type;
      hyena_lm_state<T>& state = state_of<T>(s);
      const py::array ids = input<std::int64_t>(ids_obj, "ids_t", {state.batch()});
      const std::vector<std::int64_t> values = copy_ids(ids);
      const index_t V = b.model.padded_vocab_size();
      py::array logits = py::array_t<T>({py::ssize_t(state.batch()), py::ssize_t(V)});
      const auto lock = s.claim();
      {
        py::gil_scoped_release nogil;
        std::shared_lock<std::shared_mutex> exec_lock(b.execution_mutex);
        std::vector<T> hidden(state.batch() * b.model.d_model());
        b.model.step(state, span<const std::int64_t>(values.data(), values.size()),
                     span<T>(hidden.data(), hidden.size()), mutable_view<T>(logits));
      }
      return py::object(std::move(logits));
    });
  }

  unsigned threads() const {
    return visit([](auto& b) {
      std::shared_lock<std::shared_mutex> lock(b.execution_mutex);
      return b.model.execution().threads();
    });
  }

  void set_threads(py::handle threads) {
    const execution_context exec = execution_from(threads);
    visit([&](auto& b) {
      py::gil_scoped_release nogil;
      std::unique_lock<std::shared_mutex> lock(b.execution_mutex);
      b.model.set_execution(exec);
    });
  }
};

}  // namespace

void bind_lm(py::module_& m) {
  py::class_<sequence_score>(m, "Score", "The next-token score of one sequence.")
      .def_readonly("log_likelihood", &sequence_score::log_likelihood,
                    "Natural log of the probability of tokens 1..L-1, each given those before it.")
      .def_readonly("predictions", &sequence_score::predictions, "L - 1.")
      .def_property_readonly("perplexity", &sequence_score::perplexity,
                             "exp(-log_likelihood / predictions); NaN for one token.")
      .def("__repr__", [](const sequence_score& s) {
        return detail::concat("Score(log_likelihood=", s.log_likelihood, ", predictions=", s.predictions,
                              ", perplexity=", s.perplexity(), ")");
      });

  py::class_<lm_state_object, std::shared_ptr<lm_state_object>>(m, "LMState", R"doc(
A language model's decoding state for `batch` sequences of up to `capacity`
tokens, from LM.make_state; keeps its model alive; one call at a time.
)doc")
      .def_property_readonly("batch", [](const lm_state_object& s) { return s.visit([](auto& x) { return x.batch(); }); })
      .def_property_readonly("capacity",
                             [](const lm_state_object& s) { return s.visit([](auto& x) { return x.capacity(); }); })
      .def_property_readonly("position",
                             [](lm_state_object& s) { return s.read([](auto& x) { return x.position(); }); })
      .def_property_readonly("bytes", [](lm_state_object& s) { return s.read([](auto& x) { return x.bytes(); }); })
      .def("reset", [](lm_state_object& s) {
        const auto lock = s.claim();
        std::visit([](auto& x) { x->reset(); }, s.state);
      }, "Back to position 0, for a new prompt.");

  py::class_<lm_object, std::shared_ptr<lm_object>>(m, "LM", R"doc(
A HyenaDNA-style language model: embedding, blocks of LayerNorm + Hyena mixer
+ LayerNorm + GELU MLP with residuals, final LayerNorm, tied head.

Token ids are int64 arrays [batch, length], or [length] for one sequence (the
results then drop the batch axis). Every call releases the GIL.
)doc")
      .def_static("load", &lm_object::load, py::arg("weights"), py::arg("config") = py::none(),
                  py::arg("dtype") = "float32", py::arg("vocab_size") = py::none(), py::arg("threads") = py::none(),
                  R"doc(
The model stored in `weights` (a safetensors path, or a dict {key: ndarray}
with the keys of HyenaDNA's state_dict). config: None, a path to HyenaDNA's
config.json, or that JSON as a dict (layer.shift, layer_norm_epsilon,
vocab_size, ...). vocab_size: the real vocabulary for sampling (default: the
config's, else the DNA tokenizer's 12). dtype: float32 or float64.
)doc")
      .def("logits", &lm_object::logits, py::arg("ids"), py::arg("out") = py::none(),
           "Logits [batch, length, padded_vocab_size]; row t predicts token t+1.")
      .def("hidden", &lm_object::hidden, py::arg("ids"), py::arg("out") = py::none(),
           "The final hidden states [batch, length, d_model] (after the last LayerNorm).")
      .def("embed", &lm_object::embed, py::arg("ids"),
           "One embedding per sequence [batch, d_model]: the mean of its hidden states.")
      .def("score", &lm_object::score, py::arg("ids"),
           "A Score per sequence (a list for [batch, length] ids): next-token log-likelihood and perplexity.")
      .def("generate", &lm_object::generate, py::arg("ids"), py::arg("n"), py::arg("temperature") = 1.0,
           py::arg("top_k") = 0, py::arg("seed") = 0, py::arg("allowed_ids") = py::none(),
           R"doc(
n new token ids continuing the prompt `ids` [length]: the prompt by one
prefill, then one decoding step per token. temperature 0 is greedy; top_k 0
keeps every candidate; candidates are the ids below vocab_size, or
`allowed_ids` (e.g. Tokenizer.dna().character_ids(), to never produce special
tokens). Deterministic for a seed.
)doc")
      .def("make_state", &lm_object::make_state, py::arg("batch"), py::arg("capacity"),
           "A fresh LMState for `batch` sequences of up to `capacity` tokens.")
      .def("prefill", &lm_object::prefill, py::arg("state"), py::arg("ids"),
           "Runs a fresh state's first tokens ids [batch, length]; returns their logits [batch, length, V'].")
      .def("step", &lm_object::step, py::arg("state"), py::arg("ids_t"),
           "One token per sequence, ids_t [batch]; returns the logits [batch, V'] that predict the next.")
      .def_property_readonly("d_model", [](const lm_object& o) { return o.visit([](auto& b) { return b.model.d_model(); }); })
      .def_property_readonly("n_layer", [](const lm_object& o) { return o.visit([](auto& b) { return b.model.n_layer(); }); })
      .def_property_readonly("vocab_size",
                             [](const lm_object& o) { return o.visit([](auto& b) { return b.model.vocab_size(); }); })
      .def_property_readonly("padded_vocab_size", [](const lm_object& o) {
        return o.visit([](auto& b) { return b.model.padded_vocab_size(); });
      })
      .def_property_readonly("max_length",
                             [](const lm_object& o) { return o.visit([](auto& b) { return b.model.max_length(); }); })
      .def_property_readonly("dtype", [](const lm_object& o) {
        return o.visit([](auto& b) { return py::dtype::of<typename std::decay_t<decltype(b)>::value_type>(); });
      })
      .def_property("threads", &lm_object::threads, &lm_object::set_threads,
                    "Threads of every call (0 or None: every core); results do not depend on it.");

  py::class_<character_tokenizer>(m, "Tokenizer", R"doc(
HyenaDNA's character tokenizer: seven special tokens ([CLS]=0, [SEP]=1,
[BOS]=2, [MASK]=3, [PAD]=4, [RESERVED]=5, [UNK]=6), then one id per character.
)doc")
      .def(py::init<std::string>(), py::arg("characters") = "ACGTN")
      .def_static("dna", &character_tokenizer::dna, "Characters A, C, G, T, N: ids 7..11.")
      .def("encode",
           [](const character_tokenizer& t, const std::string& text, bool add_special_tokens, bool strict) {
             tokenizer_options options;
             options.add_special_tokens = add_special_tokens;
             options.strict = strict;
             const std::vector<std::int64_t> ids = t.encode(text, options);
             py::array_t<std::int64_t> out(py::ssize_t(ids.size()));
             std::copy(ids.begin(), ids.end(), out.mutable_data());
             return out;
           },
           py::arg("text"), py::arg("add_special_tokens") = false, py::arg("strict") = false,
           "int64 ids of text, one per byte ([UNK] for unknown bytes, or ValueError with strict); "
           "add_special_tokens wraps them in [CLS] ... [SEP].")
      .def("decode",
           [](const character_tokenizer& t, py::handle ids, bool skip_special_tokens) {
             const py::array a = input<std::int64_t>(ids, "ids", {"length"});
             return t.decode(view<std::int64_t>(a), skip_special_tokens);
           },
           py::arg("ids"), py::arg("skip_special_tokens") = false)
      .def("token", &character_tokenizer::token, py::arg("id"))
      .def("character_ids", [](const character_tokenizer& t) {
        const std::vector<std::int64_t> ids = t.character_ids();
        py::array_t<std::int64_t> out(py::ssize_t(ids.size()));
        std::copy(ids.begin(), ids.end(), out.mutable_data());
        return out;
      }, "The ids of the characters (7, 8, ...), without the special tokens.")
      .def_property_readonly("vocab_size", &character_tokenizer::vocab_size)
      .def_property_readonly("characters", &character_tokenizer::characters);
}

}  // namespace hyena::python
