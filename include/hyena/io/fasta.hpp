// hyena/io/fasta.hpp: reading FASTA, the way DNA sequences reach the language
// model (hyena-lm --fasta).
//
// The format as read here: a line starting with '>' opens a record; the first
// word after it is the record's name and the rest its description. Every
// other non-blank line belongs to the current record and is appended to its
// sequence with the whitespace at both ends removed (so "\r\n" line ends and
// indented lines read like "\n" ones). Lines starting with ';' are comments;
// blank lines are skipped. Text before the first header forms a record named
// "seq0" (a bare sequence file). Letters are kept as they are: case carries
// soft-masking in genome FASTA, and tokenizing decides what to do with it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <istream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hyena {

/// One record of a FASTA file.
struct fasta_record {
  /// The first word of the header; "record<i>" (i: the record's index) when
  /// the header is empty, "seq0" for text before any header.
  std::string name;
  /// The rest of the header line after the name, trimmed; may be empty.
  std::string description;
  /// The sequence lines concatenated, each trimmed; case is kept.
  std::string sequence;
  /// 1-based line of the header (of the first sequence line for "seq0").
  std::size_t line = 0;
};

namespace detail {

inline std::string fasta_trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n\f\v") - first + 1);
}

}  // namespace detail

/// Every record of the FASTA text in `in`, in order. `source` names the input
/// in messages (read_fasta passes `FASTA file "<path>"`).
/// O(size of the text). Thread-safe for distinct streams.
/// Throws std::invalid_argument when the text holds no record, or a record
/// has an empty sequence (naming the source, the record and its line);
/// std::runtime_error when the stream fails while reading (naming the line).
inline std::vector<fasta_record> parse_fasta(std::istream& in, const std::string& source = "FASTA input") {
  std::vector<fasta_record> records;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string text = detail::fasta_trim(line);
    if (text.empty() || text[0] == ';') continue;
    if (text[0] == '>') {
      const std::string header = detail::fasta_trim(text.substr(1));
      const auto end = header.find_first_of(" \t");
      fasta_record record;
      record.name = header.substr(0, end);
      if (record.name.empty()) record.name = "record" + std::to_string(records.size());
      if (end != std::string::npos) record.description = detail::fasta_trim(header.substr(end));
      record.line = number;
      records.push_back(std::move(record));
      continue;
    }
    if (records.empty()) records.push_back({"seq0", "", "", number});  // a sequence without a header
    records.back().sequence += text;
  }
  if (in.bad()) throw std::runtime_error("cannot read " + source + " (after line " + std::to_string(number) + ")");
  if (records.empty()) throw std::invalid_argument(source + " holds no sequence");
  for (const auto& r : records)
    if (r.sequence.empty())
      throw std::invalid_argument(source + ": record \"" + r.name + "\" (line " + std::to_string(r.line) +
                                  ") has an empty sequence");
  return records;
}

/// Every record of the FASTA file at `path`, as parse_fasta reads them.
/// Throws std::runtime_error when the file cannot be opened or read, and
/// what parse_fasta throws; every message names the file.
inline std::vector<fasta_record> read_fasta(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::runtime_error("cannot read FASTA file \"" + path + "\": it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open FASTA file \"" + path + "\"");
  return parse_fasta(in, "FASTA file \"" + path + "\"");
}

}  // namespace hyena
