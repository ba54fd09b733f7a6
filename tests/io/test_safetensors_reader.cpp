// safetensors_reader.hpp: every reference dump, half-precision tensors,
// the accessors' errors, and one test per way a file can be malformed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>
#include <initializer_list>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/expect_error.hpp"

namespace {

using hyena::index_t;
using hyena::safetensors_error;
using hyena::safetensors_file;
using hyena::safetensors_writer;
using hyena::test::expect_thrown;

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Helpers

/// A file from a literal header and a data area: the header goes in exactly
/// as written, so tests control every byte the parser sees.
std::vector<std::uint8_t> make_file(
    const std::string& header, const std::vector<std::uint8_t>& data = {},
    std::uint64_t header_len_field = std::numeric_limits<std::uint64_t>::max()) {
  const std::uint64_t n =
      header_len_field == std::numeric_limits<std::uint64_t>::max() ? header.size() : header_len_field;
  // Sized once and filled by index: GCC 12's -Warray-bounds misreads
  // vector::insert after a small initial size (a false positive under -O2).
  std::vector<std::uint8_t> out(8 + header.size() + data.size());
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(n >> (8 * i));
  std::copy(header.begin(), header.end(), out.begin() + 8);
  std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
  return out;
}

std::vector<std::uint8_t> zeros(std::size_t n) { return std::vector<std::uint8_t>(n, 0); }

/// Expects parse() to throw safetensors_error whose message contains every
/// fragment (and always the source name), and returns the message.
std::string expect_parse_error(const std::vector<std::uint8_t>& bytes,
                               std::initializer_list<const char*> fragments) {
  const std::string what =
      expect_thrown<safetensors_error>([&] { (void)safetensors_file::parse(bytes, "bad.safetensors"); }, fragments);
  if (!what.empty()) {
    EXPECT_NE(what.find("bad.safetensors"), std::string::npos) << what;
  }
  return what;
}

std::vector<index_t> to_shape(const nlohmann::json& j) {
  std::vector<index_t> shape;
  for (const auto& d : j) shape.push_back(d.get<index_t>());
  return shape;
}

std::vector<std::uint8_t> le16s(std::initializer_list<std::uint16_t> values) {
  std::vector<std::uint8_t> out;
  for (std::uint16_t v : values) {
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  return out;
}

// A well-formed one-tensor file the malformed cases below start from.
const char* const good_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

// ---------------------------------------------------------------------------
// Reference files

// Every dump under shared/reference: the tensors are exactly the ones its
// config.json lists under "files", with those shapes, and they read.
TEST(SafetensorsReference, EveryReferenceFileMatchesItsConfig) {
  const fs::path root = HYENA_REFERENCE_DIR;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(root / "safari"))
    if (entry.is_directory()) folders.push_back(entry.path());
  folders.push_back(root / "hyenadna" / "dna_tiny_d32_n2");
  ASSERT_GE(folders.size(), 6u);

  int files_checked = 0;
  for (const fs::path& folder : folders) {
    std::ifstream config_stream(folder / "config.json");
    ASSERT_TRUE(config_stream) << folder;
    const nlohmann::json config = nlohmann::json::parse(config_stream);
    ASSERT_TRUE(config.contains("files")) << folder;
    for (const auto& [file_name, tensors] : config["files"].items()) {
      SCOPED_TRACE((folder / file_name).string());
      const auto file = safetensors_file::load((folder / file_name).string());
      EXPECT_EQ(file.source(), (folder / file_name).string());
      EXPECT_EQ(file.size(), tensors.size());
      EXPECT_FALSE(file.metadata().empty());
      EXPECT_EQ(file.names().size(), tensors.size());
      for (const auto& [name, shape_json] : tensors.items()) {
        ASSERT_TRUE(file.contains(name)) << name;
        const auto shape = to_shape(shape_json);
        EXPECT_EQ(file.info(name).shape, shape) << name;
        if (name == "input_ids") {
          EXPECT_EQ(file.info(name).type, hyena::dtype::i64);
          const auto ids = file.read<std::int64_t>(name, shape);
          EXPECT_EQ(ids.size(), file.info(name).elements());
          // Random ACGT tokens: ids 7..10 (docs/language_model.md, "Tokenizer").
          for (std::int64_t id : ids) EXPECT_TRUE(id >= 7 && id <= 10) << id;
          EXPECT_EQ(file.read<std::int32_t>(name), std::vector<std::int32_t>(ids.begin(), ids.end()));
        } else {
          EXPECT_EQ(file.info(name).type, hyena::dtype::f32) << name;
          const auto values = file.read<float>(name, shape);
          EXPECT_EQ(values.size(), file.info(name).elements());
          for (float v : values) ASSERT_TRUE(std::isfinite(v)) << name;
          const auto wide = file.read<double>(name);
          for (std::size_t i = 0; i < values.size(); ++i) ASSERT_EQ(double(values[i]), wide[i]);
        }
      }
      // names() is in data-offset order.
      const auto names = file.names();
      for (std::size_t i = 1; i < names.size(); ++i)
        EXPECT_EQ(file.info(names[i - 1]).end, file.info(names[i]).begin);
      ++files_checked;
    }
  }
  EXPECT_EQ(files_checked, 3 * static_cast<int>(folders.size()));
}

// ---------------------------------------------------------------------------
// Half-precision tensors (the bit conversions themselves: test_dtype.cpp)

// The same patterns through a file, as read<float> and read<double>.
TEST(SafetensorsRead, ReadsF16AndBf16Tensors) {
  const std::string header = R"({"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},)"
                             R"("b":{"dtype":"BF16","shape":[2,3],"data_offsets":[12,24]}})";
  auto data = le16s({0x3c00, 0xc100, 0x0001, 0x7c00, 0x7e00, 0x7bff});
  const auto b = le16s({0x3f80, 0xc020, 0x0001, 0xff80, 0x7fc0, 0x7f7f});
  data.insert(data.end(), b.begin(), b.end());
  const auto file = safetensors_file::parse(make_file(header, data));
  for (const auto& h : {file.read<float>("h", {6}), [&] {
                          const auto d = file.read<double>("h");
                          return std::vector<float>(d.begin(), d.end());
                        }()}) {
    EXPECT_EQ(h[0], 1.0f);
    EXPECT_EQ(h[1], -2.5f);
    EXPECT_EQ(h[2], std::ldexp(1.0f, -24));
    EXPECT_EQ(h[3], std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(h[4]));
    EXPECT_EQ(h[5], 65504.0f);
  }
  const auto bf = file.read<float>("b", {2, 3});
  EXPECT_EQ(bf[0], 1.0f);
  EXPECT_EQ(bf[1], -2.5f);
  EXPECT_EQ(bf[2], std::ldexp(1.0f, -133));
  EXPECT_EQ(bf[3], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf[4]));
  EXPECT_EQ(bf[5], 0x1.fep127f);
}

