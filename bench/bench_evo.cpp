// A StripedHyena 2 model with Evo 2 1B's shapes (random weights, float32):
// prefill tokens/s and decode tokens/s at 1K-8K context, peak memory, and
// the prefill time over the bare GEMM time of the same projections and MLPs,
// all in one run.
//
//   bench_evo [--layers N] [--threads T] [--max-length L] [google benchmark flags]
//
// Evo 2 1B (SPEC.md 1): D 1920, 25 layers, attention at 3, 10, 17, 24 (15
// heads of 128, no GQA), the other layers hcs, hcm, hcl in turn (128 filter
// groups; hcs 7 taps, hcm 128, hcl 16 modes), MLP inner 5120, vocabulary 512.
// --layers keeps the first N layers (the costs add per layer). BF16 storage
// is not implemented: the weights are float32, twice the bytes Evo 2 ships.
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

constexpr index_t D = 1920, heads = 15, groups = 128, inner = 5120, vocab = 512, state_size = 16;
constexpr index_t decode_steps = 16;
index_t layers = 25;
hyena::execution_context execution;

std::vector<float> noise(index_t n, std::mt19937& gen, float scale) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
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
  w.mlp.l1 = noise(inner * D, gen, s);
  w.mlp.l2 = noise(inner * D, gen, s);
  w.mlp.l3 = noise(D * inner, gen, 1.0f / std::sqrt(float(inner)));
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
        a.qkv = noise(3 * D * D, gen, s);
        a.out_weight = noise(D * D, gen, s);
        a.out_bias.assign(D, 0.0f);
        for (index_t k = 0; k < D / heads / 2; ++k)
          a.inv_freq.push_back(float(std::pow(10000.0, -2.0 * double(k) / double(D / heads))));
        w.blocks.emplace_back(std::move(a));
        continue;
      }
      hyena::sh2_hyena_block_weights<float> h;
      common(h, i, gen);
      h.kind = kind_of(i);
      h.projections = noise(3 * D * D, gen, s);
      h.short_filter = noise(3 * D * 3, gen, 0.5f);
      h.out_weight = noise(D * D, gen, s);
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
  const auto w3 = noise(3 * D * D, gen, 0.02f), w1 = noise(D * D, gen, 0.02f), wm = noise(inner * D, gen, 0.02f);
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
  if (const auto v = hyena::bench::take_option(argc, argv, "--layers")) layers = std::stoul(*v);
  index_t max_length = 8192;
  if (const auto v = hyena::bench::take_option(argc, argv, "--max-length")) max_length = std::stoul(*v);
  execution = hyena::execution_context(hyena::bench::take_threads(argc, argv));
  auto* prefill = benchmark::RegisterBenchmark("BM_prefill_decode", BM_prefill_decode);
  auto* floor = benchmark::RegisterBenchmark("BM_gemm_floor", BM_gemm_floor);
  prefill->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
  floor->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);  // same run names, so the ratios pair up
  for (index_t L = 1024; L <= max_length; L *= 2) prefill->Arg(L), floor->Arg(L);
  std::printf("Evo 2 1B shapes: %zu layers, d_model %zu, inner %zu, float32 weights (%.2f GiB)\n", std::size_t(layers),
              std::size_t(D), std::size_t(inner),
              double(layers) * double(4 * D * D + 3 * D * inner) * 4.0 / double(1 << 30));
  return hyena::bench::run_with_ratios(argc, argv, {{"BM_prefill_decode/", "BM_gemm_floor/", "prefill / GEMM floor"}});
}
