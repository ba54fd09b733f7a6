// Compiled into each of hyena's own executables and modules when HYENA_BLAS
// picks OpenBLAS: hyena calls the BLAS from its own pool threads, one GEMM per
// tile, so OpenBLAS itself must run each call on the calling thread. Its
// threaded build does that safely after openblas_set_num_threads(1); Debian's
// serial build is not safe to call from several threads at once (concurrent
// calls share its buffers and return wrong results).
extern "C" void openblas_set_num_threads(int);

namespace {
const bool hyena_openblas_one_thread = (openblas_set_num_threads(1), true);
}  // namespace
