// hyena/io/safetensors_reader.hpp: reading the safetensors format, the way
// model weights and reference dumps reach this library.
//
// A file is: an unsigned 64-bit little-endian header length N; N bytes of
// UTF-8 JSON (trailing spaces allowed)
//
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//    ..., "__metadata__": {"key": "value", ...}}
//
// then the data area, in which each tensor occupies the bytes [begin, end)
// (offsets relative to the start of the data area), row-major, little-endian.
// The tensors tile the data area exactly: no overlaps, no gaps, no trailing
// bytes.
//
// The reader treats every file as untrusted input: each header field is
// checked before use, sizes are computed with overflow checks, and every
// violation throws safetensors_error naming the file, the tensor and the
// problem. No input makes it read out of bounds.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define HYENA_SAFETENSORS_CAN_MAP 1
#endif

#include "../core/config.hpp"
#include "../core/span.hpp"
#include "../detail/checks.hpp"
#include "dtype.hpp"
#include "safetensors_error.hpp"

namespace hyena {

/// One tensor's header entry, as validated by safetensors_file.
struct tensor_info {
  std::string name;
  dtype type = dtype::f32;
  std::vector<index_t> shape;  // empty for a scalar (one element)
  index_t begin = 0, end = 0;  // byte offsets in the data area: [begin, end)

  /// Product of the shape (1 for a scalar). Throws std::length_error if it
  /// overflows, which cannot happen for an info that came from a file.
  index_t elements() const {
    index_t n = 1;
    for (index_t d : shape) n = detail::checked_mul(n, d, "tensor element count");
    return n;
  }
};
namespace detail {

/// Largest header accepted. Real headers are kilobytes; the cap keeps a
/// hostile length field from turning into a huge JSON parse.
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;
/// Deepest JSON nesting accepted (a valid header needs 3: file, entry, shape).
inline constexpr int safetensors_max_depth = 16;

/// "tensor \"name\"", or "__metadata__" for the metadata entry.
inline std::string safetensors_subject(const std::string& key) {
  if (key == "__metadata__") return key;
  return concat("tensor \"", key, "\"");
}

/// A JSON value for an error message, cut short so a hostile header cannot
/// make the message huge.
inline std::string brief_json(const nlohmann::json& v) {
  // Containers by their size only: dump() recurses, and a hostile file can
  // nest deeply enough to overflow the stack.
  if (v.is_array()) return concat("an array of ", v.size(), v.size() == 1 ? " element" : " elements");
  if (v.is_object()) return concat("an object of ", v.size(), v.size() == 1 ? " key" : " keys");
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

/// A non-negative JSON integer that fits index_t, or the problem with it
/// (nlohmann stores non-negative integers as unsigned, negative ones as
/// signed, and anything fractional or beyond 64 bits as a double).
inline const char* json_to_index(const nlohmann::json& v, index_t& out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > std::numeric_limits<index_t>::max()) return "does not fit in a size";
    out = static_cast<index_t>(u);
    return nullptr;
  }
  if (v.is_number_integer()) return "is negative";
  return "is not a non-negative integer";
}

}  // namespace detail

