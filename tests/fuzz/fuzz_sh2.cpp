// libFuzzer driver for fuzz_sh2.hpp (the body is shared with tests/integration/test_fuzz_regressions.cpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_sh2.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return hyena::fuzz::fuzz_sh2(data, size);
}