// ---------------------------------------------------------------------------
// Accessor errors

TEST(SafetensorsRead, MissingTensorNamesTheKey) {
  const auto file = safetensors_file::parse(make_file(good_header, zeros(8)), "weights.safetensors");
  EXPECT_FALSE(file.contains("nope"));
  expect_thrown<safetensors_error>([&] { (void)file.info("nope"); }, {"weights.safetensors", "\"nope\"", "missing", "\"w\""});
  expect_thrown<safetensors_error>([&] { (void)file.read<float>("nope"); }, {"weights.safetensors", "\"nope\"", "missing"});
}

TEST(SafetensorsRead, ShapeMismatchNamesBothShapes) {
  const auto file = safetensors_file::parse(make_file(good_header, zeros(8)), "weights.safetensors");
  expect_thrown<safetensors_error>(
      [&] {
        (void)file.read<float>("w", {1, 2});
      },
      {"weights.safetensors", "\"w\"", "[2]", "[1, 2]", "shape"});
}

TEST(SafetensorsRead, FloatIntMixingThrows) {
  safetensors_writer w;
  w.add("f", {1}, std::vector<float>{1});
  w.add("i", {1}, std::vector<std::int64_t>{1});
  const auto file = safetensors_file::parse(w.bytes(), "mixed.safetensors");
  expect_thrown<safetensors_error>([&] { (void)file.read<std::int64_t>("f"); }, {"mixed.safetensors", "\"f\"", "F32", "int64"});
  expect_thrown<safetensors_error>([&] { (void)file.read<std::int32_t>("f"); }, {"\"f\"", "F32", "int32"});
  expect_thrown<safetensors_error>([&] { (void)file.read<float>("i"); }, {"\"i\"", "I64", "float"});
  expect_thrown<safetensors_error>([&] { (void)file.read<double>("i"); }, {"\"i\"", "I64", "double"});
}