/// A safetensors file held in memory (or mapped) and fully validated (see the
/// top of this header for the format and what "valid" means).
///
/// Construction (load, map, parse) checks the whole header against the data
/// area once; afterwards every accessor is const, and one object may be read
/// from many threads at once; copies share the bytes. Memory: the file's
/// bytes (for map(), page cache the kernel can reclaim) plus the header's
/// entries.
class safetensors_file {
 public:
  /// Reads the file at `path` whole and validates it. Throws safetensors_error
  /// (naming `path`) if it cannot be opened or read, or is not a valid file.
  static safetensors_file load(const std::string& path) {
    struct closer {
      void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, closer> file(std::fopen(path.c_str(), "rb"));
    if (!file) detail::safetensors_fail(path, "cannot open: ", std::generic_category().message(errno));
    std::vector<std::uint8_t> bytes;
    std::error_code ec;
    const auto expected = std::filesystem::file_size(path, ec);
    // A reservation only: the loop below reads to EOF whatever the size says,
    // and a bogus size (pipes, /proc) must not allocate.
    if (!ec && expected <= (std::uint64_t(1) << 40)) bytes.reserve(static_cast<std::size_t>(expected));
    std::uint8_t chunk[1 << 16];
    for (;;) {
      const std::size_t got = std::fread(chunk, 1, sizeof chunk, file.get());
      bytes.insert(bytes.end(), chunk, chunk + got);
      if (got < sizeof chunk) break;
    }
    if (std::ferror(file.get()))
      detail::safetensors_fail(path, "cannot read: ", std::generic_category().message(errno));
    return parse(std::move(bytes), path);
  }

  /// The file at `path`, memory-mapped read-only (POSIX; elsewhere, and for
  /// what cannot be mapped such as pipes or empty files, read as load()
  /// does), validated as load() does. The mapped bytes are page cache, not
  /// process memory: building a model from a 14 GB checkpoint does not need
  /// another 14 GB beside the model (load_sh2_model and hyena-lm use this), and the
  /// kernel reads only the pages touched. The file must not be truncated or
  /// rewritten while the object lives: mapped data changes with the file,
  /// and on POSIX reading past a truncation raises SIGBUS.
  static safetensors_file map(const std::string& path) {
#ifdef HYENA_SAFETENSORS_CAN_MAP
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) detail::safetensors_fail(path, "cannot open: ", std::generic_category().message(errno));
    struct ::stat st {};
    const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
    void* address = regular ? ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0)
                            : MAP_FAILED;
    ::close(fd);  // the mapping keeps the file
    if (address != MAP_FAILED) {
      const auto length = static_cast<std::size_t>(st.st_size);
      safetensors_file f;
      f.source_ = path;
      f.storage_ = std::shared_ptr<const std::uint8_t>(
          static_cast<const std::uint8_t*>(address),
          [length](const std::uint8_t* p) { ::munmap(const_cast<std::uint8_t*>(p), length); });
      f.size_ = length;
      f.validate();
      return f;
    }
#endif
    return load(path);
  }

  /// Validates `bytes` as a safetensors file; `source_name` stands for the
  /// file in messages. Throws safetensors_error on any violation: file
  /// shorter than 8 bytes; header length past the end of the file or above
  /// 100 MB; header not JSON, not an object, nested deeper than 16, or with a
  /// duplicate key at any level; an entry that is not an object, lacks or
  /// mistypes dtype / shape / data_offsets, or has other fields; an
  /// unsupported dtype; shape entries that are not non-negative integers; an
  /// element or byte count that overflows 64 bits; data_offsets not
  /// [begin <= end] inside the data area; a byte count different from
  /// end - begin; tensors overlapping, leaving gaps, or not reaching the end
  /// of the data area; __metadata__ not an object of strings.
  static safetensors_file parse(std::vector<std::uint8_t> bytes, std::string source_name = "<memory>") {
    safetensors_file f;
    f.source_ = std::move(source_name);
    auto owner = std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
    f.size_ = owner->size();
    f.storage_ = std::shared_ptr<const std::uint8_t>(owner, owner->data());
    f.validate();
    return f;
  }

  /// The path or name given to load / parse.
  const std::string& source() const noexcept { return source_; }

  bool contains(const std::string& name) const { return index_.count(name) != 0; }

  /// Number of tensors.
  index_t size() const noexcept { return tensors_.size(); }

  /// The header entry of `name`; throws safetensors_error naming the file and
  /// `name` if there is no such tensor.
  const tensor_info& info(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) {
      std::string known;
      const std::size_t shown = std::min<std::size_t>(tensors_.size(), 8);
      for (std::size_t i = 0; i < shown; ++i)
        known += detail::concat(i ? ", " : "", "\"", tensors_[i].name, "\"");
      if (shown < tensors_.size()) known += detail::concat(", ... (", tensors_.size(), " in all)");
      detail::safetensors_fail(source_, "no tensor named \"", name, "\" (missing; the file has ",
                               tensors_.empty() ? std::string("no tensors") : known, ")");
    }
    return tensors_[it->second];
  }

  /// Tensor names in data-offset order (the order of their bytes in the file).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& t : tensors_) out.push_back(t.name);
    return out;
  }

  /// Whether any tensor's name starts with `prefix`.
  bool has_prefix(const std::string& prefix) const {
    const auto it = index_.lower_bound(prefix);
    return it != index_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
  }

  /// The names that start with `prefix`, in sorted order.
  std::vector<std::string> names_with_prefix(const std::string& prefix) const {
    std::vector<std::string> out;
    for (auto it = index_.lower_bound(prefix); it != index_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
         ++it)
      out.push_back(it->first);
    return out;
  }

  /// The "__metadata__" entry (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

  /// The tensor's raw little-endian bytes, end - begin of them, valid while this
  /// object or a copy of it lives.
  span<const std::uint8_t> raw_bytes(const std::string& name) const {
    const tensor_info& t = info(name);
    return span<const std::uint8_t>(storage_.get() + data_start_ + t.begin, t.end - t.begin);
  }

  /// The tensor's elements in row-major order, converted to T:
  ///   T = float or double from F32, F64, F16, BF16 (F64 -> float throws on a
  ///   finite value beyond float's range rather than silently making it inf);
  ///   T = std::int64_t or std::int32_t from I64, I32 (I64 -> int32 throws on
  ///   values out of range).
  /// Reading a float dtype as an integer or the reverse throws. Every throw
  /// is a safetensors_error naming the file and the tensor. O(elements).
  template <class T>
  std::vector<T> read(const std::string& name) const;

  /// As read(name), after checking that the tensor's shape is
  /// `expected_shape`; throws safetensors_error naming the file, the tensor
  /// and both shapes when it is not.
  template <class T>
  std::vector<T> read(const std::string& name, const std::vector<index_t>& expected_shape) const {
    const tensor_info& t = info(name);
    if (t.shape != expected_shape)
      detail::safetensors_fail(source_, "tensor \"", name, "\" has shape ", detail::format_shape(t.shape),
                               ", expected ", detail::format_shape(expected_shape), " (shape mismatch)");
    return read<T>(name);
  }

 private:
  safetensors_file() = default;

  template <class... Parts>
  [[noreturn]] void fail(Parts&&... parts) const {
    detail::safetensors_fail(source_, std::forward<Parts>(parts)...);
  }

  void validate();
  nlohmann::json parse_header(const std::uint8_t* first, const std::uint8_t* last) const;
  tensor_info parse_entry(const std::string& name, const nlohmann::json& entry, index_t data_size) const;
  void parse_metadata(const nlohmann::json& value);

  std::string source_;
  std::shared_ptr<const std::uint8_t> storage_;  // the file's bytes: owned, or mapped
  index_t size_ = 0;
  index_t data_start_ = 0;                    // 8 + header length
  std::vector<tensor_info> tensors_;          // sorted by data offset
  std::map<std::string, std::size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

