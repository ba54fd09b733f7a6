// Every input committed under tests/data/fuzz/<target>/ -- what the fuzzers
// once found, and hand-made hostile files -- run through the same body the
// libFuzzer target runs (tests/fuzz/fuzz_<target>.hpp), in the normal build
// without libFuzzer. A body returns normally whether the library accepted the
// input or refused it with a documented exception; anything else escapes as
// an exception (or crashes, under the sanitizer builds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_lm.hpp"
#include "fuzz/fuzz_operator.hpp"
#include "fuzz/fuzz_safetensors.hpp"
#include "fuzz/fuzz_sh2.hpp"

namespace {

namespace fs = std::filesystem;
using fuzz_body = int (*)(const std::uint8_t*, std::size_t);

std::vector<fs::path> inputs_of(const std::string& target) {
  const fs::path dir = fs::path(HYENA_TEST_DATA_DIR) / "fuzz" / target;
  std::vector<fs::path> files;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void run_all(const std::string& target, fuzz_body body) {
  const auto files = inputs_of(target);
  // An empty folder would make this test pass vacuously.
  ASSERT_GE(files.size(), 3u) << "expected regression inputs under " << HYENA_TEST_DATA_DIR << "/fuzz/" << target;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const std::vector<std::uint8_t> bytes = read_bytes(file);
    // A null pointer for the empty file, as libFuzzer may pass.
    EXPECT_NO_THROW(EXPECT_EQ(body(bytes.empty() ? nullptr : bytes.data(), bytes.size()), 0));
  }
}

TEST(FuzzRegressions, Safetensors) { run_all("safetensors", hyena::fuzz::fuzz_safetensors); }
TEST(FuzzRegressions, Operator) { run_all("operator", hyena::fuzz::fuzz_operator); }
TEST(FuzzRegressions, LanguageModel) { run_all("lm", hyena::fuzz::fuzz_lm); }
TEST(FuzzRegressions, StripedHyena2) { run_all("sh2", hyena::fuzz::fuzz_sh2); }

}  // namespace
