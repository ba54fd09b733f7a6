// libFuzzer driver for fuzz_safetensors.hpp (the body is shared with tests/test_fuzz_regressions.cpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return hyena::fuzz::fuzz_safetensors(data, size);
}
