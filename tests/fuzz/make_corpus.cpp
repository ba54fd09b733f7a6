// tests/fuzz/make_corpus.cpp: writes the fuzzers' seed corpora at run time
// (nothing of it is committed).
//
//   hyena_fuzz_corpus REFERENCE_DIR OUT_DIR
//
// OUT_DIR/safetensors, OUT_DIR/operator, OUT_DIR/lm and OUT_DIR/sh2 receive:
//   - the reference dumps (*.safetensors under REFERENCE_DIR; the operator and
//     lm corpora take the params.safetensors files only, the parser all);
//   - truncated copies of each (inside the length field, the header, the data);
//   - mutated copies (bytes flipped in the length field, the header and the
//     data; a digit of the header changed; a header number replaced by a huge
//     one, with the length field fixed up so the JSON stays whole);
//   - small state_dicts written by the library itself: operators of orders
//     2..4 with and without inner layers, in F32 and F64, under no prefix and
//     under an LM layer's; language models of one and two layers, under no
//     prefix and "model.", with gradient-checkpointing key names and a tied
//     lm_head.weight;
//   - for sh2, StripedHyena 2 models with their vortex config as JSON under
//     the "config" metadata key: the reference dump's (stripedhyena2/*/:
//     params.safetensors with its config.json) and small generated ones of
//     every block kind.
// Deterministic: the same references give the same corpus. A missing
// REFERENCE_DIR is reported on stderr and leaves the generated files only.
#include <hyena/io/operator_weights.hpp>
#include <hyena/operator/weights.hpp>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using bytes_t = std::vector<std::uint8_t>;
using hyena::index_t;

