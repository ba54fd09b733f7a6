// Decoding one token at a time: the online convolution against the naive
// incremental form (a dot product over the whole history per step) and
// against recomputing the prefix, and the language model's decoder against
// its own forward, all in one run.
//
// The mixer's amortised cost per token at context L is assembled from the
// measured cost of one block of each size U (all channels): the schedule
// runs a block of size U every 2U steps, so a step costs on average
// t_step + sum_{U <= L} t_block(U) / (2U). That is exact accounting of what
// the decoder does, without stepping a million times per length.
#include <hyena/conv/fft_conv.hpp>
#include <hyena/conv/online_conv.hpp>
#include <hyena/model/hyena_lm.hpp>
#include <hyena/model/sampling.hpp>
#include <hyena/operator/hyena_operator.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <vector>

#include "support/arguments.hpp"
#include "support/operators.hpp"
#include "support/ratio_reporter.hpp"

namespace {

using hyena::index_t;
constexpr index_t channels = 256;

std::vector<float> noise(index_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

std::vector<float> decaying(index_t C, index_t L) {
  auto k = noise(C * L, 1, 0.1f);
  for (index_t c = 0; c < C; ++c)
    for (index_t t = 0; t < L; ++t) k[c * L + t] *= std::exp(-3.0f * float(t) / float(L));
  return k;
}

// One block of U samples for every channel (the schedule's block ending at step U-1).
void BM_online_block(benchmark::State& state) {
  const index_t U = index_t(state.range(0)), capacity = 2 * U;
  const hyena::online_filter<float> filter(channels, capacity, decaying(channels, capacity));
  hyena::online_conv_state<float> s(1, channels, capacity);
  hyena::online_conv_prefill(filter, s, U, noise(channels * U, 2));
  for (auto _ : state) {
    hyena::detail::online_block(filter, s, U - 1, U, U, hyena::execution_context{});
    benchmark::ClobberMemory();
  }
}

// The crossover: one block of U samples as dot products and as FFTs, side by
// side (online_conv_options::direct_below picks the faster below/above).
void online_block_as(benchmark::State& state, bool direct) {
  const index_t U = index_t(state.range(0)), capacity = 2 * U;
  hyena::online_conv_options options;
  options.direct_below = direct ? 2 * U : U;
  const hyena::online_filter<float> filter(channels, capacity, decaying(channels, capacity), {}, options);
  hyena::online_conv_state<float> s(1, channels, capacity);
  hyena::online_conv_prefill(filter, s, U, noise(channels * U, 2));
  for (auto _ : state) {
    hyena::detail::online_block(filter, s, U - 1, U, U, hyena::execution_context{});
    benchmark::ClobberMemory();
  }
}
void BM_block_direct(benchmark::State& state) { online_block_as(state, true); }
void BM_block_fft(benchmark::State& state) { online_block_as(state, false); }

// A step without any block (capacity 1: the schedule has no block to run):
// the current tap and skip for every channel.
void BM_online_step_base(benchmark::State& state) {
  const hyena::online_filter<float> filter(channels, 1, decaying(channels, 1));
  hyena::online_conv_state<float> s(1, channels, 1);
  const auto x = noise(channels, 3);
  std::vector<float> y(channels);
  for (auto _ : state) {
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
    hyena::online_conv_step(filter, s, x, y);
    benchmark::DoNotOptimize(y.data());
  }
}

// The naive incremental form at context L: y_t = sum_s k[s] x[t-s] per channel.
void BM_naive_step(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  const auto k = decaying(channels, L), history = noise(channels * L, 4);
  std::vector<float> y(channels);
  for (auto _ : state) {
    hyena::execution_context{}.parallel_for(channels, [&](index_t c0, index_t c1, unsigned) {
      for (index_t c = c0; c < c1; ++c) {
        const float* kc = k.data() + c * L;
        const float* xc = history.data() + c * L;
        float acc = 0;
        for (index_t s = 0; s < L; ++s) acc += kc[s] * xc[L - 1 - s];
        y[c] = acc;
      }
    });
    benchmark::DoNotOptimize(y.data());
  }
}

// Recomputing the prefix: one FFT convolution of the L-step history per token.
void BM_recompute_step(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  const hyena::fft_filter<float> filter(channels, L, decaying(channels, L));
  const auto u = noise(channels * L, 5);
  std::vector<float> y(u.size());
  hyena::fft_conv_workspace<float> ws;
  for (auto _ : state) {
    hyena::causal_conv(filter, 1, u, y, ws);
    benchmark::DoNotOptimize(y.data());
  }
}

// The whole operator at d_model 768, order 2 (the main job's shape), per
// token over steps [L/2, L) after a prefill of L/2 (not timed).
void BM_operator_decode_per_token(benchmark::State& state) {
  const index_t L = index_t(state.range(0)), P = L / 2, D = 768;
  const auto op = hyena::bench::make_operator<float>(D, 2, L, hyena::execution_context{}, 7);
  const auto u = noise(L * D, 8);
  std::vector<float> head_out(P * D), y(D);
  for (auto _ : state) {
    state.PauseTiming();
    auto s = op->make_state(1, L);
    op->prefill(s, P, hyena::span<const float>(u.data(), P * D), head_out);
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    for (index_t t = P; t < L; ++t) op->step(s, hyena::span<const float>(u.data() + t * D, D), y);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds / double(L - P));
  }
}

// Recomputing: the operator's forward over the L-token prefix, per token.
void BM_operator_recompute_per_token(benchmark::State& state) {
  const index_t L = index_t(state.range(0)), D = 768;
  const auto op = hyena::bench::make_operator<float>(D, 2, L, hyena::execution_context{}, 7);
  const auto u = noise(L * D, 8);
  std::vector<float> out(L * D);
  hyena::hyena_workspace<float> ws;
  op->forward(1, L, u, out, ws);  // warm: filters prepared, workspace grown
  for (auto _ : state) {
    // Manual time, so the name pairs with the decoder's in the ratio table.
    const auto start = std::chrono::steady_clock::now();
    op->forward(1, L, u, out, ws);
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

// Prefill of L tokens into a fresh state (the forward plus settling the blocks).
void BM_operator_prefill(benchmark::State& state) {
  const index_t L = index_t(state.range(0)), D = 768;
  const auto op = hyena::bench::make_operator<float>(D, 2, L, hyena::execution_context{}, 7);
  const auto u = noise(L * D, 8);
  std::vector<float> out(L * D);
  auto s = op->make_state(1, L);
  hyena::hyena_workspace<float> ws;
  op->prefill(s, L, u, out, ws);  // warm: filters for length L cached, workspace grown
  for (auto _ : state) {
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
    op->prefill(s, L, u, out, ws);
  }
}

// The HyenaDNA-small shape: d_model 256, 4 layers, d_inner 1024, order 2.
std::unique_ptr<hyena::hyena_lm<float>> dna_small(index_t l_max) {
  hyena::hyena_lm_weights<float> w;
  const index_t D = 256, H = 1024, V = 16;
  w.d_model = D;
  w.padded_vocab_size = V;
  w.word_embeddings = noise(V * D, 10);
  hyena::hyena_config config;
  config.d_model = D;
  config.order = 2;
  config.max_length = l_max;
  for (index_t i = 0; i < 4; ++i) {
    hyena::hyena_block_weights<float> b;
    b.norm1 = {std::vector<float>(D, 1.0f), std::vector<float>(D, 0.0f)};
    b.norm2 = b.norm1;
    b.mixer = hyena::random_hyena_weights<float>(config, 20 + i);
    b.mlp.d_model = D;
    b.mlp.d_inner = H;
    b.mlp.fc1_weight = noise(H * D, 30 + unsigned(i), 0.06f);
    b.mlp.fc1_bias = noise(H, 40 + unsigned(i), 0.06f);
    b.mlp.fc2_weight = noise(D * H, 50 + unsigned(i), 0.03f);
    b.mlp.fc2_bias = noise(D, 60 + unsigned(i), 0.03f);
    w.layers.push_back(std::move(b));
  }
  w.final_norm = {std::vector<float>(D, 1.0f), std::vector<float>(D, 0.0f)};
  hyena::hyena_lm_options options;
  options.vocab_size = 12;
  return std::make_unique<hyena::hyena_lm<float>>(std::move(w), options);
}

std::vector<std::int64_t> dna_ids(index_t n) {
  std::vector<std::int64_t> ids(n);
  for (index_t i = 0; i < n; ++i) ids[i] = 7 + std::int64_t((i * 2654435761u) % 4);
  return ids;
}

// Per-token time of the LM decoder over steps [L/2, L): the prompt's half by
// prefill (not timed), then L/2 steps (timed), so every block size the
// schedule runs below L is in the average.
void BM_lm_decode_per_token(benchmark::State& state) {
  const index_t L = index_t(state.range(0)), P = L / 2;
  const auto model = dna_small(L);
  const auto ids = dna_ids(L);
  hyena::hyena_lm_workspace<float> ws;
  std::vector<float> hidden(P * 256), h(256), logits(16);
  for (auto _ : state) {
    state.PauseTiming();
    auto s = model->make_state(1, L);
    model->prefill(s, P, hyena::span<const std::int64_t>(ids.data(), P), hidden, {}, ws);
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    for (index_t t = P; t < L; ++t) model->step(s, hyena::span<const std::int64_t>(ids.data() + t, 1), h, logits);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds / double(L - P));
  }
}

// The recompute path at context L: one forward over L tokens per new token.
void BM_lm_recompute_per_token(benchmark::State& state) {
  const index_t L = index_t(state.range(0));
  const auto model = dna_small(L);
  const auto ids = dna_ids(L);
  hyena::hyena_lm_workspace<float> ws;
  std::vector<float> hidden(L * 256);
  for (auto _ : state) {
    model->forward(1, L, ids, hidden, {}, ws);
    benchmark::DoNotOptimize(hidden.data());
  }
}

// Generating 512 tokens after a 3,584-token prompt, and scoring 4,096 tokens.
void BM_lm_generate_512_after_3584(benchmark::State& state) {
  const auto model = dna_small(4096);
  const auto prompt = dna_ids(3584);
  hyena::sampling_options greedy;
  greedy.temperature = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hyena::generate(*model, prompt, 512, greedy, 1));
}

void BM_lm_score_4096(benchmark::State& state) {
  const auto model = dna_small(4096);
  const auto ids = dna_ids(4096);
  hyena::hyena_lm_workspace<float> ws;
  std::vector<float> hidden(4096 * 256), logits(4096 * 16);
  for (auto _ : state) model->forward(1, 4096, ids, hidden, logits, ws);
}

constexpr index_t max_context = index_t(1) << 20;

BENCHMARK(BM_online_block)->ArgName("U")->RangeMultiplier(2)->Range(1, max_context)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_block_direct)->ArgName("U")->RangeMultiplier(2)->Range(8, 256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_block_fft)->ArgName("U")->RangeMultiplier(2)->Range(8, 256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_online_step_base)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_naive_step)->ArgName("L")->RangeMultiplier(4)->Range(4096, max_context)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_recompute_step)->ArgName("L")->RangeMultiplier(4)->Range(4096, max_context)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_operator_decode_per_token)->ArgName("L")->RangeMultiplier(4)->Range(1024, 65536)->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_operator_recompute_per_token)->ArgName("L")->RangeMultiplier(4)->Range(1024, 65536)->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);  // the decoder's unit: the ratio table divides the two
BENCHMARK(BM_operator_prefill)->ArgName("L")->RangeMultiplier(4)->Range(1024, 65536)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lm_decode_per_token)->ArgName("L")->Arg(8192)->Arg(32768)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lm_recompute_per_token)->ArgName("L")->Arg(8192)->Iterations(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lm_generate_512_after_3584)->Iterations(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lm_score_4096)->Iterations(3)->Unit(benchmark::kMillisecond);

