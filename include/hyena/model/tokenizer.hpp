// hyena/model/tokenizer.hpp: HyenaDNA's character tokenizer (docs/language_model.md, "Tokenizer").
//
//   id    0      1      2      3       4      5           6      7  8  9  10 11
//   token [CLS]  [SEP]  [BOS]  [MASK]  [PAD]  [RESERVED]  [UNK]  A  C  G  T  N
//
// One byte per token, case-sensitive: every byte that is not one of the
// characters (lower-case "acgtn" included) is [UNK]. Ids 12.. of a padded
// embedding (V' = 16) are never produced.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../detail/checks.hpp"
#include "../core/span.hpp"

namespace hyena {

/// How character_tokenizer::encode treats its input.
struct tokenizer_options {
  /// Wrap the sequence as [CLS] ... [SEP], as HyenaDNA's standalone
  /// tokenizer does with add_special_tokens (hence l_max = max_length + 2).
  bool add_special_tokens = false;
  /// Throw on a character outside the vocabulary instead of mapping it to [UNK].
  bool strict = false;
};

/// A character-level tokenizer with HyenaDNA's seven special tokens first,
/// then one id per character. Immutable after construction; every member is
/// const and thread-safe.
class character_tokenizer {
 public:
  static constexpr std::int64_t cls_id = 0;
  static constexpr std::int64_t sep_id = 1;
  static constexpr std::int64_t bos_id = 2;
  static constexpr std::int64_t mask_id = 3;
  static constexpr std::int64_t pad_id = 4;
  static constexpr std::int64_t reserved_id = 5;
  static constexpr std::int64_t unk_id = 6;
  static constexpr index_t special_tokens = 7;

  /// `characters` get ids 7, 8, ... in order. Throws std::invalid_argument
  /// if it is empty or repeats a character.
  explicit character_tokenizer(std::string characters = "ACGTN") : characters_(std::move(characters)) {
    if (characters_.empty()) detail::throw_invalid("hyena::character_tokenizer: no characters given");
    ids_.fill(unk_id);
    for (index_t i = 0; i < characters_.size(); ++i) {
      const auto byte = static_cast<unsigned char>(characters_[i]);
      if (ids_[byte] != unk_id)
        detail::throw_invalid("hyena::character_tokenizer: character ", describe(characters_[i]),
                              " appears twice in \"", characters_, "\"");
      ids_[byte] = static_cast<std::int64_t>(special_tokens + i);
    }
  }

  /// HyenaDNA's tokenizer: characters A, C, G, T, N (ids 7..11).
  static character_tokenizer dna() { return character_tokenizer("ACGTN"); }

  /// 7 + the number of characters (12 for DNA); a model's embedding may have
  /// more rows (padded to a multiple of 8).
  index_t vocab_size() const noexcept { return special_tokens + characters_.size(); }
  const std::string& characters() const noexcept { return characters_; }

  /// The ids of the characters (7, 8, ...): what a sequence is made of,
  /// without the special tokens.
  std::vector<std::int64_t> character_ids() const {
    std::vector<std::int64_t> ids(characters_.size());
    for (index_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(special_tokens + i);
    return ids;
  }

  /// The id of one character, or unk_id.
  std::int64_t token_id(char c) const noexcept { return ids_[static_cast<unsigned char>(c)]; }

  /// Token ids of `text`, one per byte, wrapped in [CLS] ... [SEP] with
  /// options.add_special_tokens. O(length). Throws std::invalid_argument
  /// naming the character and its position when options.strict and a byte is
  /// not in the vocabulary.
  std::vector<std::int64_t> encode(std::string_view text, const tokenizer_options& options = {}) const {
    std::vector<std::int64_t> ids;
    ids.reserve(text.size() + (options.add_special_tokens ? 2 : 0));
    if (options.add_special_tokens) ids.push_back(cls_id);
    for (index_t i = 0; i < text.size(); ++i) {
      const std::int64_t id = token_id(text[i]);
      if (id == unk_id && options.strict)
        detail::throw_invalid("hyena::character_tokenizer::encode: unknown character ", describe(text[i]),
                              " at position ", i, " (the vocabulary is \"", characters_, "\", case-sensitive)");
      ids.push_back(id);
    }
    if (options.add_special_tokens) ids.push_back(sep_id);
    return ids;
  }

  /// The token of one id: "[CLS]" .. "[UNK]" for ids 0..6, else the
  /// character. Throws std::invalid_argument for ids outside [0, vocab_size).
  std::string token(std::int64_t id) const {
    static constexpr const char* names[special_tokens] = {"[CLS]", "[SEP]",      "[BOS]", "[MASK]",
                                                          "[PAD]", "[RESERVED]", "[UNK]"};
    if (id < 0 || static_cast<index_t>(id) >= vocab_size())
      detail::throw_invalid("hyena::character_tokenizer: token id ", id, " is outside the vocabulary [0, ",
                            vocab_size(), ")");
    if (static_cast<index_t>(id) < special_tokens) return names[id];
    return std::string(1, characters_[static_cast<index_t>(id) - special_tokens]);
  }

  /// The concatenated tokens of `ids`; special tokens are written as
  /// "[CLS]" etc., or left out with skip_special_tokens. Throws as token().
  std::string decode(span<const std::int64_t> ids, bool skip_special_tokens = false) const {
    std::string text;
    text.reserve(ids.size());
    for (const std::int64_t id : ids) {
      if (skip_special_tokens && id >= 0 && static_cast<index_t>(id) < special_tokens) continue;
      text += token(id);
    }
    return text;
  }

 private:
  // "'a'" for printable ASCII, "byte 0x0a" otherwise, so messages stay one line.
  static std::string describe(char c) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) return std::string("'") + c + "'";
    static constexpr char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[byte >> 4] + hex[byte & 15];
  }

  std::string characters_;
  std::array<std::int64_t, 256> ids_{};
};

/// Evo 2's byte-level tokenizer (vortex's CharLevelTokenizer): every byte
/// of the UTF-8 text is its own id, 0..255 (the models' 512-row embeddings
/// leave ids 256..511 unused).
struct byte_tokenizer {
  /// One id per byte of `text`. O(length).
  static std::vector<std::int64_t> encode(std::string_view text) {
    std::vector<std::int64_t> ids(text.size());
    for (index_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
    return ids;
  }
  /// The bytes of `ids`. Throws std::invalid_argument naming the first id outside [0, 256).
  static std::string decode(span<const std::int64_t> ids) {
    std::string text(ids.size(), '\0');
    for (index_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] > 255)
        detail::throw_invalid("hyena::byte_tokenizer::decode: id ", ids[i], " at position ", i, " is not a byte");
      text[i] = static_cast<char>(static_cast<unsigned char>(ids[i]));
    }
    return text;
  }
};

}  // namespace hyena
