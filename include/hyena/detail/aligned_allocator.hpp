// hyena/detail/aligned_allocator.hpp: 64-byte aligned storage for FFT and SIMD work arrays,
// huge pages for the large ones.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace hyena::detail {

/// Cache-line (and AVX-512) alignment. FFTW's new-array execution requires
/// arrays aligned like the ones a plan was made with; all of ours are 64-byte
/// aligned, planning arrays included.
inline constexpr std::size_t simd_alignment = 64;

/// Arrays of huge_page_threshold bytes or more (activations, gradients and
/// spectra at long L: hundreds of MiB) are aligned to a 2 MiB huge page and,
/// on Linux, advised into transparent huge pages (Debian's default is
/// "madvise": only advised memory gets them). The GEMM blocks that stride
/// over channel-major rows touch a new 4 KiB page per row and miss the TLB,
/// and first touch faults 4 KiB at a time, which is dear under a hypervisor.
/// Advice only: without huge pages the array works the same.
inline constexpr std::size_t huge_page_bytes = std::size_t(2) << 20;
inline constexpr std::size_t huge_page_threshold = std::size_t(8) << 20;

inline std::size_t alignment_for(std::size_t bytes) noexcept {
  return bytes >= huge_page_threshold ? huge_page_bytes : simd_alignment;
}

inline void advise_huge_pages([[maybe_unused]] void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  (void)::madvise(p, bytes / huge_page_bytes * huge_page_bytes, MADV_HUGEPAGE);  // advisory: errors ignored
#endif
}

template <class T>
struct aligned_allocator {
  using value_type = T;
  aligned_allocator() noexcept = default;
  template <class U>
  aligned_allocator(const aligned_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    const std::size_t bytes = n * sizeof(T), alignment = alignment_for(bytes);
    void* p = ::operator new(bytes, std::align_val_t(alignment));
    if (alignment == huge_page_bytes) advise_huge_pages(p, bytes);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    ::operator delete(p, std::align_val_t(alignment_for(n * sizeof(T))));
  }
  template <class U>
  bool operator==(const aligned_allocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const aligned_allocator<U>&) const noexcept { return false; }
};

template <class T>
using aligned_vector = std::vector<T, aligned_allocator<T>>;

/// As aligned_allocator, but resize(n) leaves trivially copyable elements
/// (float, std::complex) unwritten instead of zeroing them: for arrays that
/// are always written before they are read, such as FFT outputs, where the
/// zeroing would be a whole extra sweep over memory.
template <class T>
struct uninitialized_aligned_allocator : aligned_allocator<T> {
  template <class U>
  struct rebind {
    using other = uninitialized_aligned_allocator<U>;
  };
  uninitialized_aligned_allocator() noexcept = default;
  template <class U>
  uninitialized_aligned_allocator(const uninitialized_aligned_allocator<U>&) noexcept {}

  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    if constexpr (!(std::is_trivially_copyable_v<U> && std::is_trivially_destructible_v<U>))
      ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <class T>
using uninitialized_aligned_vector = std::vector<T, uninitialized_aligned_allocator<T>>;

}  // namespace hyena::detail