// Prints the mixer's amortised per-token time per context from the block
// and step timings, and the naive and recompute forms beside it.
class decode_reporter : public hyena::bench::ratio_reporter {
 public:
  explicit decode_reporter(std::string out_dir)
      : ratio_reporter({{"BM_operator_recompute_per_token/", "BM_operator_decode_per_token/",
                         "Operator (d_model 768, order 2) per token: recompute / decoder"},
                        {"BM_block_direct/", "BM_block_fft/", "One block: dot products / FFT (crossover where it passes 1)"}}),
        out_dir_(std::move(out_dir)) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ratio_reporter::ReportRuns(runs);
    for (const auto& run : runs)
      if (run.run_type == Run::RT_Iteration && !run.error_occurred)
        seconds_[run.benchmark_name()] = run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
  }
  void Finalize() override {
    ratio_reporter::Finalize();
    const auto base = seconds_.find("BM_online_step_base");
    if (base == seconds_.end()) return;
    std::ofstream dat(out_dir_ + "/decode_mixer.dat");
    dat << "# context stream_us naive_us recompute_us\n";
    std::printf("\nMixer (online convolution, %zu channels, float), amortised per token:\n", std::size_t(channels));
    std::printf("  %9s %12s %12s %12s %10s %10s\n", "context", "stream us", "naive us", "recompute us",
                "naive/str", "recomp/str");
    double first = 0, last = 0;
    index_t first_L = 0, last_L = 0;
    for (index_t L = 4096; L <= max_context; L *= 4) {
      double t = base->second;
      for (index_t U = 1; U <= L; U *= 2) {
        const auto it = seconds_.find("BM_online_block/U:" + std::to_string(U));
        if (it == seconds_.end()) return;
        t += it->second / double(2 * U);
      }
      const auto naive = seconds_.find("BM_naive_step/L:" + std::to_string(L));
      const auto re = seconds_.find("BM_recompute_step/L:" + std::to_string(L));
      const double n = naive != seconds_.end() ? naive->second : NAN, r = re != seconds_.end() ? re->second : NAN;
      std::printf("  %9zu %12.2f %12.2f %12.1f %10.1f %10.1f\n", std::size_t(L), t * 1e6, n * 1e6, r * 1e6, n / t,
                  r / t);
      dat << L << ' ' << t * 1e6 << ' ' << n * 1e6 << ' ' << r * 1e6 << '\n';
      if (first == 0) first = t, first_L = L;
      last = t, last_L = L;
    }
    std::printf("  stream per token, %zu vs %zu: %.2fx; log-log slope %.3f\n", std::size_t(last_L),
                std::size_t(first_L), last / first, std::log(last / first) / std::log(double(last_L) / double(first_L)));
    std::fflush(stdout);
  }

 private:
  std::string out_dir_;
  std::map<std::string, double> seconds_;
};

}  // namespace

// bench_decode [--out DIR] [google benchmark flags]: DIR (default out) gets
// decode_mixer.dat, which bench/plot_decode.gp plots.
int main(int argc, char** argv) {
  const std::string out_dir = hyena::bench::take_option(argc, argv, "--out").value_or("out");
  std::filesystem::create_directories(out_dir);
  decode_reporter reporter(out_dir);
  return hyena::bench::run_benchmarks(argc, argv, reporter);
}
