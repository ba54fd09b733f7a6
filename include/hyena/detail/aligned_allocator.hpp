// hyena/detail/aligned_allocator.hpp: 64-byte aligned storage for FFT and SIMD work arrays.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace hyena::detail {

/// Cache-line (and AVX-512) alignment. FFTW's new-array execution requires
/// arrays aligned like the ones a plan was made with; all of ours are 64-byte
/// aligned, planning arrays included.
inline constexpr std::size_t simd_alignment = 64;

template <class T>
struct aligned_allocator {
  using value_type = T;
  aligned_allocator() noexcept = default;
  template <class U>
  aligned_allocator(const aligned_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(simd_alignment)));
  }
  void deallocate(T* p, std::size_t) noexcept {
    ::operator delete(p, std::align_val_t(simd_alignment));
  }
  template <class U>
  bool operator==(const aligned_allocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const aligned_allocator<U>&) const noexcept { return false; }
};

template <class T>
using aligned_vector = std::vector<T, aligned_allocator<T>>;

}  // namespace hyena::detail
