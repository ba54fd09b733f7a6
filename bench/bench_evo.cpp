// A StripedHyena 2 model with Evo 2's shapes (random weights, BF16 storage
// as Evo 2 ships them, computed in float32): prefill tokens/s and decode
// tokens/s at 1K-8K context, peak memory, and the prefill time over the bare
// GEMM time of the same projections and MLPs, all in one run.
//
//   bench_evo [--shapes 1b|7b] [--storage bf16|float32] [--layers N] [--threads T]
//             [--max-length L] [google benchmark flags]
//
// Evo 2 1B (SPEC.md 1): D 1920, 25 layers, attention at 3, 10, 17, 24 (15
// heads of 128, no GQA), the other layers hcs, hcm, hcl in turn (128 filter
// groups; hcs 7 taps, hcm 128, hcl 16 modes), MLP inner 5120, vocabulary 512.
// 7B (evo2-7b-8k): D 4096, 32 layers, attention at 3, 10, 17, 24, 31 (32
// heads of 128), 256 filter groups, MLP inner 11008; --max-length defaults
// to 1024 there (the question is whether it fits in 24 GiB). --layers keeps
// the first N layers (the costs add per layer). --storage float32 stores the
// matrices in float32 instead (twice the bytes).
//
// BM_prefill_decode/L: one prefill of L tokens (the reported time), then
// `decode_steps` decoding steps from there (counter decode_tok/s); peak_GiB
// is the process's peak resident memory so far. BM_gemm_floor/L: only the
// GEMMs of the same layers on L rows (the projections, the out projections,
// the MLPs), by the library's linear(). "prefill / GEMM floor" is their ratio.
#include <hyena/model/linear.hpp>
#include <hyena/model/striped_hyena_model.hpp>

#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support/arguments.hpp"
#include "support/ratio_reporter.hpp"

namespace {

using hyena::index_t;

constexpr index_t vocab = 512, state_size = 16;
constexpr index_t decode_steps = 16;
index_t D = 1920, heads = 15, groups = 128, inner = 5120, layers = 25;
bool bf16 = true;
hyena::execution_context execution;

std::vector<float> noise(index_t n, std::mt19937& gen, float scale) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// A matrix of n uniform values in [-scale, scale): BF16 storage made from
// each float (so the float32 copy exists for one matrix at a time), or float32.
hyena::weight_matrix<float> matrix(index_t n, std::mt19937& gen, float scale) {
  auto values = noise(n, gen, scale);
  return bf16 ? hyena::weight_matrix<float>::rounded_to_bf16(values) : hyena::weight_matrix<float>(std::move(values));
}

bool is_attention(index_t layer) { return layer % 7 == 3; }  // 3, 10, 17, 24

hyena::sh2_filter_kind kind_of(index_t layer) {
  const index_t hyena_index = layer - (layer + 4) / 7;  // among the non-attention layers
  return hyena_index % 3 == 0 ? hyena::sh2_filter_kind::hcs
         : hyena_index % 3 == 1 ? hyena::sh2_filter_kind::hcm
                                : hyena::sh2_filter_kind::hcl;
}

template <class W>
void common(W& w, index_t layer, std::mt19937& gen) {
  w.d_model = D;
  w.pre_norm_scale.assign(D, 1.0f);
  w.post_norm_scale.assign(D, 1.0f);
  const float s = 1.0f / std::sqrt(float(D));
  w.mlp.d_model = D, w.mlp.inner = inner, w.mlp.gelu = layer == 0;
  w.mlp.l1 = matrix(inner * D, gen, s);
  w.mlp.l2 = matrix(inner * D, gen, s);
  w.mlp.l3 = matrix(D * inner, gen, 1.0f / std::sqrt(float(inner)));
}

const hyena::sh2_model<float>& model() {
  static const auto m = [] {
    std::mt19937 gen(7);
    hyena::sh2_model_weights<float> w;
    w.vocab_size = vocab, w.d_model = D;
    w.embedding = noise(vocab * D, gen, 1.0f);
    w.final_norm_scale.assign(D, 1.0f);
    const float s = 1.0f / std::sqrt(float(D));
    for (index_t i = 0; i < layers; ++i) {
      if (is_attention(i)) {
        hyena::sh2_attention_block_weights<float> a;
        common(a, i, gen);
        a.heads = heads, a.kv_heads = heads;
        a.qkv = matrix(3 * D * D, gen, s);
        a.out_weight = matrix(D * D, gen, s);
        a.out_bias.assign(D, 0.0f);
        for (index_t k = 0; k < D / heads / 2; ++k)
          a.inv_freq.push_back(float(std::pow(10000.0, -2.0 * double(k) / double(D / heads))));
        w.blocks.emplace_back(std::move(a));
        continue;
      }
      hyena::sh2_hyena_block_weights<float> h;
      common(h, i, gen);
      h.kind = kind_of(i);
      h.projections = matrix(3 * D * D, gen, s);
      h.short_filter = noise(3 * D * 3, gen, 0.5f);
      h.out_weight = matrix(D * D, gen, s);
      h.out_bias.assign(D, 0.0f);
      if (h.kind == hyena::sh2_filter_kind::hcl) {
        h.state_size = state_size;
        h.log_poles = noise(D * state_size, gen, 1.0f);
        for (auto& p : h.log_poles) p = -0.001f - std::fabs(p);
        h.residues = noise(D * state_size, gen, 0.1f);
      } else {
        h.filter_groups = groups;
        h.filter_taps = h.kind == hyena::sh2_filter_kind::hcs ? 7 : 128;
        h.filter_h = noise(groups * h.filter_taps, gen, 0.1f);
      }
      if (h.kind != hyena::sh2_filter_kind::hcs) h.filter_skip = noise(D, gen, 0.5f);
      w.blocks.emplace_back(std::move(h));
    }
    return std::make_unique<hyena::sh2_model<float>>(std::move(w));
  }();
  return *m;
}

double peak_gib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) * 1024.0 / double(1 << 30);  // ru_maxrss is in KiB on Linux
}