TEST(SafetensorsRead, NarrowingIsRangeChecked) {
  safetensors_writer w;
  w.add("big", {3}, std::vector<std::int64_t>{1, std::int64_t(1) << 40, 2});
  w.add("fits", {2},
        std::vector<std::int64_t>{std::numeric_limits<std::int32_t>::min(),
                                  std::numeric_limits<std::int32_t>::max()});
  w.add("huge", {2}, std::vector<double>{1.0, 1e300});
  w.add("inf", {2}, std::vector<double>{std::numeric_limits<double>::infinity(), 3.0});
  const auto file = safetensors_file::parse(w.bytes(), "narrow.safetensors");
  expect_thrown<safetensors_error>([&] { (void)file.read<std::int32_t>("big"); },
               {"narrow.safetensors", "\"big\"", "element 1", "1099511627776", "out of range", "int32"});
  EXPECT_EQ(file.read<std::int32_t>("fits"),
            (std::vector<std::int32_t>{std::numeric_limits<std::int32_t>::min(),
                                       std::numeric_limits<std::int32_t>::max()}));
  expect_thrown<safetensors_error>([&] { (void)file.read<float>("huge"); }, {"\"huge\"", "element 1", "out of range", "float"});
  EXPECT_EQ(file.read<double>("huge")[1], 1e300);
  EXPECT_TRUE(std::isinf(file.read<float>("inf")[0]));
}

TEST(SafetensorsLoad, MissingFileNamesThePath) {
  const std::string path = "/nonexistent-directory/missing.safetensors";
  expect_thrown<safetensors_error>([&] { (void)safetensors_file::load(path); }, {path.c_str(), "cannot open"});
}

TEST(SafetensorsLoad, DirectoryIsNotAFile) {
  const std::string path = fs::temp_directory_path().string();
  expect_thrown<safetensors_error>([&] { (void)safetensors_file::load(path); }, {path.c_str()});
}

// map(): the same file as load() reads, shared by copies; what cannot be
// mapped (missing, a directory, empty, malformed) fails as load() does.
TEST(SafetensorsMap, MapsWhatLoadReads) {
  const std::string path =
      (fs::path(HYENA_REFERENCE_DIR) / "stripedhyena2" / "sh2_tiny_shared" / "params.safetensors").string();
  const auto loaded = safetensors_file::load(path);
  auto mapped = std::make_unique<safetensors_file>(safetensors_file::map(path));
  ASSERT_EQ(mapped->names(), loaded.names());
  for (const auto& name : loaded.names()) {
    EXPECT_EQ(mapped->info(name).shape, loaded.info(name).shape) << name;
    const auto a = mapped->raw_bytes(name), b = loaded.raw_bytes(name);
    ASSERT_EQ(a.size(), b.size()) << name;
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << name;
  }
  EXPECT_EQ(mapped->metadata(), loaded.metadata());
  const safetensors_file copy = *mapped;  // shares the mapping, which outlives the original
  mapped.reset();
  for (const auto& name : loaded.names()) EXPECT_EQ(copy.read<float>(name), loaded.read<float>(name)) << name;
}

