// The projections' GEMMs on every GEMM this machine has, in one run: Eigen's
// own kernel, OpenBLAS and BLIS, each the way the library calls it (one
// single-threaded GEMM per fixed 256 x 256 output tile, the tiles shared out
// over hyena's own thread pool).
//
//   BM_gemm/backend:b/D:d/L:n/threads:t    b = 0 Eigen, 1 OpenBLAS, 2 BLIS
//
// Shapes are an order-2 layer's: in (L x D)(D x 3D) and out (D x D)(D x L),
// 4 D^2 L multiply-adds, for d_model 256, 768 and 1024. The BLAS libraries
// are the builds HYENA_BLAS links (Debian: libopenblas-pthread-dev, run with
// one thread per call, and libblis-serial-dev), opened with dlopen so both
// live in one process (each keeps its own cblas_sgemm); a missing one is
// reported as skipped. This file
// is compiled without EIGEN_USE_BLAS, so the Eigen rows are Eigen's own GEMM.
// The table at the end prints each BLAS's speedup over Eigen at the same
// shape and thread count, and which backend HYENA_BLAS=auto should prefer.
#include <hyena/core/execution.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <array>
#include <cstdio>
#include <string>

#include "support/counters.hpp"
#include "support/run.hpp"
#include "support/timing_reporter.hpp"

namespace {

using hyena::index_t;
constexpr index_t tile = 256;  // the library's GEMM tile (hyena_operator::for_each_gemm_tile)

// cblas_sgemm's C ABI: the enums are ints (CblasColMajor 102, NoTrans 111,
// Trans 112).
using sgemm_fn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                          int);
constexpr int col_major = 102, no_trans = 111, trans = 112;

struct blas_library {
  const char* name;
  const char* path;  // from CMake; empty when not found
  sgemm_fn sgemm = nullptr;
  std::string kernel = "not found";  // the kernel family the library picked for this CPU

  void open() {
    if (path == nullptr || *path == '\0') return;
    void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      kernel = std::string("dlopen failed: ") + dlerror();
      return;
    }
    sgemm = reinterpret_cast<sgemm_fn>(dlsym(handle, "cblas_sgemm"));
    kernel = "?";
    if (auto corename = reinterpret_cast<char* (*)()>(dlsym(handle, "openblas_get_corename"))) kernel = corename();
    // OpenBLAS's threaded build, one thread per call, as the library links it
    // (cmake/openblas_one_thread.cpp): its serial build is not safe to call
    // from several threads at once.
    if (auto one_thread = reinterpret_cast<void (*)(int)>(dlsym(handle, "openblas_set_num_threads"))) one_thread(1);
    using arch_query = int (*)();
    using arch_string = const char* (*)(int);
    auto query = reinterpret_cast<arch_query>(dlsym(handle, "bli_arch_query_id"));
    auto label = reinterpret_cast<arch_string>(dlsym(handle, "bli_arch_string"));
    if (query != nullptr && label != nullptr) kernel = label(query());
    if (sgemm == nullptr) kernel = "no cblas_sgemm";
  }
};

#ifndef HYENA_BENCH_OPENBLAS
#define HYENA_BENCH_OPENBLAS ""
#endif
#ifndef HYENA_BENCH_BLIS
#define HYENA_BENCH_BLIS ""
#endif
std::array<blas_library, 2> g_blas{{{"OpenBLAS", HYENA_BENCH_OPENBLAS}, {"BLIS", HYENA_BENCH_BLIS}}};
const char* const backend_names[] = {"Eigen", "OpenBLAS", "BLIS"};

using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The operator's layouts: u [time][channel] (a D x L column-major matrix),
// W_in [stream][channel] row-major, streams p [stream][time] (L x 3D
// column-major), y [channel][time] (L x D), W_out row-major, out
// [time][channel] (D x L).
struct operands {
  operands(index_t d, index_t l)
      : D(d), L(l), w_in(row_matrix::Random(3 * d, d)), w_out(row_matrix::Random(d, d)), u(matrix::Random(d, l)),
        y(matrix::Random(l, d)), p(l, 3 * d), out(d, l) {}
  index_t D, L;
  row_matrix w_in, w_out;
  matrix u, y, p, out;
};

