// hyena/fft/plan.hpp: immutable, shareable FFTW plans for real transforms.
//
// FFTW's planner (plan creation and destruction, wisdom) is not thread-safe:
// every such call here holds one process-wide mutex, fft_planner_mutex().
// Executing a plan on new arrays is thread-safe, so one plan serves every
// thread; each thread brings its own aligned work arrays.
#pragma once

#include <fftw3.h>

#include <climits>
#include <cstdint>
#include <complex>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "../core/config.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/checks.hpp"

namespace hyena {

/// How hard FFTW searches for a fast plan. `estimate` (the default) picks a
/// plan by heuristics, so results are identical run to run; `measure` and
/// `patient` time candidates, which makes the last bits of results depend on
/// the machine's load. Wisdom (see below) makes measured plans reproducible.
enum class fft_planning { estimate, measure, patient };

/// The mutex that serialises every call into FFTW's planner. A host program
/// that also calls FFTW's planner directly must hold it too.
inline std::mutex& fft_planner_mutex() {
  static std::mutex m;
  return m;
}

namespace detail {

inline unsigned fftw_flags(fft_planning p) {
  switch (p) {
    case fft_planning::estimate: return FFTW_ESTIMATE;
    case fft_planning::measure: return FFTW_MEASURE;
    case fft_planning::patient: return FFTW_PATIENT;
  }
  return FFTW_ESTIMATE;
}

// Per-precision FFTW entry points.
template <class T>
struct fftw_api;

template <>
struct fftw_api<double> {
  using plan = fftw_plan;
  using complex = fftw_complex;
  static plan r2c(int n, double* in, complex* out, unsigned f) { return fftw_plan_dft_r2c_1d(n, in, out, f); }
  static plan c2r(int n, complex* in, double* out, unsigned f) { return fftw_plan_dft_c2r_1d(n, in, out, f); }
  static void exec_r2c(plan p, double* in, complex* out) { fftw_execute_dft_r2c(p, in, out); }
  static void exec_c2r(plan p, complex* in, double* out) { fftw_execute_dft_c2r(p, in, out); }
  static void destroy(plan p) { fftw_destroy_plan(p); }
  static char* export_wisdom() { return fftw_export_wisdom_to_string(); }
  static int import_wisdom(const char* s) { return fftw_import_wisdom_from_string(s); }
  static void forget_wisdom() { fftw_forget_wisdom(); }
};

template <>
struct fftw_api<float> {
  using plan = fftwf_plan;
  using complex = fftwf_complex;
  static plan r2c(int n, float* in, complex* out, unsigned f) { return fftwf_plan_dft_r2c_1d(n, in, out, f); }
  static plan c2r(int n, complex* in, float* out, unsigned f) { return fftwf_plan_dft_c2r_1d(n, in, out, f); }
  static void exec_r2c(plan p, float* in, complex* out) { fftwf_execute_dft_r2c(p, in, out); }
  static void exec_c2r(plan p, complex* in, float* out) { fftwf_execute_dft_c2r(p, in, out); }
  static void destroy(plan p) { fftwf_destroy_plan(p); }
  static char* export_wisdom() { return fftwf_export_wisdom_to_string(); }
  static int import_wisdom(const char* s) { return fftwf_import_wisdom_from_string(s); }
  static void forget_wisdom() { fftwf_forget_wisdom(); }
};

template <class T>
struct fftw_plan_deleter {
  void operator()(typename fftw_api<T>::plan p) const {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(fft_planner_mutex());
    fftw_api<T>::destroy(p);
  }
};

template <class T>
using unique_fftw_plan =
    std::unique_ptr<std::remove_pointer_t<typename fftw_api<T>::plan>, fftw_plan_deleter<T>>;

}  // namespace detail

/// Forward (real to half-complex) and inverse (half-complex to real) FFTs of
/// one length n, both unnormalised: inverse(forward(x)) == n * x.
///
/// Immutable after construction and safe to use from many threads at once.
/// The arrays passed to forward()/inverse() must be 64-byte aligned (use
/// fft_real_buffer / fft_complex_buffer) and must not overlap.
template <class T>
class real_fft {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "hyena::real_fft supports float and double only");
  using api = detail::fftw_api<T>;

 public:
  using complex_type = std::complex<T>;