void BM_prefill_decode(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  const auto& m = model();
  std::vector<std::int64_t> ids(L);
  for (index_t t = 0; t < L; ++t) ids[t] = std::int64_t("ACGT"[(t * 7 + t / 3) % 4]);
  std::vector<float> last(vocab);
  double decode_seconds = 0;
  for (auto _ : state) {
    auto s = m.make_state(1, L + decode_steps);
    const auto start = std::chrono::steady_clock::now();
    m.prefill(s, L, ids, last, {}, execution);
    const auto prefilled = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(prefilled - start).count());
    for (index_t k = 0; k < decode_steps; ++k) {
      const std::int64_t token = std::int64_t("ACGT"[k % 4]);
      m.step(s, hyena::span<const std::int64_t>(&token, 1), last, {}, execution);
    }
    decode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - prefilled).count();
    benchmark::DoNotOptimize(last.data());
  }
  const double iterations = double(state.iterations());
  state.counters["prefill_tok/s"] = benchmark::Counter(double(L) * iterations, benchmark::Counter::kIsRate);
  state.counters["decode_tok/s"] = double(decode_steps) * iterations / decode_seconds;
  state.counters["peak_GiB"] = peak_gib();
}

// The GEMMs of the same layers on L rows: what prefill cannot do faster than.
void BM_gemm_floor(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  std::mt19937 gen(3);
  // The same storage as the model's, so the ratio compares like with like.
  const auto w3 = matrix(3 * D * D, gen, 0.02f), w1 = matrix(D * D, gen, 0.02f), wm = matrix(inner * D, gen, 0.02f);
  const auto x = noise(L * inner, gen, 1.0f);
  std::vector<float> y(L * 3 * D > L * inner ? L * 3 * D : L * inner);
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    for (index_t i = 0; i < layers; ++i) {
      hyena::linear<float>(w3, {}, 3 * D, D, L, hyena::span<const float>(x.data(), L * D),
                           hyena::span<float>(y.data(), L * 3 * D), execution);
      hyena::linear<float>(w1, {}, D, D, L, hyena::span<const float>(x.data(), L * D),
                           hyena::span<float>(y.data(), L * D), execution);
      for (int k = 0; k < 2; ++k)  // l1, l2
        hyena::linear<float>(wm, {}, inner, D, L, hyena::span<const float>(x.data(), L * D),
                             hyena::span<float>(y.data(), L * inner), execution);
      hyena::linear<float>(wm, {}, D, inner, L, hyena::span<const float>(x.data(), L * inner),
                           hyena::span<float>(y.data(), L * D), execution);  // l3: [D][inner], same bytes
    }
    benchmark::DoNotOptimize(y.data());
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.counters["tok/s"] = benchmark::Counter(double(L) * double(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  index_t max_length = 8192;
  if (const auto v = hyena::bench::take_option(argc, argv, "--shapes")) {
    if (*v == "7b")
      D = 4096, heads = 32, groups = 256, inner = 11008, layers = 32, max_length = 1024;
    else if (*v != "1b")
      return std::fprintf(stderr, "bench_evo: --shapes must be 1b or 7b\n"), 2;
  }
  if (const auto v = hyena::bench::take_option(argc, argv, "--storage")) {
    if (*v != "bf16" && *v != "float32") return std::fprintf(stderr, "bench_evo: --storage must be bf16 or float32\n"), 2;
    bf16 = *v == "bf16";
  }
  if (const auto v = hyena::bench::take_option(argc, argv, "--layers")) layers = std::stoul(*v);
  if (const auto v = hyena::bench::take_option(argc, argv, "--max-length")) max_length = std::stoul(*v);
  execution = hyena::execution_context(hyena::bench::take_threads(argc, argv));
  auto* prefill = benchmark::RegisterBenchmark("BM_prefill_decode", BM_prefill_decode);
  auto* floor = benchmark::RegisterBenchmark("BM_gemm_floor", BM_gemm_floor);
  prefill->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
  floor->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);  // same run names, so the ratios pair up
  for (index_t L = 1024; L <= max_length; L *= 2) prefill->Arg(L), floor->Arg(L);
  std::printf("Evo 2 shapes: %zu layers, d_model %zu, inner %zu, %s matrices (%.2f GiB), float32 compute\n",
              std::size_t(layers), std::size_t(D), std::size_t(inner), bf16 ? "BF16" : "float32",
              double(layers) * double(4 * D * D + 3 * D * inner) * (bf16 ? 2.0 : 4.0) / double(1 << 30));
  return hyena::bench::run_with_ratios(argc, argv, {{"BM_prefill_decode/", "BM_gemm_floor/", "prefill / GEMM floor"}});
}