inline void safetensors_file::validate() {
  const index_t size = size_;
  if (size < 8) fail("file is truncated: ", size, " bytes, shorter than the 8-byte header length field");
  const std::uint64_t header_len = detail::load_le<std::uint64_t>(storage_.get());
  // Both comparisons are on values already known to be in range, so neither
  // 8 + header_len nor anything else here can wrap.
  if (header_len > detail::safetensors_max_header_bytes)
    fail("header length ", header_len, " is absurdly large (limit ", detail::safetensors_max_header_bytes,
         " bytes; the file has ", size, ")");
  if (header_len > size - 8)
    fail("header length ", header_len, " runs past the end of the file (only ", size - 8,
         " bytes follow the length field): truncated file or corrupt header length");
  data_start_ = 8 + static_cast<index_t>(header_len);
  const index_t data_size = size - data_start_;

  const nlohmann::json header = parse_header(storage_.get() + 8, storage_.get() + data_start_);
  if (!header.is_object()) fail("header is not a JSON object but ", header.type_name());

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      parse_metadata(value);
    } else {
      tensors_.push_back(parse_entry(key, value, data_size));
    }
  }

  // The format packs tensors back to back: walking them in offset order,
  // each must start exactly where the previous one ended.
  std::sort(tensors_.begin(), tensors_.end(), [](const tensor_info& a, const tensor_info& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  index_t covered = 0;
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const tensor_info& t = tensors_[i];
    if (t.begin < covered)
      fail("tensor \"", t.name, "\": data_offsets [", t.begin, ", ", t.end, "] overlap tensor \"",
           tensors_[i - 1].name, "\" [", tensors_[i - 1].begin, ", ", tensors_[i - 1].end, "]");
    if (t.begin > covered)
      fail("tensor \"", t.name, "\": gap of ", t.begin - covered, " unused bytes before its data_offsets [",
           t.begin, ", ", t.end, "] (", i == 0 ? "the data area starts at 0" : "the previous tensor ends at ",
           i == 0 ? std::string() : std::to_string(covered),
           "); safetensors data must be packed without gaps");
    covered = t.end;
  }
  if (covered != data_size)
    fail("the data area has ", data_size, " bytes but the tensors cover only ", covered,
         tensors_.empty() ? std::string() : detail::concat(" (the last is \"", tensors_.back().name, "\")"),
         ": ", data_size - covered, " trailing bytes belong to no tensor");

  for (std::size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

inline nlohmann::json safetensors_file::parse_header(const std::uint8_t* first,
                                                     const std::uint8_t* last) const {
  // nlohmann::json keeps the last of duplicate keys silently; a duplicate
  // tensor name would then hide bytes the file claims to hold. The callback
  // sees every key as it is read: one key set per open object catches
  // duplicates at any level, and the key path says where. It also caps the
  // nesting depth, which a valid header never exceeds.
  // nlohmann also takes a NUL byte outside a string for the end of input and
  // ignores everything after it, so a header "{...}\0<anything>" would parse.
  // Padding is spaces; a NUL anywhere is an error.
  if (const auto* nul = std::find(first, last, std::uint8_t(0)); nul != last)
    fail("header is not valid JSON: NUL byte at header offset ", nul - first,
         " (the format pads the header with spaces)");
  std::vector<std::set<std::string>> open_objects;
  std::vector<std::string> key_path;  // key_path[d - 1]: last key read at depth d
  const auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using event_t = nlohmann::json::parse_event_t;
    switch (event) {
      case event_t::object_start:
      case event_t::array_start:
        if (depth >= detail::safetensors_max_depth)
          fail("header is nested deeper than ", detail::safetensors_max_depth, " levels");
        if (event == event_t::object_start) open_objects.emplace_back();
        break;
      case event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case event_t::key: {
        const auto d = static_cast<std::size_t>(depth);
        if (d == 0 || open_objects.empty()) break;  // cannot happen; never index out of range
        key_path.resize(d);
        key_path[d - 1] = parsed.get<std::string>();
        if (!open_objects.back().insert(key_path[d - 1]).second) {
          if (d == 1 && key_path[0] != "__metadata__")
            fail("tensor \"", key_path[0], "\": duplicate tensor name (the header lists it more than once)");
          if (d == 1) fail("__metadata__: duplicate __metadata__ entry in the header");
          fail(detail::safetensors_subject(key_path[0]), ": duplicate key \"", key_path[d - 1], "\"");
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(first, last, callback);
  } catch (const nlohmann::json::exception& e) {
    fail("header is not valid JSON: ", e.what());
  }
}

inline void safetensors_file::parse_metadata(const nlohmann::json& value) {
  if (!value.is_object()) fail("__metadata__ is not an object of strings but ", value.type_name());
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string())
      fail("__metadata__: value of \"", key, "\" is not a string but ", v.type_name(), " ",
           detail::brief_json(v), " (metadata must be an object of strings)");
    metadata_.emplace(key, v.get<std::string>());
  }
}

inline tensor_info safetensors_file::parse_entry(const std::string& name, const nlohmann::json& entry,
                                                 index_t data_size) const {
  const auto problem = [&](auto&&... parts) {
    fail("tensor \"", name, "\": ", std::forward<decltype(parts)>(parts)...);
  };
  if (!entry.is_object())
    problem("entry is not an object but ", entry.type_name(), " ", detail::brief_json(entry));
  for (const auto& [field, v] : entry.items()) {
    (void)v;
    if (field != "dtype" && field != "shape" && field != "data_offsets")
      problem("unexpected field \"", field, "\" (an entry has only dtype, shape and data_offsets)");
  }
  const auto field = [&](const char* key) -> const nlohmann::json& {
    const auto it = entry.find(key);
    if (it == entry.end()) problem("missing field \"", key, "\"");
    return *it;
  };

  tensor_info t;
  t.name = name;

  const nlohmann::json& type = field("dtype");
  if (!type.is_string()) problem("field \"dtype\" is not a string but ", type.type_name());
  if (!detail::parse_dtype(type.get_ref<const std::string&>(), t.type))
    problem("unknown dtype \"", type.get_ref<const std::string&>(),
            "\" (supported: F32, F64, F16, BF16, I64, I32)");

  const nlohmann::json& shape = field("shape");
  if (!shape.is_array()) problem("field \"shape\" is not an array but ", shape.type_name());
  t.shape.reserve(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    index_t d = 0;
    if (const char* why = detail::json_to_index(shape[i], d))
      problem("shape entry ", i, " ", why, " (", detail::brief_json(shape[i]), ")");
    t.shape.push_back(d);
  }

  const nlohmann::json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2)
    problem("field \"data_offsets\" must be an array [begin, end], got ", detail::brief_json(offsets));
  for (std::size_t i = 0; i < 2; ++i) {
    index_t v = 0;
    if (const char* why = detail::json_to_index(offsets[i], v))
      problem("data_offsets ", i == 0 ? "begin" : "end", " ", why, " (", detail::brief_json(offsets[i]), ")");
    (i == 0 ? t.begin : t.end) = v;
  }
  if (t.begin > t.end) problem("data_offsets [", t.begin, ", ", t.end, "] are reversed: begin > end");
  if (t.end > data_size)
    problem("data_offsets [", t.begin, ", ", t.end, "] lie outside the data area (", data_size,
            " bytes): out of range");

  // Any zero extent makes the tensor empty, however large the others are.
  index_t elements = 1;
  if (std::find(t.shape.begin(), t.shape.end(), index_t(0)) != t.shape.end()) {
    elements = 0;
  } else {
    for (index_t d : t.shape)
      if (!detail::mul_fits(elements, d, elements))
        problem("shape ", detail::format_shape(t.shape), " has an element count that overflows 64 bits");
  }
  index_t nbytes = 0;
  if (!detail::mul_fits(elements, dtype_size(t.type), nbytes))
    problem("shape ", detail::format_shape(t.shape), " of ", dtype_name(t.type),
            " has a byte size that overflows 64 bits");
  if (nbytes != t.end - t.begin)
    problem("shape ", detail::format_shape(t.shape), " of ", dtype_name(t.type), " needs ", nbytes,
            " bytes but data_offsets [", t.begin, ", ", t.end, "] span ", t.end - t.begin,
            " bytes (shape and byte length disagree)");
  return t;
}

template <class T>
std::vector<T> safetensors_file::read(const std::string& name) const {
  static_assert(detail::is_safetensors_element_v<T>,
                "hyena::safetensors_file::read<T> needs T = float, double, std::int64_t or std::int32_t");
  const tensor_info& t = info(name);
  constexpr bool want_float = std::is_floating_point_v<T>;
  if (want_float != detail::is_float_dtype(t.type))
    fail("tensor \"", name, "\" has dtype ", dtype_name(t.type), " and cannot be read as ",
         detail::cpp_type_name<T>(),
         want_float ? " (integer data needs read<std::int64_t> or read<std::int32_t>)"
                    : " (floating-point data needs read<float> or read<double>)");
  const index_t n = (t.end - t.begin) / dtype_size(t.type);
  const std::uint8_t* p = storage_.get() + data_start_ + t.begin;
  std::vector<T> out(n);
  const auto out_of_range = [&](index_t i, const auto& value) {
    fail("tensor \"", name, "\": element ", i, " (", dtype_name(t.type), " value ", value,
         ") is out of range for ", detail::cpp_type_name<T>());
  };
  if constexpr (want_float) {
    switch (t.type) {
      case dtype::f32:
        for (index_t i = 0; i < n; ++i)
          out[i] = static_cast<T>(detail::bit_cast<float>(detail::load_le<std::uint32_t>(p + 4 * i)));
        break;
      case dtype::f64:
        for (index_t i = 0; i < n; ++i) {
          const double v = detail::bit_cast<double>(detail::load_le<std::uint64_t>(p + 8 * i));
          if constexpr (std::is_same_v<T, float>) {
            if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<float>::max()))
              out_of_range(i, v);
          }
          out[i] = static_cast<T>(v);
        }
        break;
      case dtype::f16:
        for (index_t i = 0; i < n; ++i)
          out[i] = static_cast<T>(f16_bits_to_float(detail::load_le<std::uint16_t>(p + 2 * i)));
        break;
      case dtype::bf16:
        for (index_t i = 0; i < n; ++i)
          out[i] = static_cast<T>(bf16_bits_to_float(detail::load_le<std::uint16_t>(p + 2 * i)));
        break;
      default:
        break;  // excluded by the check above
    }
  } else {
    switch (t.type) {
      case dtype::i64:
        for (index_t i = 0; i < n; ++i) {
          const auto v = detail::bit_cast<std::int64_t>(detail::load_le<std::uint64_t>(p + 8 * i));
          if constexpr (std::is_same_v<T, std::int32_t>) {
            if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
              out_of_range(i, v);
          }
          out[i] = static_cast<T>(v);
        }
        break;
      case dtype::i32:
        for (index_t i = 0; i < n; ++i)
          out[i] = static_cast<T>(detail::bit_cast<std::int32_t>(detail::load_le<std::uint32_t>(p + 4 * i)));
        break;
      default:
        break;  // excluded by the check above
    }
  }
  return out;
}

