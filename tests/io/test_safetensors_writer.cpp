// safetensors_writer.hpp: round trips of every dtype through the reader,
// saving to disk, the empty file, and the additions and saves it rejects.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>
#include <limits>
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

TEST(SafetensorsWriter, RoundTripsEveryDtype) {
  const std::vector<float> f32 = {
      1.5f,     -0.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::denorm_min(),
      3.25e38f, -7.0f};
  const std::vector<double> f64 = {1e-300, -2.5, std::numeric_limits<double>::max()};
  const std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), -1, 0,
                                         std::numeric_limits<std::int64_t>::max()};
  const std::vector<std::int32_t> i32 = {std::numeric_limits<std::int32_t>::min(), 7,
                                         std::numeric_limits<std::int32_t>::max(), -3};
  safetensors_writer w;
  w.add("f32", {2, 3}, f32);
  w.add("f64", {3}, f64);
  w.add("i64", {2, 2}, i64);
  w.add("i32", {4, 1}, i32);
  w.add("scalar", {}, std::vector<float>{42.0f});
  w.add("empty", {0, 5}, std::vector<double>{});
  w.add_metadata("format", "pt");
  w.add_metadata("note", "\xc3\xa9t\xc3\xa9");  // UTF-8 survives

  const auto bytes = w.bytes();
  std::uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= std::uint64_t(bytes[i]) << (8 * i);
  EXPECT_EQ(header_len % 8, 0u) << "header is padded to a multiple of 8";

  const auto file = safetensors_file::parse(bytes);
  EXPECT_EQ(file.source(), "<memory>");
  EXPECT_EQ(file.names(), (std::vector<std::string>{"f32", "f64", "i64", "i32", "scalar", "empty"}));
  EXPECT_EQ(file.info("f32").type, hyena::dtype::f32);
  EXPECT_EQ(file.info("f64").type, hyena::dtype::f64);
  EXPECT_EQ(file.info("i64").type, hyena::dtype::i64);
  EXPECT_EQ(file.info("i32").type, hyena::dtype::i32);
  EXPECT_EQ(file.read<float>("f32", {2, 3}), f32);
  EXPECT_EQ(file.read<double>("f64", {3}), f64);
  EXPECT_EQ(file.read<std::int64_t>("i64", {2, 2}), i64);
  EXPECT_EQ(file.read<std::int32_t>("i32", {4, 1}), i32);
  EXPECT_EQ(file.read<std::int64_t>("i32"), std::vector<std::int64_t>(i32.begin(), i32.end()));
  EXPECT_EQ(file.read<float>("scalar", {}), std::vector<float>{42.0f});
  EXPECT_TRUE(file.read<double>("empty", {0, 5}).empty());
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("note"), "\xc3\xa9t\xc3\xa9");
  // float -> double is exact.
  const auto widened = file.read<double>("f32");
  for (std::size_t i = 0; i < f32.size(); ++i) EXPECT_EQ(widened[i], double(f32[i]));
  // The bytes are little-endian on any host: 1.5f = 0x3fc00000.
  const auto raw = file.raw_bytes("f32");
  ASSERT_EQ(raw.size(), 24u);
  EXPECT_EQ(raw[0], 0x00);
  EXPECT_EQ(raw[2], 0xc0);
  EXPECT_EQ(raw[3], 0x3f);
}

TEST(SafetensorsWriter, SaveThenLoad) {
  const fs::path path = fs::temp_directory_path() / "hyena_test_safetensors_roundtrip.safetensors";
  safetensors_writer w;
  const std::vector<float> v = {1, 2, 3, 4};
  w.add("v", {2, 2}, v);
  w.save(path.string());
  const auto file = safetensors_file::load(path.string());
  EXPECT_EQ(file.source(), path.string());
  EXPECT_EQ(file.read<float>("v", {2, 2}), v);
  fs::remove(path);
}

TEST(SafetensorsWriter, EmptyWriterMakesAValidFile) {
  const auto file = safetensors_file::parse(safetensors_writer().bytes());
  EXPECT_EQ(file.size(), 0u);
  EXPECT_TRUE(file.names().empty());
  EXPECT_TRUE(file.metadata().empty());
}

TEST(SafetensorsWriter, RejectsBadAdds) {
  safetensors_writer w;
  const std::vector<float> six(6);
  hyena::test::expect_invalid([&] { w.add("x", {2, 2}, six); }, {"x", "[2, 2]", "4", "6"});
  hyena::test::expect_invalid(
      [&] {
        w.add("x", {std::numeric_limits<index_t>::max(), 3}, six);
      },
      {"x", "overflow"});
  w.add("x", {6}, six);
  hyena::test::expect_invalid([&] { w.add("x", {6}, six); }, {"x", "duplicate"});
  hyena::test::expect_invalid([&] { w.add("__metadata__", {6}, six); }, {"__metadata__", "reserved"});
  hyena::test::expect_invalid([&] { w.add("\xff", {6}, six); }, {"UTF-8"});
  w.add_metadata("k", "v");
  hyena::test::expect_invalid([&] { w.add_metadata("k", "w"); }, {"k", "duplicate"});
}

TEST(SafetensorsWriter, SaveToUnwritablePathThrows) {
  safetensors_writer w;
  const std::string path = "/nonexistent-directory/x.safetensors";
  expect_thrown<safetensors_error>([&] { w.save(path); }, {path.c_str(), "cannot open"});
}

}  // namespace