TEST(SafetensorsMap, FailsAsLoadDoes) {
  const std::string missing = "/nonexistent-directory/missing.safetensors";
  expect_thrown<safetensors_error>([&] { (void)safetensors_file::map(missing); }, {missing.c_str(), "cannot open"});
  const std::string directory = fs::temp_directory_path().string();
  expect_thrown<safetensors_error>([&] { (void)safetensors_file::map(directory); }, {directory.c_str()});
  const fs::path empty = fs::temp_directory_path() / "hyena_map_empty.safetensors";
  std::ofstream(empty).close();
  expect_thrown<safetensors_error>([&] { (void)safetensors_file::map(empty.string()); }, {"truncated", "0 bytes"});
  const fs::path garbage = fs::temp_directory_path() / "hyena_map_garbage.safetensors";
  {
    std::ofstream out(garbage, std::ios::binary);
    const auto bytes = make_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::vector<std::uint8_t>(8));
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  expect_thrown<safetensors_error>([&] { (void)safetensors_file::map(garbage.string()); }, {"\"w\""});
  fs::remove(empty);
  fs::remove(garbage);
}

// ---------------------------------------------------------------------------
// Malformed files: one test per violation. Each starts from a well-formed
// file and breaks one thing.

TEST(SafetensorsMalformed, GoodBaselineParses) {
  const auto file = safetensors_file::parse(make_file(good_header, zeros(8)));
  EXPECT_EQ(file.read<float>("w", {2}), (std::vector<float>{0, 0}));
  // Trailing spaces after the JSON are the format's padding.
  EXPECT_NO_THROW(safetensors_file::parse(make_file(std::string(good_header) + "      ", zeros(8))));
}

TEST(SafetensorsMalformed, EmptyFile) { expect_parse_error({}, {"truncated", "0 bytes"}); }

TEST(SafetensorsMalformed, ShorterThanLengthField) {
  expect_parse_error({1, 0, 0, 0, 0, 0, 0}, {"truncated", "7 bytes"});
}

TEST(SafetensorsMalformed, HeaderLengthPastEndOfFile) {
  const std::string header = good_header;
  expect_parse_error(make_file(header, {}, header.size() + 1), {"header length", "past the end"});
  // The whole file truncated inside the header.
  auto bytes = make_file(header, zeros(8));
  bytes.resize(20);
  expect_parse_error(bytes, {"header length", "past the end", "truncated"});
}

TEST(SafetensorsMalformed, HeaderLengthAbsurdlyLarge) {
  // 2^64 - 2 and 2^63: nothing may be allocated for them, and 8 + length must not wrap.
  expect_parse_error(make_file(good_header, zeros(8), std::numeric_limits<std::uint64_t>::max() - 1),
                     {"header length", "absurdly large"});
  expect_parse_error(make_file(good_header, zeros(8), std::uint64_t(1) << 63),
                     {"header length", "absurdly large"});
}

TEST(SafetensorsMalformed, HeaderNotJson) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32",)", zeros(8)), {"not valid JSON"});
  expect_parse_error(make_file("", {}), {"not valid JSON"});
  expect_parse_error(make_file(std::string(good_header) + std::string(3, '\0'), zeros(8)),
                     {"not valid JSON"});
  expect_parse_error(make_file("{\"w\xff\":1}"), {"not valid JSON"});  // invalid UTF-8
  expect_parse_error(make_file(std::string(good_header) + "{}", zeros(8)), {"not valid JSON"});
}

TEST(SafetensorsMalformed, HeaderNotAnObject) {
  expect_parse_error(make_file("[1, 2]"), {"not a JSON object", "array"});
  expect_parse_error(make_file("42"), {"not a JSON object"});
}

TEST(SafetensorsMalformed, HeaderNestedTooDeeply) {
  // Far deeper than any header; the parser must reject it without recursing.
  const std::string deep = R"({"w":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_parse_error(make_file(deep), {"nested deeper"});
}

