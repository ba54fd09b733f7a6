// The projections' GEMMs: Eigen's own kernel against OpenBLAS, in one run.
//
//   BM_gemm_eigen/L:n/threads:t        Eigen, fixed 256-step blocks over t threads (the operator's default)
//   BM_gemm_blas_blocks/L:n/threads:t  sgemm per 256-step block over t threads, OpenBLAS single-threaded
//   BM_gemm_blas_whole/L:n/threads:t   one sgemm per projection, threaded by OpenBLAS itself
//
// Shapes are an order-2 layer's, d_model 768: in (L x D)(D x 3D) and out
// (D x D)(D x L), 4 D^2 L multiply-adds. The reporter prints each BLAS
// variant's speedup over Eigen at the same L and thread count. This file is
// compiled without EIGEN_USE_BLAS, so the Eigen rows are Eigen's own GEMM.
#include <hyena/core/execution.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cstdio>

#include "support/counters.hpp"
#include "support/run.hpp"
#include "support/timing_reporter.hpp"

namespace {

using hyena::index_t;
using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
constexpr Eigen::Index D = 768;
constexpr index_t time_block = 256;

struct operands {
  explicit operands(Eigen::Index L)
      : w_in(matrix::Random(3 * D, D)), w_out(matrix::Random(D, D)), u(matrix::Random(D, L)),
        y(matrix::Random(L, D)), p(L, 3 * D), out(D, L) {}
  matrix w_in, w_out;  // row c of w_in: stream c's weights, as the operator stores them (transposed here)
  matrix u, y;         // u: [time][channel] (a D x L column-major matrix); y: [channel][time] (L x D)
  matrix p, out;       // p: streams [channel][time] (L x 3D); out: [time][channel] (D x L)
};

// The operator's two products on columns [t0, t0 + n): p = u^T w_in^T and out = w_out y^T.
void eigen_block(operands& m, Eigen::Index t0, Eigen::Index n) {
  m.p.middleRows(t0, n).noalias() = m.u.middleCols(t0, n).transpose() * m.w_in.transpose();
  m.out.middleCols(t0, n).noalias() = m.w_out * m.y.middleRows(t0, n).transpose();
}

void blas_block(operands& m, Eigen::Index t0, Eigen::Index n) {
  const int L = int(m.u.cols()), d = int(D);
  cblas_sgemm(CblasColMajor, CblasTrans, CblasTrans, int(n), 3 * d, d, 1.0f, m.u.data() + t0 * D, d, m.w_in.data(),
              3 * d, 0.0f, m.p.data() + t0, L);
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, d, int(n), d, 1.0f, m.w_out.data(), d, m.y.data() + t0, L,
              0.0f, m.out.data() + t0 * D, d);
}

template <class Block>
void blocked(operands& m, unsigned threads, Block&& block) {
  const index_t L = index_t(m.u.cols()), blocks = (L + time_block - 1) / time_block;
  hyena::execution_context(threads).parallel_for(blocks, [&](index_t b0, index_t b1, unsigned) {
    for (index_t b = b0; b < b1; ++b) {
      const index_t t0 = b * time_block;
      block(m, Eigen::Index(t0), Eigen::Index(std::min(time_block, L - t0)));
    }
  });
}

// 4 D^2 L multiply-adds: 8 D^2 L flops.
void counters(benchmark::State& state) {
  hyena::bench::set_gflops(state, 8.0 * double(D) * double(D) * double(state.range(0)));
}

void BM_gemm_eigen(benchmark::State& state) {
  operands m(Eigen::Index(state.range(0)));
  for (auto _ : state) blocked(m, unsigned(state.range(1)), eigen_block);
  counters(state);
}

void BM_gemm_blas_blocks(benchmark::State& state) {
  operands m(Eigen::Index(state.range(0)));
  openblas_set_num_threads(1);
  for (auto _ : state) blocked(m, unsigned(state.range(1)), blas_block);
  counters(state);
}

void BM_gemm_blas_whole(benchmark::State& state) {
  operands m(Eigen::Index(state.range(0)));
  openblas_set_num_threads(int(state.range(1)));
  for (auto _ : state) blas_block(m, 0, m.u.cols());
  counters(state);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"L", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (long threads = 1; threads <= long(hyena::execution_context(0).threads()); ++threads)
    for (long L = 1024; L <= 65536; L *= 4) b->Args({L, threads});
}

BENCHMARK(BM_gemm_eigen)->Apply(shapes);
BENCHMARK(BM_gemm_blas_blocks)->Apply(shapes);
BENCHMARK(BM_gemm_blas_whole)->Apply(shapes);

class speedup_reporter : public hyena::bench::timing_reporter {
 public:
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nProjection GEMMs (d_model %ld, 8 D^2 L flops), OpenBLAS speedup over Eigen (same run)\n",
                long(D));
    std::printf("%-28s %10s %12s %12s\n", "shape", "eigen ms", "blas blocks", "blas whole");
    for (const auto& args : arguments()) {
      const double eigen = ms("BM_gemm_eigen", args);
      std::printf("%-28s %10.2f %11.2fx %11.2fx\n", args.c_str(), eigen, eigen / ms("BM_gemm_blas_blocks", args),
                  eigen / ms("BM_gemm_blas_whole", args));
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  speedup_reporter reporter;
  return hyena::bench::run_benchmarks(argc, argv, reporter);
}