// Tile (t0, n) x (c0, m) of p = u^T W_in^T, and tile (t0, n) x (e0, m) of
// out = W_out y^T.
void eigen_in(operands& x, index_t t0, index_t n, index_t c0, index_t m) {
  x.p.block(t0, c0, n, m).noalias() = x.u.middleCols(t0, n).transpose() * x.w_in.middleRows(c0, m).transpose();
}
void eigen_out(operands& x, index_t t0, index_t n, index_t e0, index_t m) {
  x.out.block(e0, t0, m, n).noalias() = x.w_out.middleRows(e0, m) * x.y.middleRows(t0, n).transpose();
}
void blas_in(sgemm_fn sgemm, operands& x, index_t t0, index_t n, index_t c0, index_t m) {
  const int D = int(x.D), L = int(x.L);
  sgemm(col_major, trans, no_trans, int(n), int(m), D, 1.0f, x.u.data() + t0 * D, D, x.w_in.data() + c0 * D, D, 0.0f,
        x.p.data() + c0 * L + t0, L);
}
void blas_out(sgemm_fn sgemm, operands& x, index_t t0, index_t n, index_t e0, index_t m) {
  const int D = int(x.D), L = int(x.L);
  sgemm(col_major, trans, trans, int(m), int(n), D, 1.0f, x.w_out.data() + e0 * D, D, x.y.data() + t0, L, 0.0f,
        x.out.data() + t0 * D + e0, D);
}

void BM_gemm(benchmark::State& state) {
  const int backend = int(state.range(0));
  const index_t D = state.range(1), L = state.range(2);
  const hyena::execution_context exec(unsigned(state.range(3)));
  sgemm_fn sgemm = backend == 0 ? nullptr : g_blas[std::size_t(backend - 1)].sgemm;
  if (backend != 0 && sgemm == nullptr) {
    state.SkipWithError((std::string(backend_names[backend]) + " not found").c_str());
    return;
  }
  operands x(D, L);
  for (auto _ : state) {
    exec.for_each_tile(L, tile, 3 * D, tile, D, [&](index_t t0, index_t n, index_t c0, index_t m) {
      sgemm ? blas_in(sgemm, x, t0, n, c0, m) : eigen_in(x, t0, n, c0, m);
    });
    exec.for_each_tile(L, tile, D, tile, D, [&](index_t t0, index_t n, index_t e0, index_t m) {
      sgemm ? blas_out(sgemm, x, t0, n, e0, m) : eigen_out(x, t0, n, e0, m);
    });
    benchmark::DoNotOptimize(x.out.data());
  }
  hyena::bench::set_gflops(state, 8.0 * double(D) * double(D) * double(L));  // 4 D^2 L multiply-adds
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"backend", "D", "L", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (long threads = 1; threads <= long(hyena::execution_context(0).threads()); ++threads)
    for (long D : {256, 768, 1024})
      for (long L : {256, 1024, 4096, 16384, 65536})
        if (L < 65536 || D == 768)
          for (long backend = 0; backend < 3; ++backend) b->Args({backend, D, L, threads});
}
BENCHMARK(BM_gemm)->Apply(shapes);

class speedup_reporter : public hyena::bench::timing_reporter {
 public:
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nProjection GEMMs (order-2 layer, 8 D^2 L flops, 256 x 256 tiles over hyena's threads)\n");
    for (const auto& lib : g_blas) std::printf("  %-9s %s\n", lib.name, lib.kernel.c_str());
    std::printf("%-26s %9s %9s %9s %11s %11s\n", "shape", "Eigen ms", "GFLOP/s", "", "OpenBLAS", "BLIS");
    std::array<double, 3> total{};  // summed time per backend over every shape
    for (const auto& args : arguments()) {
      if (args.rfind("backend:0/", 0) != 0) continue;
      const std::string shape = args.substr(10);
      std::array<double, 3> t{};
      for (int b = 0; b < 3; ++b) {
        t[std::size_t(b)] = ms("BM_gemm", "backend:" + std::to_string(b) + "/" + shape);
        total[std::size_t(b)] += t[std::size_t(b)];
      }
      const double flops = 8.0 * std::stod(shape.substr(2)) * std::stod(shape.substr(2)) *
                           std::stod(shape.substr(shape.find("L:") + 2));
      std::printf("%-26s %9.2f %9.1f %9s %10.2fx %10.2fx\n", shape.c_str(), t[0], flops / t[0] / 1e6, "",
                  t[0] / t[1], t[0] / t[2]);
    }
    int best = 0;
    for (int b = 1; b < 3; ++b)
      if (total[std::size_t(b)] < total[std::size_t(best)]) best = b;  // NaN (missing) never wins
    std::printf("\nSummed over every shape: Eigen %.0f ms, OpenBLAS %.0f ms, BLIS %.0f ms: fastest %s\n", total[0],
                total[1], total[2], backend_names[best]);
  }
};

}  // namespace

int main(int argc, char** argv) {
  for (auto& lib : g_blas) lib.open();
  speedup_reporter reporter;
  return hyena::bench::run_benchmarks(argc, argv, reporter);
}
