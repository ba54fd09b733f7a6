// hyena/detail/aligned_allocator.hpp: 64-byte aligned storage for FFT and SIMD work arrays.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
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
