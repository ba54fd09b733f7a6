// hyena/io/safetensors_writer.hpp: writing the safetensors format (see
// safetensors_reader.hpp for the layout), e.g. for a model's weights or a
// CLI's outputs.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "dtype.hpp"
#include "safetensors_error.hpp"

namespace hyena {

/// Builds a safetensors file from tensors given in memory: F32, F64, I64 and
/// I32, stored in the order they were added, little-endian whatever the host.
/// Not thread-safe for concurrent add(); bytes() and save() are const.
class safetensors_writer {
 public:
  /// Adds a tensor of `shape` (row-major; empty shape = scalar) holding a copy
  /// of `data`. Throws std::invalid_argument if the shape's element count
  /// differs from data.size() (or overflows), if `name` was already added or
  /// is "__metadata__", or if it is not valid UTF-8.
  void add(const std::string& name, std::vector<index_t> shape, span<const float> data) {
    add_typed(name, std::move(shape), data);
  }
  void add(const std::string& name, std::vector<index_t> shape, span<const double> data) {
    add_typed(name, std::move(shape), data);
  }
  void add(const std::string& name, std::vector<index_t> shape, span<const std::int64_t> data) {
    add_typed(name, std::move(shape), data);
  }
  void add(const std::string& name, std::vector<index_t> shape, span<const std::int32_t> data) {
    add_typed(name, std::move(shape), data);
  }
  /// Adds a BF16 tensor from its bit patterns (as weight_matrix holds them);
  /// the same checks as add().
  void add_bf16(const std::string& name, std::vector<index_t> shape, span<const std::uint16_t> bits) {
    add_typed(name, std::move(shape), bits, dtype::bf16);
  }

  /// Adds a "__metadata__" entry. Throws std::invalid_argument if `key` was
  /// already added or either string is not valid UTF-8.
  void add_metadata(const std::string& key, const std::string& value) {
    require_utf8(key, "metadata key");
    require_utf8(value, "metadata value");
    if (!metadata_.emplace(key, value).second)
      detail::throw_invalid("hyena::safetensors_writer::add_metadata: duplicate key \"", key, "\"");
  }

  /// The complete file: length, header (space-padded so the data area starts
  /// at a multiple of 8 bytes), data.
  std::vector<std::uint8_t> bytes() const {
    // Built entry by entry rather than as one JSON object: names are unique
    // already, and ordered_json's key lookup would make this quadratic.
    std::string text = "{";
    if (!metadata_.empty()) text += "\"__metadata__\":" + nlohmann::json(metadata_).dump();
    index_t offset = 0;
    for (const auto& e : entries_) {
      const index_t end = offset + e.data.size();
      const nlohmann::ordered_json fields = {
          {"dtype", dtype_name(e.type)}, {"shape", e.shape}, {"data_offsets", {offset, end}}};
      if (text.size() > 1) text += ',';
      text += nlohmann::json(e.name).dump() + ':' + fields.dump();
      offset = end;
    }
    text += '}';
    text.append((8 - text.size() % 8) % 8, ' ');
    std::vector<std::uint8_t> out(8 + text.size() + offset);
    detail::store_le<std::uint64_t>(text.size(), out.data());
    std::copy(text.begin(), text.end(), out.begin() + 8);
    auto data = out.begin() + static_cast<std::ptrdiff_t>(8 + text.size());
    for (const auto& e : entries_) data = std::copy(e.data.begin(), e.data.end(), data);
    return out;
  }

  /// Writes bytes() to `path`, replacing any file there. Throws
  /// safetensors_error naming `path` if it cannot be written.
  void save(const std::string& path) const {
    const std::vector<std::uint8_t> data = bytes();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
      detail::safetensors_fail(path, "cannot open for writing: ", std::generic_category().message(errno));
    const bool written = std::fwrite(data.data(), 1, data.size(), f) == data.size();
    const int write_errno = errno;
    const bool closed = std::fclose(f) == 0;
    if (!written || !closed)
      detail::safetensors_fail(
          path, "cannot write: ", std::generic_category().message(written ? errno : write_errno));
  }

 private:
  struct entry {
    std::string name;
    dtype type;
    std::vector<index_t> shape;
    std::vector<std::uint8_t> data;  // little-endian
  };

  static void require_utf8(const std::string& s, const char* what) {
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::exception&) {
      detail::throw_invalid("hyena::safetensors_writer: ", what, " is not valid UTF-8");
    }
  }

  template <class T>
  void add_typed(const std::string& name, std::vector<index_t> shape, span<const T> values) {
    add_typed(name, std::move(shape), values, detail::dtype_of<T>());
  }
  template <class T>
  void add_typed(const std::string& name, std::vector<index_t> shape, span<const T> values, dtype type) {
    index_t n = 1;
    for (index_t d : shape)
      if (!detail::mul_fits(n, d, n))
        detail::throw_invalid("hyena::safetensors_writer::add: tensor \"", name, "\" shape ",
                              detail::format_shape(shape), " overflows");
    if (n != values.size())
      detail::throw_invalid("hyena::safetensors_writer::add: tensor \"", name, "\" shape ",
                            detail::format_shape(shape), " has ", n, " elements but data has ",
                            values.size());
    if (name == "__metadata__")
      detail::throw_invalid(
          "hyena::safetensors_writer::add: \"__metadata__\" is reserved, not a tensor name");
    require_utf8(name, "tensor name");
    if (names_.count(name) != 0)
      detail::throw_invalid("hyena::safetensors_writer::add: duplicate tensor name \"", name, "\"");

    using bits_t = std::conditional_t<sizeof(T) == 8, std::uint64_t,
                                      std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint16_t>>;
    entry e{name, type, std::move(shape),
            std::vector<std::uint8_t>(values.size() * sizeof(T))};
    for (index_t i = 0; i < values.size(); ++i)
      detail::store_le(detail::bit_cast<bits_t>(values[i]), e.data.data() + i * sizeof(T));
    entries_.push_back(std::move(e));
    names_.insert(name);
  }

  std::vector<entry> entries_;
  std::set<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace hyena
