// The FASTA reader: records over several lines, names and descriptions,
// blank and comment lines, case, CRLF line ends, and every way a file can
// hold nothing usable, each rejected with a message naming the file, the
// record and the line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <hyena/io/fasta.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/expect_error.hpp"

namespace {

namespace fs = std::filesystem;
using hyena::fasta_record;

std::vector<fasta_record> parse(const std::string& text) {
  std::istringstream in(text);
  return hyena::parse_fasta(in, "FASTA file \"test.fa\"");
}

/// A file under the temporary directory, unique to the running test, removed at the end.
class temp_file {
 public:
  explicit temp_file(const std::string& contents) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("hyena_test_fasta_" + std::string(info->name()) + ".fa");
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~temp_file() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(Fasta, JoinsRecordsOverSeveralLinesAndSplitsNameFromDescription) {
  const auto records = parse(">first a description\tof two words\nACGTACGT\nTTGA\n>second\nGG\nC\nA\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "first");
  EXPECT_EQ(records[0].description, "a description\tof two words");
  EXPECT_EQ(records[0].sequence, "ACGTACGTTTGA");
  EXPECT_EQ(records[0].line, 1u);
  EXPECT_EQ(records[1].name, "second");
  EXPECT_EQ(records[1].description, "");
  EXPECT_EQ(records[1].sequence, "GGCA");
  EXPECT_EQ(records[1].line, 4u);
}

TEST(Fasta, SkipsBlankLinesCommentsAndSurroundingWhitespace) {
  const auto records = parse("\n; a comment\n>  one   described here  \n\n  ACGT  \n\t\n; another\nNN\n\n\n>two\nA");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "one");
  EXPECT_EQ(records[0].description, "described here");
  EXPECT_EQ(records[0].sequence, "ACGTNN");
  EXPECT_EQ(records[0].line, 3u);
  EXPECT_EQ(records[1].sequence, "A");  // no newline at the end of the file
  EXPECT_EQ(records[1].line, 11u);
}

TEST(Fasta, KeepsLowerCase) {
  // Soft-masked repeats are lower case; the reader must not decide what they mean.
  const auto records = parse(">masked\nACGTacgtnnAC\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].sequence, "ACGTacgtnnAC");
}

TEST(Fasta, ReadsCrlfLineEndsLikeLf) {
  const auto crlf = parse(">first desc\r\nACGT\r\nTT\r\n\r\n>second\r\nGA\r\n");
  const auto lf = parse(">first desc\nACGT\nTT\n\n>second\nGA\n");
  ASSERT_EQ(crlf.size(), 2u);
  ASSERT_EQ(lf.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(crlf[i].name, lf[i].name);
    EXPECT_EQ(crlf[i].description, lf[i].description);
    EXPECT_EQ(crlf[i].sequence, lf[i].sequence);
    EXPECT_EQ(crlf[i].line, lf[i].line);
  }
  EXPECT_EQ(crlf[0].sequence, "ACGTTT");
  EXPECT_EQ(crlf[0].description, "desc");
}

TEST(Fasta, TextBeforeAnyHeaderIsOneRecordAndEmptyHeadersGetANumber) {
  const auto bare = parse("\nACGT\nAC\n");
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0].name, "seq0");
  EXPECT_EQ(bare[0].sequence, "ACGTAC");
  EXPECT_EQ(bare[0].line, 2u);

  const auto unnamed = parse(">x\nA\n>\nC\n>   \nG\n");
  ASSERT_EQ(unnamed.size(), 3u);
  EXPECT_EQ(unnamed[1].name, "record1");
  EXPECT_EQ(unnamed[2].name, "record2");
  EXPECT_EQ(unnamed[2].sequence, "G");
}

TEST(Fasta, RejectsAnEmptyRecordNamingTheFileTheRecordAndItsLine) {
  hyena::test::expect_invalid([] { parse(">empty\n>full\nACGT\n"); },
                              {"FASTA file \"test.fa\"", "record \"empty\"", "(line 1)", "empty sequence"});
  // At the end of the file, and with only blank or comment lines in it.
  hyena::test::expect_invalid([] { parse(">full\nACGT\n\n>last\n\n; nothing\n\n"); },
                              {"record \"last\"", "(line 4)", "empty sequence"});
}

TEST(Fasta, RejectsTextWithoutRecords) {
  hyena::test::expect_invalid([] { parse(""); }, {"FASTA file \"test.fa\"", "holds no sequence"});
  hyena::test::expect_invalid([] { parse("\n\n; only a comment\n  \r\n"); }, {"holds no sequence"});
}

TEST(Fasta, ReadsAFile) {
  const temp_file file(">first a description\r\nACGTACGT\r\nTTGA\r\n\r\n>second\nacgtnnAC\n");
  const auto records = hyena::read_fasta(file.path());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "first");
  EXPECT_EQ(records[0].sequence, "ACGTACGTTTGA");
  EXPECT_EQ(records[1].name, "second");
  EXPECT_EQ(records[1].sequence, "acgtnnAC");
  EXPECT_EQ(records[1].line, 5u);
}

TEST(Fasta, FileErrorsNameThePath) {
  const temp_file empty_record(">a\nAC\n>b\n");
  hyena::test::expect_invalid([&] { hyena::read_fasta(empty_record.path()); },
                              {empty_record.path().c_str(), "record \"b\" (line 3) has an empty sequence"});
  const temp_file empty_file("");
  hyena::test::expect_invalid([&] { hyena::read_fasta(empty_file.path()); },
                              {empty_file.path().c_str(), "holds no sequence"});

  const std::string missing = (fs::temp_directory_path() / "hyena_test_fasta_does_not_exist.fa").string();
  try {
    hyena::read_fasta(missing);
    ADD_FAILURE() << "no exception for a missing file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open FASTA file \"" + missing + "\""), std::string::npos) << e.what();
  }
  const std::string directory = fs::temp_directory_path().string();
  try {
    hyena::read_fasta(directory);
    ADD_FAILURE() << "no exception for a directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(directory), std::string::npos) << e.what();
  }
}

}  // namespace
