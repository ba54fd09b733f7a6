// HyenaDNA's character tokenizer (docs/language_model.md, "Tokenizer").
#include <hyena/model/tokenizer.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ids = std::vector<std::int64_t>;

TEST(CharacterTokenizer, DnaIds) {
  const auto tok = hyena::character_tokenizer::dna();
  EXPECT_EQ(tok.vocab_size(), 12u);
  EXPECT_EQ(tok.encode("ACGTN"), (ids{7, 8, 9, 10, 11}));
  EXPECT_EQ(tok.encode(""), ids{});
  const std::vector<std::string> tokens = {"[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]",
                                           "[UNK]", "A",     "C",     "G",      "T",     "N"};
  for (std::size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(tok.token(std::int64_t(i)), tokens[i]);
}

TEST(CharacterTokenizer, SpecialTokensWrapTheSequence) {
  const auto tok = hyena::character_tokenizer::dna();
  hyena::tokenizer_options o;
  o.add_special_tokens = true;
  EXPECT_EQ(tok.encode("ACGTN", o), (ids{0, 7, 8, 9, 10, 11, 1}));
  EXPECT_EQ(tok.encode("", o), (ids{0, 1}));
}

TEST(CharacterTokenizer, UnknownCharactersAreUnkOrRejected) {
  const auto tok = hyena::character_tokenizer::dna();
  EXPECT_EQ(tok.encode("acgtnX-\n"), ids(8, 6)) << "case-sensitive: lower case is [UNK]";
  EXPECT_EQ(tok.encode(std::string("A\0C", 3)), (ids{7, 6, 8}));
  hyena::tokenizer_options strict;
  strict.strict = true;
  EXPECT_EQ(tok.encode("GATTACA", strict), (ids{9, 7, 10, 10, 7, 8, 7}));
  try {
    (void)tok.encode("ACGa", strict);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown character 'a' at position 3"), std::string::npos) << e.what();
  }
  try {
    (void)tok.encode("AC\tG", strict);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("byte 0x09 at position 2"), std::string::npos) << e.what();
  }
}

TEST(CharacterTokenizer, DecodeRoundTrips) {
  const auto tok = hyena::character_tokenizer::dna();
  hyena::tokenizer_options o;
  o.add_special_tokens = true;
  const auto encoded = tok.encode("GATTACAN", o);
  EXPECT_EQ(tok.decode(encoded), "[CLS]GATTACAN[SEP]");
  EXPECT_EQ(tok.decode(encoded, true), "GATTACAN");
  EXPECT_THROW((void)tok.decode(ids{7, 12}), std::invalid_argument) << "12 is embedding padding, not a token";
  EXPECT_THROW((void)tok.token(-1), std::invalid_argument);
}

TEST(CharacterTokenizer, CustomCharacters) {
  const hyena::character_tokenizer tok("xyz");
  EXPECT_EQ(tok.vocab_size(), 10u);
  EXPECT_EQ(tok.encode("zyxA"), (ids{9, 8, 7, 6}));
  EXPECT_THROW(hyena::character_tokenizer("ACA"), std::invalid_argument);
  EXPECT_THROW(hyena::character_tokenizer(""), std::invalid_argument);
}

}  // namespace