  /// Plans both directions for length `n` (>= 1). Throws std::invalid_argument
  /// if n is 0 or exceeds FFTW's int range, std::runtime_error if FFTW fails.
  explicit real_fft(index_t n, fft_planning planning = fft_planning::estimate) : n_(n) {
    detail::require_positive(n, "real_fft", "n");
    if (n > static_cast<index_t>(INT_MAX))
      detail::throw_invalid("hyena::real_fft: n = ", n, " exceeds FFTW's limit of ", INT_MAX);
    // Planning with MEASURE/PATIENT overwrites its arrays, so plan on scratch
    // arrays of the same alignment as the ones the plan will run on.
    detail::aligned_vector<T> real(n);
    detail::aligned_vector<complex_type> spec(spectrum_size());
    auto* c = reinterpret_cast<typename api::complex*>(spec.data());
    const unsigned flags = detail::fftw_flags(planning);
    std::lock_guard<std::mutex> lock(fft_planner_mutex());
    // PRESERVE_INPUT is FFTW's default for r2c; said explicitly because the
    // convolution reads its input row again after the forward FFT.
    forward_.reset(api::r2c(static_cast<int>(n), real.data(), c, flags | FFTW_PRESERVE_INPUT));
    inverse_.reset(api::c2r(static_cast<int>(n), c, real.data(), flags));
    if (!forward_ || !inverse_)
      throw std::runtime_error(detail::concat("hyena::real_fft: FFTW could not plan size ", n));
  }

  index_t size() const noexcept { return n_; }
  /// Number of complex outputs of forward(): n/2 + 1.
  index_t spectrum_size() const noexcept { return n_ / 2 + 1; }

  /// spectrum[0..n/2] = DFT(real[0..n)). `real` is left unchanged.
  void forward(T* real, complex_type* spectrum) const noexcept {
    HYENA_ASSERT(is_aligned(real) && is_aligned(spectrum));
    api::exec_r2c(forward_.get(), real, reinterpret_cast<typename api::complex*>(spectrum));
  }
  /// real[0..n) = n * IDFT(spectrum): unnormalised. Overwrites `spectrum`.
  void inverse(complex_type* spectrum, T* real) const noexcept {
    HYENA_ASSERT(is_aligned(real) && is_aligned(spectrum));
    api::exec_c2r(inverse_.get(), reinterpret_cast<typename api::complex*>(spectrum), real);
  }

  /// The process-wide shared plan for (n, planning), made on first use.
  /// Thread-safe; the returned plan lives as long as any holder keeps it.
  static std::shared_ptr<const real_fft> shared(index_t n,
                                                fft_planning planning = fft_planning::estimate) {
    static std::mutex cache_mutex;
    static std::map<std::pair<index_t, fft_planning>, std::weak_ptr<const real_fft>> cache;
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto& slot = cache[{n, planning}];
    if (auto plan = slot.lock()) return plan;
    auto plan = std::make_shared<const real_fft>(n, planning);
    slot = plan;
    return plan;
  }

 private:
  static bool is_aligned(const void* p) noexcept {
    return reinterpret_cast<std::uintptr_t>(p) % detail::simd_alignment == 0;
  }

  index_t n_;
  detail::unique_fftw_plan<T> forward_;
  detail::unique_fftw_plan<T> inverse_;
};

/// Work arrays for real_fft: 64-byte aligned, as the plans require.
template <class T>
using fft_real_buffer = detail::aligned_vector<T>;
template <class T>
using fft_complex_buffer = detail::aligned_vector<std::complex<T>>;

/// FFTW wisdom (accumulated plan knowledge) for precision T, as a string that
/// import_fft_wisdom() accepts: plan with `measure` once, export, and later
/// runs reproduce the same plans without timing.
template <class T>
std::string export_fft_wisdom() {
  std::lock_guard<std::mutex> lock(fft_planner_mutex());
  char* s = detail::fftw_api<T>::export_wisdom();
  if (s == nullptr) throw std::runtime_error("hyena::export_fft_wisdom: FFTW returned no wisdom");
  std::string out(s);
  std::free(s);
  return out;
}

/// Merges wisdom from export_fft_wisdom<T>(); throws std::invalid_argument if FFTW rejects it.
template <class T>
void import_fft_wisdom(const std::string& wisdom) {
  std::lock_guard<std::mutex> lock(fft_planner_mutex());
  if (detail::fftw_api<T>::import_wisdom(wisdom.c_str()) == 0)
    throw std::invalid_argument("hyena::import_fft_wisdom: FFTW rejected the wisdom string");
}

/// Forgets all wisdom of precision T (plans already made are unaffected).
template <class T>
void forget_fft_wisdom() {
  std::lock_guard<std::mutex> lock(fft_planner_mutex());
  detail::fftw_api<T>::forget_wisdom();
}

}  // namespace hyena