bytes_t read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return bytes_t(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const bytes_t& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

/// The header length a file declares, clamped to what follows the field.
std::size_t header_length(const bytes_t& b) {
  if (b.size() < 8) return 0;
  const std::uint64_t n = hyena::detail::load_le<std::uint64_t>(b.data());
  return static_cast<std::size_t>(std::min<std::uint64_t>(n, b.size() - 8));
}

/// Writes `data` and its truncated and mutated copies as dir/stem*.
void add_with_variants(const fs::path& dir, const std::string& stem, const bytes_t& data, std::uint64_t seed) {
  write_file(dir / (stem + ".safetensors"), data);
  const std::size_t n = data.size(), h = header_length(data), data_start = 8 + h;

  std::set<std::size_t> cuts = {0, 4, 8, 8 + h / 2, data_start - 1, data_start, data_start + 1,
                                data_start + (n - data_start) / 2, n - 1};
  for (std::size_t cut : cuts)
    if (cut < n) write_file(dir / (stem + ".cut" + std::to_string(cut)), bytes_t(data.begin(), data.begin() + cut));

  std::mt19937_64 rng(seed);
  auto pick = [&rng](std::size_t lo, std::size_t hi) {  // uniform in [lo, hi)
    return std::uniform_int_distribution<std::size_t>(lo, hi - 1)(rng);
  };
  auto flip = [&](bytes_t b, std::size_t lo, std::size_t hi, int count) {
    for (int i = 0; i < count && lo < hi; ++i)
      b[pick(lo, hi)] ^= static_cast<std::uint8_t>(1u << pick(0, 8));
    return b;
  };
  if (n < 8) return;
  write_file(dir / (stem + ".flip_length"), flip(data, 0, 8, 1));
  write_file(dir / (stem + ".flip_header1"), flip(data, 8, data_start, 1));
  write_file(dir / (stem + ".flip_header3"), flip(data, 8, data_start, 3));
  write_file(dir / (stem + ".flip_data"), flip(data, data_start, n, 2));
  write_file(dir / (stem + ".flip_both"), flip(flip(data, 8, data_start, 1), data_start, n, 1));

  // Header digits: one changed in place, one number made huge.
  std::vector<std::size_t> digits;
  for (std::size_t i = 8; i < data_start; ++i)
    if (data[i] >= '0' && data[i] <= '9') digits.push_back(i);
  if (digits.empty()) return;
  bytes_t changed = data;
  const std::size_t at = digits[pick(0, digits.size())];
  changed[at] = static_cast<std::uint8_t>('0' + (changed[at] - '0' + 1 + pick(0, 9)) % 10);
  write_file(dir / (stem + ".digit"), changed);
  const char* const huge[] = {"18446744073709551615", "4294967297", "99999999999999999999999", "1e3", "-1"};
  for (std::size_t k = 0; k < std::size(huge); ++k) {
    std::size_t first = digits[pick(0, digits.size())], last = first + 1;
    while (first > 8 && data[first - 1] >= '0' && data[first - 1] <= '9') --first;
    while (last < data_start && data[last] >= '0' && data[last] <= '9') ++last;
    const std::string number = huge[k];
    bytes_t out(data.begin(), data.begin() + first);
    out.insert(out.end(), number.begin(), number.end());
    out.insert(out.end(), data.begin() + last, data.end());
    hyena::detail::store_le<std::uint64_t>(h + number.size() - (last - first), out.data());
    write_file(dir / (stem + ".number" + std::to_string(k)), out);
  }
}

template <class T>
std::vector<T> uniform(std::mt19937_64& rng, index_t n, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

template <class T>
void put(hyena::safetensors_writer& w, const std::string& name, std::vector<index_t> shape, const std::vector<T>& v) {
  w.add(name, std::move(shape), hyena::span<const T>(v.data(), v.size()));
}

struct operator_case {
  index_t d_model, order, max_length, width, emb_dim, inner_layers, kernel;
};

template <class T>
hyena::hyena_weights<T> random_operator(const operator_case& c, std::uint64_t seed) {
  hyena::hyena_config config;
  config.d_model = c.d_model;
  config.order = c.order;
  config.max_length = c.max_length;
  config.filter_width = c.width;
  config.emb_dim = c.emb_dim;
  config.inner_layers = c.inner_layers;
  config.short_filter_size = c.kernel;
  return hyena::random_hyena_weights<T>(config, seed);
}

struct lm_case {
  index_t n_layer, d_model, vocab, d_inner, l_max;
  std::string prefix;
  bool checkpointed;  // ".mixer.layer." / ".mlp.layer." key names
  bool tied_head;     // an lm_head.weight equal to the embedding
};

bytes_t random_lm(const lm_case& c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  hyena::safetensors_writer w;
  const index_t D = c.d_model, H = c.d_inner, V = c.vocab;
  const auto embeddings = uniform<float>(rng, V * D, -1, 1);
  const std::string p = c.prefix;
  put(w, p + "backbone.embeddings.word_embeddings.weight", {V, D}, embeddings);
  for (index_t i = 0; i < c.n_layer; ++i) {
    const std::string at = p + "backbone.layers." + std::to_string(i) + ".";
    put(w, at + "norm1.weight", {D}, uniform<float>(rng, D, 0.5, 1.5));
    put(w, at + "norm1.bias", {D}, uniform<float>(rng, D, -0.5, 0.5));
    hyena::save_hyena_weights(random_operator<float>({D, 2, c.l_max, 4, 5, 1, 3}, seed + i), w,
                              at + (c.checkpointed ? "mixer.layer." : "mixer."));
    put(w, at + "norm2.weight", {D}, uniform<float>(rng, D, 0.5, 1.5));
    put(w, at + "norm2.bias", {D}, uniform<float>(rng, D, -0.5, 0.5));
    const std::string mlp = at + (c.checkpointed ? "mlp.layer." : "mlp.");
    put(w, mlp + "fc1.weight", {H, D}, uniform<float>(rng, H * D, -1, 1));
    put(w, mlp + "fc1.bias", {H}, uniform<float>(rng, H, -0.5, 0.5));
    put(w, mlp + "fc2.weight", {D, H}, uniform<float>(rng, D * H, -1, 1));
    put(w, mlp + "fc2.bias", {D}, uniform<float>(rng, D, -0.5, 0.5));
  }
  put(w, p + "backbone.ln_f.weight", {D}, uniform<float>(rng, D, 0.5, 1.5));
  put(w, p + "backbone.ln_f.bias", {D}, uniform<float>(rng, D, -0.5, 0.5));
  if (c.tied_head) put(w, p + "lm_head.weight", {V, D}, embeddings);
  return w.bytes();
}

struct sh2_case {
  index_t d_model, vocab, groups, hcs_taps, state, inner, heads, kv_heads;
  std::vector<std::string> kinds;  // "hcs", "hcm", "hcl", "mha" per layer
  bool bf16 = false;               // the Linear weights as BF16, as Evo 2 ships them
};

/// A StripedHyena 2 model in vortex's keys, its config in the metadata.
bytes_t random_sh2(const sh2_case& c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  hyena::safetensors_writer w;
  const index_t D = c.d_model, V = c.vocab, I = c.inner, Dh = D / c.heads;
  nlohmann::json config = {{"hidden_size", D},         {"num_layers", c.kinds.size()},
                           {"vocab_size", V},          {"num_attention_heads", c.heads},
                           {"proj_groups", c.heads / c.kv_heads},
                           {"hcs_filter_groups", c.groups}, {"hcs_filter_length", c.hcs_taps},
                           {"hcm_filter_groups", c.groups}, {"hcm_filter_length", 128},
                           {"state_size", c.state},    {"inner_mlp_size", I},
                           {"evo2_style_activations", true}, {"eps", 1e-6},
                           {"interleave", true},       {"column_split_hyena", false}};
  std::map<std::string, std::vector<index_t>> layers;
  const auto matrix = [&](const std::string& name, std::vector<index_t> shape, const std::vector<float>& values) {
    if (!c.bf16) return put(w, name, std::move(shape), values);
    std::vector<std::uint16_t> bits(values.size());
    for (std::size_t k = 0; k < bits.size(); ++k) bits[k] = hyena::detail::float_to_bf16(values[k]);
    w.add_bf16(name, std::move(shape), hyena::span<const std::uint16_t>(bits));
  };
  put(w, "embedding_layer.weight", {V, D}, uniform<float>(rng, V * D, -1, 1));
  put(w, "norm.scale", {D}, uniform<float>(rng, D, 0.5, 1.5));
  for (index_t i = 0; i < c.kinds.size(); ++i) {
    const std::string& kind = c.kinds[i];
    layers[kind == "mha" ? "attn_layer_idxs" : kind + "_layer_idxs"].push_back(i);
    const std::string p = "blocks." + std::to_string(i) + ".";
    put(w, p + "pre_norm.scale", {D}, uniform<float>(rng, D, 0.5, 1.5));
    put(w, p + "post_norm.scale", {D}, uniform<float>(rng, D, 0.5, 1.5));
    matrix(p + "mlp.l1.weight", {I, D}, uniform<float>(rng, I * D, -0.5, 0.5));
    matrix(p + "mlp.l2.weight", {I, D}, uniform<float>(rng, I * D, -0.5, 0.5));
    matrix(p + "mlp.l3.weight", {D, I}, uniform<float>(rng, D * I, -0.5, 0.5));
    if (kind == "mha") {
      const index_t E = Dh * (c.heads + 2 * c.kv_heads);
      matrix(p + "inner_mha_cls.Wqkv.weight", {E, D}, uniform<float>(rng, E * D, -0.5, 0.5));
      matrix(p + "inner_mha_cls.out_proj.weight", {D, D}, uniform<float>(rng, D * D, -0.5, 0.5));
      put(w, p + "inner_mha_cls.out_proj.bias", {D}, uniform<float>(rng, D, -0.1, 0.1));
      put(w, p + "inner_mha_cls.rotary_emb.inv_freq", {Dh / 2}, uniform<float>(rng, Dh / 2, 0.01, 1));
      continue;
    }
    matrix(p + "projections.weight", {3 * D, D}, uniform<float>(rng, 3 * D * D, -0.5, 0.5));
    put(w, p + "filter.short_filter_weight", {3 * D, 1, 3}, uniform<float>(rng, 3 * D * 3, -0.5, 0.5));
    matrix(p + "out_filter_dense.weight", {D, D}, uniform<float>(rng, D * D, -0.5, 0.5));
    put(w, p + "out_filter_dense.bias", {D}, uniform<float>(rng, D, -0.1, 0.1));
    if (kind == "hcl") {
      put(w, p + "filter.log_poles", {D, c.state, 1}, uniform<float>(rng, D * c.state, -1, -0.01));
      put(w, p + "filter.residues", {D, c.state}, uniform<float>(rng, D * c.state, -0.5, 0.5));
    } else {
      const index_t K = kind == "hcs" ? c.hcs_taps : 128;
      put(w, p + "filter.h", {c.groups, 1, K}, uniform<float>(rng, c.groups * K, -0.5, 0.5));
    }
    if (kind != "hcs") put(w, p + "filter.D", {D}, uniform<float>(rng, D, -0.5, 0.5));
  }
  for (const auto& [key, list] : layers) config[key] = list;
  w.add_metadata("config", config.dump());
  return w.bytes();
}

/// The reference model of `dir` (params.safetensors, config.json) with its
/// vortex config in the metadata, as fuzz_sh2 reads it.
bytes_t reference_sh2(const fs::path& dir) {
  const auto params = hyena::safetensors_file::load((dir / "params.safetensors").string());
  hyena::safetensors_writer w;
  for (const auto& name : params.names()) put(w, name, params.info(name).shape, params.read<float>(name));
  std::ifstream in(dir / "config.json");
  w.add_metadata("config", nlohmann::json::parse(in)["config"].dump());
  return w.bytes();
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " REFERENCE_DIR OUT_DIR\n";
    return 2;
  }
  const fs::path reference = argv[1], out = argv[2];
  const fs::path st = out / "safetensors", op = out / "operator", lm = out / "lm", sh2 = out / "sh2";
  for (const auto& d : {st, op, lm, sh2}) fs::create_directories(d);
  std::uint64_t seed = 1;

  // The reference dumps, in a fixed order.
  std::vector<fs::path> references;
  if (fs::is_directory(reference)) {
    for (const auto& e : fs::recursive_directory_iterator(reference))
      if (e.is_regular_file() && e.path().extension() == ".safetensors") references.push_back(e.path());
  } else {
    std::cerr << "hyena_fuzz_corpus: no reference directory at " << reference
              << "; the corpus has the generated files only\n";
  }
  std::sort(references.begin(), references.end());
  for (const auto& path : references) {
    const bytes_t data = read_file(path);
    // "safari/d16_l64_o2/params.safetensors" -> "safari_d16_l64_o2_params"
    std::string stem = fs::relative(path, reference).replace_extension().string();
    std::replace(stem.begin(), stem.end(), '/', '_');
    add_with_variants(st, stem, data, seed++);
    if (path.filename() == "params.safetensors") {
      add_with_variants(op, stem, data, seed++);
      add_with_variants(lm, stem, data, seed++);
      if (fs::exists(path.parent_path() / "config.json") && stem.rfind("stripedhyena2", 0) == 0)
        add_with_variants(sh2, stem, reference_sh2(path.parent_path()), seed++);
    }
  }

  // Operators: the smallest possible, inner layers or none, orders 2..4,
  // short kernels 1..4, one-point and longer grids.
  const operator_case operators[] = {
      {1, 2, 1, 1, 3, 0, 1}, {2, 2, 4, 4, 3, 1, 3}, {3, 3, 8, 4, 5, 0, 2},
      {2, 4, 16, 3, 3, 2, 4}, {4, 2, 9, 8, 7, 1, 3}, {1, 3, 2, 2, 3, 3, 1},
  };
  for (std::size_t i = 0; i < std::size(operators); ++i) {
    const std::string stem = "generated_operator" + std::to_string(i);
    hyena::safetensors_writer f32, f64, nested;
    hyena::save_hyena_weights(random_operator<float>(operators[i], seed), f32);
    hyena::save_hyena_weights(random_operator<double>(operators[i], seed), f64);
    hyena::save_hyena_weights(random_operator<float>(operators[i], seed), nested, "backbone.layers.0.mixer.");
    ++seed;
    for (const auto& dir : {st, op}) {
      write_file(dir / (stem + "_f32.safetensors"), f32.bytes());
      write_file(dir / (stem + "_f64.safetensors"), f64.bytes());
      write_file(dir / (stem + "_prefixed.safetensors"), nested.bytes());
    }
    add_with_variants(op, stem + "_f32", f32.bytes(), seed++);
    write_file(lm / (stem + "_f32.safetensors"), f32.bytes());
  }

  // Language models.
  const lm_case models[] = {
      {1, 2, 3, 2, 1, "", false, false},        {1, 4, 8, 8, 8, "", false, true},
      {2, 3, 5, 4, 6, "model.", false, false},  {2, 2, 16, 3, 4, "model.", true, true},
      {1, 8, 12, 16, 12, "", true, false},
  };
  for (std::size_t i = 0; i < std::size(models); ++i) {
    const std::string stem = "generated_lm" + std::to_string(i);
    const bytes_t data = random_lm(models[i], seed++);
    write_file(st / (stem + ".safetensors"), data);
    write_file(op / (stem + ".safetensors"), data);
    add_with_variants(lm, stem, data, seed++);
  }

  // StripedHyena 2 models: every block kind, GQA and not, one and several
  // groups, float32 and BF16 matrices.
  const sh2_case striped[] = {
      {4, 16, 1, 3, 2, 8, 2, 2, {"hcs", "hcm", "hcl", "mha"}},
      {8, 32, 2, 7, 4, 16, 4, 2, {"hcl", "mha", "hcs"}},
      {6, 8, 3, 5, 1, 6, 3, 1, {"hcm"}},
      {4, 16, 2, 3, 2, 8, 2, 1, {"mha", "hcl", "hcs"}, true},
  };
  for (std::size_t i = 0; i < std::size(striped); ++i) {
    const std::string stem = "generated_sh2_" + std::to_string(i);
    const bytes_t data = random_sh2(striped[i], seed++);
    write_file(st / (stem + ".safetensors"), data);
    add_with_variants(sh2, stem, data, seed++);
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "hyena_fuzz_corpus: " << e.what() << "\n";
  return 1;
}