TEST(SafetensorsMalformed, EntryNotAnObject) {
  expect_parse_error(make_file(R"({"w":[1,2]})"), {"\"w\"", "not an object"});
  expect_parse_error(make_file(R"({"w":"F32"})"), {"\"w\"", "not an object"});
}

TEST(SafetensorsMalformed, MissingDtype) {
  expect_parse_error(make_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "missing", "dtype"});
}

TEST(SafetensorsMalformed, MissingShape) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "missing", "shape"});
}

TEST(SafetensorsMalformed, MissingDataOffsets) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2]}})", zeros(8)),
                     {"\"w\"", "missing", "data_offsets"});
}

TEST(SafetensorsMalformed, DtypeNotAString) {
  expect_parse_error(make_file(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "dtype", "not a string"});
}

TEST(SafetensorsMalformed, ShapeNotAnArray) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "shape", "not an array"});
}

TEST(SafetensorsMalformed, DataOffsetsNotAPair) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", zeros(8)),
                     {"\"w\"", "data_offsets", "[begin, end]"});
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":{"a":0}}})", zeros(8)),
                     {"\"w\"", "data_offsets", "[begin, end]"});
}

TEST(SafetensorsMalformed, DataOffsetsNotIntegers) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", zeros(8)),
                     {"\"w\"", "data_offsets end", "not a non-negative integer"});
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,8]}})", zeros(8)),
                     {"\"w\"", "data_offsets begin", "negative"});
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":["0",8]}})", zeros(8)),
                     {"\"w\"", "data_offsets begin", "not a non-negative integer"});
}

TEST(SafetensorsMalformed, UnexpectedField) {
  expect_parse_error(
      make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"stride":[1]}})", zeros(8)),
      {"\"w\"", "unexpected field", "stride"});
}

TEST(SafetensorsMalformed, UnknownDtype) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "unknown dtype", "F33"});
  // A real safetensors dtype this library does not read.
  expect_parse_error(make_file(R"({"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "unknown dtype", "U8"});
  // Case matters.
  expect_parse_error(make_file(R"({"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "unknown dtype"});
}

TEST(SafetensorsMalformed, NegativeShapeEntry) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "shape entry 0", "negative"});
}

TEST(SafetensorsMalformed, NonIntegerShapeEntry) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[1,2.5],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "shape entry 1", "not a non-negative integer"});
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[null],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "shape entry 0", "not a non-negative integer"});
  // Beyond 64 bits nlohmann reads a double: still not an integer we accept.
  expect_parse_error(
      make_file(R"({"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}})", zeros(8)),
      {"\"w\"", "shape entry 0", "not a non-negative integer"});
}

TEST(SafetensorsMalformed, ShapeProductOverflows) {
  // 2^32 * 2^32 = 2^64 wraps to 0 in unchecked arithmetic, which would match [0, 0].
  expect_parse_error(
      make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
      {"\"w\"", "overflows"});
  // The element count fits but times 4 bytes does not: 2^62 * 4 = 2^64.
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
                     {"\"w\"", "byte size", "overflows"});
  // A zero extent makes the tensor empty however large the rest is.
  EXPECT_NO_THROW(safetensors_file::parse(
      make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})")));
}

TEST(SafetensorsMalformed, DataOffsetsReversed) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", zeros(8)),
                     {"\"w\"", "begin > end"});
}

TEST(SafetensorsMalformed, DataOffsetsOutOfRange) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", zeros(4)),
                     {"\"w\"", "outside the data area", "out of range"});
  // An end near 2^64: begin + size arithmetic must not wrap into range.
  expect_parse_error(
      make_file(
          R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,18446744073709551615]}})",
          zeros(8)),
      {"\"w\"", "out of range"});
}

TEST(SafetensorsMalformed, OverlappingOffsets) {
  expect_parse_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                               zeros(12)),
                     {"\"b\"", "overlap", "\"a\""});
  // Two tensors on the very same bytes.
  expect_parse_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
                               zeros(8)),
                     {"overlap", "\"a\"", "\"b\""});
}