namespace detail {

/// The weight loaders' reads of a checkpoint: keys behind `prefix` (e.g.
/// "backbone.layers.0.mixer."), errors that name the key as the file spells
/// it and the expected shape, and values that must be finite.
class checkpoint_reader {
 public:
  explicit checkpoint_reader(const safetensors_file& file, std::string prefix = "")
      : file_(file), prefix_(std::move(prefix)) {}

  std::string key(const std::string& name) const { return prefix_ + name; }
  bool has(const std::string& name) const { return file_.contains(key(name)); }
  bool has_prefix(const std::string& name_prefix) const { return file_.has_prefix(key(name_prefix)); }
  template <class... Parts>
  [[noreturn]] void fail(const std::string& name, Parts&&... problem) const {
    safetensors_fail(file_.source(), "tensor \"", key(name), "\": ", std::forward<Parts>(problem)...);
  }
  /// The shape of `name`, which must exist; `expected` describes it for the
  /// message when it does not (extents still unknown spelled by name).
  const std::vector<index_t>& shape(const std::string& name, const std::string& expected) const {
    if (!has(name)) fail(name, "missing (expected shape ", expected, ")");
    return file_.info(key(name)).shape;
  }
  /// Checks that `name` exists with exactly `expected` as its shape.
  void expect(const std::string& name, const std::vector<index_t>& expected) const {
    const auto& actual = shape(name, format_shape(expected));
    if (actual != expected) fail(name, "has shape ", format_shape(actual), ", expected ", format_shape(expected));
  }
  /// The tensor `name` (any shape), which must be all finite.
  template <class T>
  std::vector<T> read(const std::string& name) const {
    auto values = file_.read<T>(key(name));
    require_finite_tensor(values, file_.source(), key(name));
    return values;
  }
  /// The tensor `name`, of shape `expected` and all finite.
  template <class T>
  std::vector<T> read(const std::string& name, const std::vector<index_t>& expected) const {
    expect(name, expected);
    return read<T>(name);
  }
  const safetensors_file& file() const noexcept { return file_; }

 private:
  const safetensors_file& file_;
  std::string prefix_;
};

}  // namespace detail

}  // namespace hyena
