// tests/fuzz/fuzz_safetensors.hpp: the safetensors reader on arbitrary bytes.
//
// Parses the input; when the reader accepts it, checks what a valid file
// promises (the tensors tile the data area, each byte count matches its
// shape), reads every tensor as float, double, int64 and int32 (each may be
// refused only with safetensors_error, and only for the documented reasons),
// then writes the tensors back with safetensors_writer and checks that the
// copy parses to the same names, shapes and bits.
#pragma once

#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

namespace hyena::fuzz {

namespace detail_safetensors {

/// read<T>(name) if the reader allows it, else nothing; any refusal must be a
/// safetensors_error. Checks the element count of what it returns.
template <class T>
std::optional<std::vector<T>> try_read(const safetensors_file& file, const std::string& name) {
  try {
    std::vector<T> v = file.read<T>(name);
    require(v.size() == file.info(name).elements(), "read<", hyena::detail::cpp_type_name<T>(), ">(\"", name,
            "\") returned ", v.size(), " elements for shape ", hyena::detail::format_shape(file.info(name).shape));
    return v;
  } catch (const safetensors_error&) {
    return std::nullopt;
  }
}

/// What the writer can store for `t`: F32, F64, I64, I32 as they are, F16 and
/// BF16 as their exact float values (F32).
inline dtype written_type(dtype t) { return t == dtype::f16 || t == dtype::bf16 ? dtype::f32 : t; }

}  // namespace detail_safetensors

inline int fuzz_safetensors(const std::uint8_t* data, std::size_t size) {
  using namespace detail_safetensors;
  const std::optional<safetensors_file> parsed = parse(data, size);
  if (!parsed) return 0;
  const safetensors_file& file = *parsed;

  // The header's promises. Data starts after the 8-byte length and the header.
  const index_t header_len = hyena::detail::load_le<std::uint64_t>(data);
  const index_t data_size = size - 8 - header_len;
  const std::vector<std::string> names = file.names();
  require(names.size() == file.size(), "names() has ", names.size(), " entries, size() says ", file.size());
  index_t covered = 0;
  for (const std::string& name : names) {
    require(file.contains(name), "names() lists \"", name, "\" but contains() denies it");
    const tensor_info& t = file.info(name);
    require(t.name == name, "info(\"", name, "\") is named \"", t.name, "\"");
    require(t.begin == covered && t.begin <= t.end && t.end <= data_size, "tensor \"", name, "\" at [", t.begin,
            ", ", t.end, ") does not continue the packed data at ", covered, " of ", data_size);
    require(t.elements() * dtype_size(t.type) == t.end - t.begin, "tensor \"", name,
            "\": shape and byte length disagree");
    const span<const std::uint8_t> raw = file.raw_bytes(name);
    require(raw.size() == t.end - t.begin &&
                (raw.size() == 0 || std::memcmp(raw.data(), data + 8 + header_len + t.begin, raw.size()) == 0),
            "raw_bytes(\"", name, "\") is not the input's bytes");
    covered = t.end;
  }
  require(covered == data_size, "the tensors cover ", covered, " of the ", data_size, " data bytes");
  const std::string absent = "\x01 not a tensor";
  if (!file.contains(absent)) {
    bool threw = false;
    try {
      (void)file.info(absent);
    } catch (const safetensors_error&) {
      threw = true;
    }
    require(threw, "info() of a missing name did not throw safetensors_error");
  }

  // Every tensor as every element type. Float data always reads as double and
  // integer data as int64 (no narrowing); the other two may be refused.
  safetensors_writer writer;
  for (const std::string& name : names) {
    const tensor_info& t = file.info(name);
    const bool is_float = hyena::detail::is_float_dtype(t.type);
    auto as_float = try_read<float>(file, name);
    auto as_double = try_read<double>(file, name);
    auto as_i64 = try_read<std::int64_t>(file, name);
    auto as_i32 = try_read<std::int32_t>(file, name);
    require(is_float == as_double.has_value() && is_float != as_i64.has_value(), "tensor \"", name, "\" of dtype ",
            dtype_name(t.type), ": read<double> ", as_double ? "worked" : "failed", ", read<int64> ",
            as_i64 ? "worked" : "failed");
    require(!as_float || is_float, "tensor \"", name, "\": integer data read as float");
    require(!as_i32 || !is_float, "tensor \"", name, "\": float data read as int32");
    if (t.type != dtype::f64) require(as_float.has_value() || !is_float, "F32/F16/BF16 \"", name, "\" unreadable as float");
    switch (t.type) {
      case dtype::f32:
      case dtype::f16:
      case dtype::bf16:
        writer.add(name, t.shape, span<const float>(*as_float));
        break;
      case dtype::f64:
        writer.add(name, t.shape, span<const double>(*as_double));
        break;
      case dtype::i64:
        writer.add(name, t.shape, span<const std::int64_t>(*as_i64));
        break;
      case dtype::i32:
        require(as_i32.has_value(), "I32 \"", name, "\" unreadable as int32");
        writer.add(name, t.shape, span<const std::int32_t>(*as_i32));
        break;
    }
  }
  for (const auto& [key, value] : file.metadata()) writer.add_metadata(key, value);

  // The copy must read back as the same tensors (the writer's output is
  // valid by construction; if the reader refuses it, one of them is wrong).
  std::optional<safetensors_file> copy;
  try {
    copy = safetensors_file::parse(writer.bytes(), "<fuzz copy>");
  } catch (const safetensors_error& e) {
    require(false, "the writer's copy does not parse: ", e.what());
  }
  require(copy->size() == file.size(), "the copy has ", copy->size(), " tensors, the input ", file.size());
  require(copy->metadata() == file.metadata(), "the copy's metadata differs");
  for (const std::string& name : names) {
    const tensor_info& t = file.info(name);
    require(copy->contains(name), "the copy lacks \"", name, "\"");
    const tensor_info& c = copy->info(name);
    require(c.shape == t.shape && c.type == written_type(t.type), "the copy of \"", name, "\" has another shape or dtype");
    bool same = false;
    switch (c.type) {
      case dtype::f32:
        same = same_bits(copy->read<float>(name), file.read<float>(name));
        break;
      case dtype::f64:
        same = same_bits(copy->read<double>(name), file.read<double>(name));
        break;
      case dtype::i64:
        same = same_bits(copy->read<std::int64_t>(name), file.read<std::int64_t>(name));
        break;
      case dtype::i32:
        same = same_bits(copy->read<std::int32_t>(name), file.read<std::int32_t>(name));
        break;
      default:
        break;
    }
    require(same, "the copy of \"", name, "\" holds other values");
  }
  return 0;
}

}  // namespace hyena::fuzz