TEST(SafetensorsMalformed, GapBetweenTensors) {
  expect_parse_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
                               zeros(16)),
                     {"\"b\"", "gap of 4", "packed"});
  // ...and before the first tensor.
  expect_parse_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", zeros(8)),
                     {"\"a\"", "gap of 4", "packed"});
}

TEST(SafetensorsMalformed, TrailingBytesAfterLastTensor) {
  expect_parse_error(make_file(good_header, zeros(12)), {"\"w\"", "4 trailing bytes"});
  expect_parse_error(make_file("{}", zeros(3)), {"3 trailing bytes"});
}

TEST(SafetensorsMalformed, ShapeAndByteLengthDisagree) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "needs 12 bytes", "span 8", "disagree"});
  // Same element count, wrong element size.
  expect_parse_error(make_file(R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", zeros(8)),
                     {"\"w\"", "F64", "needs 16 bytes", "disagree"});
}

TEST(SafetensorsMalformed, DuplicateTensorNames) {
  expect_parse_error(make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                               zeros(16)),
                     {"\"w\"", "duplicate tensor name"});
}

TEST(SafetensorsMalformed, DuplicateFieldInEntry) {
  expect_parse_error(
      make_file(R"({"w":{"dtype":"F32","shape":[2],"dtype":"F64","data_offsets":[0,8]}})", zeros(8)),
      {"\"w\"", "duplicate key", "dtype"});
}

TEST(SafetensorsMalformed, DuplicateMetadata) {
  expect_parse_error(make_file(R"({"__metadata__":{"a":"1"},"__metadata__":{"a":"2"}})"),
                     {"__metadata__", "duplicate"});
  expect_parse_error(make_file(R"({"__metadata__":{"a":"1","a":"2"}})"),
                     {"__metadata__", "duplicate key", "\"a\""});
}

TEST(SafetensorsMalformed, MetadataNotAnObject) {
  expect_parse_error(make_file(R"({"__metadata__":["a","b"]})"), {"__metadata__", "not an object"});
}

TEST(SafetensorsMalformed, MetadataValueNotAString) {
  expect_parse_error(make_file(R"({"__metadata__":{"epoch":3}})"),
                     {"__metadata__", "\"epoch\"", "not a string"});
  expect_parse_error(make_file(R"({"__metadata__":{"nested":{"a":"b"}}})"),
                     {"__metadata__", "\"nested\"", "not a string"});
}

// Every prefix of a valid file, and every single-byte corruption of its
// header, either parses or throws safetensors_error: never anything else
// (under ASan this also checks that nothing reads out of bounds).
TEST(SafetensorsMalformed, TruncationsAndByteFlipsNeverEscape) {
  safetensors_writer w;
  w.add("a", {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  w.add("b", {2}, std::vector<std::int64_t>{7, 8});
  w.add_metadata("k", "v");
  const auto good = w.bytes();
  const auto survives = [](const std::vector<std::uint8_t>& bytes) {
    try {
      const auto f = safetensors_file::parse(bytes);
      for (const auto& name : f.names()) {
        if (hyena::detail::is_float_dtype(f.info(name).type))
          (void)f.read<double>(name);
        else
          (void)f.read<std::int64_t>(name);
      }
    } catch (const safetensors_error&) {
    }
  };
  for (std::size_t n = 0; n < good.size(); ++n) {
    std::vector<std::uint8_t> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW((void)safetensors_file::parse(prefix), safetensors_error) << n;
  }
  std::uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= std::uint64_t(good[i]) << (8 * i);
  for (std::size_t i = 0; i < 8 + header_len; ++i)
    for (std::uint8_t v : {std::uint8_t(0), std::uint8_t('0'), std::uint8_t('9'), std::uint8_t('"'),
                           std::uint8_t('-'), std::uint8_t(0xff)}) {
      auto bad = good;
      bad[i] = v;
      EXPECT_NO_FATAL_FAILURE(survives(bad)) << i;
    }
}

}  // namespace
