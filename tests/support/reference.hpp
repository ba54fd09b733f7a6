// Access to the PyTorch reference dumps in shared/reference (docs/reference_dumps.md).
#pragma once

#include <hyena/io/safetensors_reader.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <string>
#include <vector>

namespace hyena::test {

inline std::filesystem::path reference_dir() { return HYENA_REFERENCE_DIR; }

/// The configuration folders under reference/<family>, sorted by name; empty
/// when the folder is missing (test registration must not throw: each suite
/// also has a test that fails when there is nothing to compare against).
inline std::vector<std::string> reference_cases(const std::string& family) {
  std::vector<std::string> names;
  const auto dir = reference_dir() / family;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

/// One dumped configuration: config.json plus its three safetensors files.
struct reference_case {
  std::filesystem::path dir;
  nlohmann::json config;
  hyena::safetensors_file params, io, stages;

  reference_case(const std::string& family, const std::string& name)
      : dir(reference_dir() / family / name),
        config(read_json(dir / "config.json")),
        params(hyena::safetensors_file::load((dir / "params.safetensors").string())),
        io(hyena::safetensors_file::load((dir / "io.safetensors").string())),
        stages(hyena::safetensors_file::load((dir / "stages.safetensors").string())) {}
};

/// [rows][cols] -> [cols][rows], for comparing time-major dumps with channel-major data.
template <class T>
std::vector<T> transpose(const std::vector<T>& a, std::size_t batch, std::size_t rows, std::size_t cols) {
  std::vector<T> out(a.size());
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) out[(b * cols + c) * rows + r] = a[(b * rows + r) * cols + c];
  return out;
}

}  // namespace hyena::test
