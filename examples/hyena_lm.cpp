// hyena-lm: score, embed and continue DNA sequences with a HyenaDNA (or safari)
// language model, or a StripedHyena 2 / Evo 2 model, loaded from PyTorch
// weights. The family is told by the weights' keys: vortex's
// (embedding_layer.weight, blocks.N.*) are StripedHyena 2, which needs
// --config, its vortex model config as JSON, and reads text as bytes
// (Evo 2's byte-level tokenizer; no special tokens).
//
//   hyena-lm --weights model.safetensors [--config config.json]
//            (--dna ACGT... | --fasta file.fa | --ids-file ids.safetensors [--ids-name input_ids])
//            [--output out.safetensors] [--special-tokens] [--strict] [--uppercase]
//            [--embed] [--generate N [--temperature T] [--top-k K] [--seed S] [--allow-special]]
//            [--double] [--threads N] [--stream [--prefill P]] [--batch B] [--timing]
//
// For each sequence it prints the next-token log-likelihood (natural log,
// summed) and perplexity; --embed adds the mean-pooled final hidden state,
// --generate N continues the sequence by N tokens (greedy with
// --temperature 0) through the model's decoder, drawing only the tokens of
// sequence characters (A C G T N) unless --allow-special. --stream scores
// through the decoder too: the first P tokens (default 0) by prefill, then
// one token at a time; the outputs are the same tensors to rounding. --output writes hidden_states [B, L, D], logits
// [B, L, V'], input_ids, log_likelihood [B], perplexity [B], embeddings
// [B, D] and generated [B, N]. Sequences run in batches of up to --batch
// (default 16; fewer when a batch would exceed 2^20 padded tokens), longest
// first, each right-padded to the longest of its batch:
// the model is causal, so padding after a sequence leaves its outputs as they
// are alone (to rounding: the FFT size follows the padded length), and scores
// and embeddings skip it. Sequences of different lengths have their
// per-position tensors written as hidden_states.<i>, logits.<i> and
// input_ids.<i>, each [1, L_i, ...]. --timing prints the model's tokens/s. A one-token sequence has
// no next token to score: its row prints n/a and a note goes to stderr. Any
// problem is reported as one line on stderr; exit status 1 for bad input, 2
// for bad usage (cli.hpp).
#include <hyena/io/fasta.hpp>
#include <hyena/io/lm_config.hpp>
#include <hyena/io/lm_loader.hpp>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>
#include <hyena/io/sh2_loader.hpp>
#include <hyena/model/hyena_lm.hpp>
#include <hyena/model/sampling.hpp>
#include <hyena/model/scoring.hpp>
#include <hyena/model/striped_hyena_model.hpp>
#include <hyena/model/tokenizer.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "streaming.hpp"

namespace {

const hyena::cli::tool tool{
    "hyena-lm",
    "usage: hyena-lm --weights model.safetensors [--config config.json]\n"
    "                (--dna ACGT... | --fasta file.fa | --ids-file ids.safetensors [--ids-name input_ids])\n"
    "                [--output out.safetensors] [--special-tokens] [--strict] [--uppercase]\n"
    "                [--embed] [--generate N [--temperature T] [--top-k K] [--seed S] [--allow-special]]\n"
    "                [--double] [--threads N] [--stream [--prefill P]] [--batch B] [--timing]\n"
    "\n"
    "  --config          HyenaDNA's config.json (layer.shift, layer_norm_epsilon, vocab_size, ...);\n"
    "                    without it: shift 0.05, eps 1e-5, hyperparameters from the tensor shapes.\n"
    "                    StripedHyena 2 / Evo 2 weights (vortex's keys) need it: the vortex config as JSON\n"
    "  --special-tokens  wrap each sequence as [CLS] ... [SEP] (generation: [CLS] ... only)\n"
    "  --strict          reject characters outside ACGTN instead of mapping them to [UNK]\n"
    "  --uppercase       upper-case the sequences first (soft-masked FASTA)\n"
    "  --embed           also compute the mean-pooled final hidden state of each sequence\n"
    "  --generate N      continue each sequence by N tokens (default temperature 1), token by token\n"
    "  --allow-special   let generation draw special tokens ([CLS], [SEP], ...), not only A C G T N\n"
    "  --stream          score through the decoder: --prefill P tokens at once (default 0), then one at a time\n"
    "  --batch B         run up to B sequences per forward (default 16; at most ~2^20 padded tokens),\n"
    "                    each right-padded to the longest of its batch\n"
    "  --timing          print the model's time and tokens/s on stderr\n"
    "  --double          compute in double precision (and write float64)\n",
    {"--weights", "--config", "--dna", "--fasta", "--ids-file", "--ids-name", "--output", "--generate",
     "--temperature", "--top-k", "--seed", "--threads", "--prefill", "--batch"},
    {"--special-tokens", "--strict", "--uppercase", "--embed", "--allow-special", "--stream", "--timing"}};

struct sequence {
  std::string name;
  std::vector<std::int64_t> ids;
};

/// The sequences to score, tokenized by `encode(text, strict)`. Usage was checked by run().
template <class Encode>
std::vector<sequence> read_input(const hyena::cli::args& args, const Encode& encode) {
  std::vector<sequence> out;
  if (args.has("--ids-file")) {
    const auto file = hyena::safetensors_file::load(args.get("--ids-file"));
    const std::string name = args.get("--ids-name", "input_ids");
    const auto& shape = file.info(name).shape;
    if (shape.size() != 1 && shape.size() != 2)
      throw std::invalid_argument("token ids \"" + name + "\" have shape " + hyena::detail::format_shape(shape) +
                                  ", expected [batch, length] or [length]");
    const hyena::index_t B = shape.size() == 2 ? shape[0] : 1, L = shape.back();
    if (B == 0 || L == 0)
      throw std::invalid_argument("token ids \"" + name + "\" are empty: shape " + hyena::detail::format_shape(shape));
    const auto ids = file.read<std::int64_t>(name);
    for (hyena::index_t b = 0; b < B; ++b)
      out.push_back({"seq" + std::to_string(b), std::vector<std::int64_t>(ids.begin() + std::ptrdiff_t(b * L),
                                                                          ids.begin() + std::ptrdiff_t((b + 1) * L))});
    return out;
  }
  std::vector<hyena::fasta_record> texts;
  if (args.has("--dna")) {
    texts.push_back({"seq0", "", args.get("--dna"), 0});
    if (texts.back().sequence.empty()) throw std::invalid_argument("--dna: the sequence is empty");
  } else {
    texts = hyena::read_fasta(args.get("--fasta"));
  }
  for (auto& record : texts) {
    if (args.has("--uppercase"))
      for (char& c : record.sequence) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    try {
      out.push_back({record.name, encode(record.sequence, args.has("--strict"))});
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("sequence \"" + record.name + "\": " + e.what());
    }
  }
  return out;
}

/// ACGT... when every id is a token, else the ids separated by spaces.
std::string describe_tokens(const hyena::character_tokenizer& tokenizer, const std::vector<std::int64_t>& ids) {
  const bool text = std::all_of(ids.begin(), ids.end(), [&](std::int64_t id) {
    return id >= 0 && static_cast<hyena::index_t>(id) < tokenizer.vocab_size();
  });
  if (text) return tokenizer.decode(ids);
  std::string s;
  for (const auto id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

/// The text of byte ids when every one is printable ASCII, else the ids.
std::string describe_bytes(const std::vector<std::int64_t>& ids) {
  if (std::all_of(ids.begin(), ids.end(), [](std::int64_t id) { return id >= 0x20 && id < 0x7f; }))
    return hyena::byte_tokenizer::decode(ids);
  std::string s;
  for (const auto id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

// The two model families behind one interface, so the scoring loop below is
// written once.

// hidden and logits ([batch][length][width]) through a decoder: `prefill`
// tokens at once (prefill(h, l)), then one at a time (step(t, h, l)).
template <class T, class Prefill, class Step>
void stream_through(hyena::index_t batch, hyena::index_t length, hyena::index_t D, hyena::index_t V,
                    hyena::index_t prefill, std::vector<T>& hidden, std::vector<T>& logits, Prefill&& prefill_fn,
                    Step&& step_fn) {
  using hyena::cli::time_store;
  if (prefill > 0) {
    std::vector<T> h(batch * prefill * D), l(batch * prefill * V);
    prefill_fn(h, l);
    time_store(hidden, batch, length, D, 0, prefill, h);
    time_store(logits, batch, length, V, 0, prefill, l);
  }
  std::vector<T> h(batch * D), l(batch * V);
  for (hyena::index_t t = prefill; t < length; ++t) {
    step_fn(t, h, l);
    time_store(hidden, batch, length, D, t, t + 1, h);
    time_store(logits, batch, length, V, t, t + 1, l);
  }
}

// What both families do alike: decode() through the model's decoder and
// generate(); Family supplies model, prefill_into and step_into (its
// decoder's argument order).
template <class T, class Family>
struct family_common {
  void decode(hyena::index_t batch, hyena::index_t length, const std::vector<std::int64_t>& ids,
              hyena::index_t prefill, std::vector<T>& hidden, std::vector<T>& logits) {
    using hyena::cli::time_slice;
    auto& self = static_cast<Family&>(*this);
    auto state = self.model.make_state(batch, length);
    stream_through<T>(
        batch, length, self.d_model(), self.logits_width(), prefill, hidden, logits,
        [&](std::vector<T>& h, std::vector<T>& l) {
          self.prefill_into(state, prefill, time_slice(ids, batch, length, 1, 0, prefill), h, l);
        },
        [&](hyena::index_t t, std::vector<T>& h, std::vector<T>& l) {
          self.step_into(state, time_slice(ids, batch, length, 1, t, t + 1), h, l);
        });
  }
  std::vector<std::int64_t> generate(hyena::span<const std::int64_t> prompt, hyena::index_t n,
                                     const hyena::sampling_options& sampling, std::uint64_t seed) const {
    return hyena::generate(static_cast<const Family&>(*this).model, prompt, n, sampling, seed);
  }
};

// HyenaDNA / safari (hyena_lm).
template <class T>
struct hyena_dna_family : family_common<T, hyena_dna_family<T>> {
  hyena_dna_family(const hyena::hyena_lm<T>& m, const hyena::character_tokenizer& t) : model(m), tokenizer(t) {}
  const hyena::hyena_lm<T>& model;
  const hyena::character_tokenizer& tokenizer;
  hyena::hyena_lm_workspace<T> ws;

  hyena::index_t d_model() const { return model.d_model(); }
  hyena::index_t logits_width() const { return model.padded_vocab_size(); }
  hyena::index_t max_length() const { return model.max_length(); }
  std::int64_t pad_id() const { return hyena::character_tokenizer::pad_id; }
  void forward(hyena::index_t batch, hyena::index_t length, const std::vector<std::int64_t>& ids,
               std::vector<T>& hidden, std::vector<T>& logits) {
    model.forward(batch, length, ids, hidden, logits, ws);
  }
  template <class State>
  void prefill_into(State& state, hyena::index_t n, const std::vector<std::int64_t>& ids, std::vector<T>& h,
                    std::vector<T>& l) {
    model.prefill(state, n, ids, h, l, ws);
  }
  template <class State>
  void step_into(State& state, const std::vector<std::int64_t>& ids, std::vector<T>& h, std::vector<T>& l) {
    model.step(state, ids, h, l);
  }
  std::string describe(const std::vector<std::int64_t>& ids) const { return describe_tokens(tokenizer, ids); }
};

// StripedHyena 2 / Evo 2 (sh2_model): byte tokens; no length limit but memory.
template <class T>
struct striped_hyena_family : family_common<T, striped_hyena_family<T>> {
  striped_hyena_family(const hyena::sh2_model<T>& m, hyena::execution_context e) : model(m), execution(e) {}
  const hyena::sh2_model<T>& model;
  hyena::execution_context execution;

  hyena::index_t d_model() const { return model.d_model(); }
  hyena::index_t logits_width() const { return model.vocab_size(); }
  hyena::index_t max_length() const { return std::numeric_limits<hyena::index_t>::max() / 4; }
  std::int64_t pad_id() const { return 0; }
  void forward(hyena::index_t batch, hyena::index_t length, const std::vector<std::int64_t>& ids,
               std::vector<T>& hidden, std::vector<T>& logits) {
    model.forward(batch, length, ids, logits, hidden, execution);
  }
  template <class State>
  void prefill_into(State& state, hyena::index_t n, const std::vector<std::int64_t>& ids, std::vector<T>& h,
                    std::vector<T>& l) {
    model.prefill(state, n, ids, l, h, execution);
  }
  template <class State>
  void step_into(State& state, const std::vector<std::int64_t>& ids, std::vector<T>& h, std::vector<T>& l) {
    model.step(state, ids, l, h, execution);
  }
  std::string describe(const std::vector<std::int64_t>& ids) const { return describe_bytes(ids); }
};

// What run() parsed, for the scoring loop.
struct run_options {
  hyena::index_t generate = 0, prefill = 0, max_batch = 16;
  bool stream = false, special = false;
  std::uint64_t seed = 0;
  hyena::sampling_options sampling;
};

template <class T, class Family>
void score(const hyena::cli::args& args, Family& lm, const std::vector<sequence>& sequences, const run_options& o) {
  const hyena::index_t N = o.generate, prefill = o.prefill, max_batch = o.max_batch;
  const bool stream = o.stream, special = o.special;
  const hyena::index_t D = lm.d_model(), V = lm.logits_width(), l_max = lm.max_length();

  // The model and generate() reject these too, but only when they get there,
  // without the sequence's name, and generation would fail after the scores
  // were printed: check every sequence before any work.
  for (const auto& s : sequences) {
    if (stream && prefill > s.ids.size())
      throw std::invalid_argument("--prefill " + std::to_string(prefill) + " exceeds sequence \"" + s.name +
                                  "\"'s " + std::to_string(s.ids.size()) + " tokens");
    if (s.ids.size() > l_max)
      throw std::invalid_argument("sequence \"" + s.name + "\" has " + std::to_string(s.ids.size()) + " tokens" +
                                  (special ? " (with [CLS] and [SEP])" : "") + ", more than the model's l_max " +
                                  std::to_string(l_max));
    // The generation prompt drops the trailing [SEP].
    const hyena::index_t prompt = s.ids.size() - (special ? 1 : 0);
    if (N > 0 && (N > l_max || prompt > l_max - N))
      throw std::invalid_argument("sequence \"" + s.name + "\": " + std::to_string(prompt) + " tokens plus " +
                                  std::to_string(N) + " generated exceed the model's l_max " + std::to_string(l_max));
  }

  const hyena::index_t B = sequences.size();
  const bool same_length = std::all_of(sequences.begin(), sequences.end(),
                                       [&](const sequence& s) { return s.ids.size() == sequences[0].ids.size(); });
  std::vector<hyena::sequence_score> scores(B);
  std::vector<T> embeddings(args.has("--embed") ? B * D : 0);
  std::vector<std::int64_t> generated;
  hyena::safetensors_writer writer;
  const bool keep_outputs = args.has("--output");
  std::vector<std::vector<T>> hidden_of(keep_outputs ? B : 0), logits_of(keep_outputs ? B : 0);

  // Batches of up to --batch sequences, longest first (less padding), each
  // right-padded to its longest: position t of a sequence sees tokens 0..t
  // only, so the padding after it changes nothing but the FFT size.
  std::vector<hyena::index_t> order(B);
  for (hyena::index_t b = 0; b < B; ++b) order[b] = b;
  std::stable_sort(order.begin(), order.end(), [&](hyena::index_t a, hyena::index_t b) {
    return sequences[a].ids.size() > sequences[b].ids.size();
  });
  double model_seconds = 0;
  hyena::index_t real_tokens = 0, padded_tokens = 0, batches = 0;
  // A batch also stops at about 2^20 padded tokens (one sequence at least):
  // its hidden states, logits and workspace grow with batch * length.
  constexpr hyena::index_t max_batch_tokens = hyena::index_t(1) << 20;
  hyena::index_t count = 0;
  for (hyena::index_t first = 0; first < B; first += count, ++batches) {
    const hyena::index_t L = sequences[order[first]].ids.size();
    const hyena::index_t fits = std::max<hyena::index_t>(1, max_batch_tokens / std::max<hyena::index_t>(L, 1));
    count = std::min({max_batch, B - first, fits});
    std::vector<std::int64_t> ids(count * L, lm.pad_id());
    for (hyena::index_t b = 0; b < count; ++b)
      std::copy(sequences[order[first + b]].ids.begin(), sequences[order[first + b]].ids.end(), ids.begin() + b * L);
    std::vector<T> hidden(count * L * D), logits(count * L * V);
    const auto start = std::chrono::steady_clock::now();
    if (stream)
      lm.decode(count, L, ids, prefill, hidden, logits);
    else
      lm.forward(count, L, ids, hidden, logits);
    model_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    padded_tokens += count * L;
    for (hyena::index_t b = 0; b < count; ++b) {
      const hyena::index_t s = order[first + b], n = sequences[s].ids.size();
      real_tokens += n;
      const T* h = hidden.data() + b * L * D;
      const T* l = logits.data() + b * L * V;
      scores[s] = hyena::next_token_log_likelihood<T>(n, V, hyena::span<const T>(l, n * V),
                                                      hyena::span<const std::int64_t>(ids.data() + b * L, n));
      if (!embeddings.empty())
        hyena::mean_pool<T>(1, n, D, hyena::span<const T>(h, n * D), hyena::span<T>(embeddings.data() + s * D, D));
      if (keep_outputs) {
        hidden_of[s].assign(h, h + n * D);
        logits_of[s].assign(l, l + n * V);
      }
    }
  }
  if (args.has("--timing"))
    std::fprintf(stderr,
                 "hyena-lm: %zu sequences in %zu batch(es), %zu tokens (%zu with padding): %.3f s, %.0f tokens/s\n",
                 std::size_t(B), std::size_t(batches), std::size_t(real_tokens), std::size_t(padded_tokens), model_seconds,
                 model_seconds > 0 ? double(real_tokens) / model_seconds : 0.0);
  if (keep_outputs) {
    if (same_length) {  // one [B, L, ...] tensor each, in input order
      const hyena::index_t L = sequences[0].ids.size();
      std::vector<T> hidden, logits;
      std::vector<std::int64_t> ids;
      for (hyena::index_t b = 0; b < B; ++b) {
        hidden.insert(hidden.end(), hidden_of[b].begin(), hidden_of[b].end());
        logits.insert(logits.end(), logits_of[b].begin(), logits_of[b].end());
        ids.insert(ids.end(), sequences[b].ids.begin(), sequences[b].ids.end());
      }
      writer.add("hidden_states", {B, L, D}, hidden);
      writer.add("logits", {B, L, V}, logits);
      writer.add("input_ids", {B, L}, ids);
    } else {
      for (hyena::index_t b = 0; b < B; ++b) {
        const hyena::index_t L = sequences[b].ids.size();
        const std::string suffix = "." + std::to_string(b);
        writer.add("hidden_states" + suffix, {1, L, D}, hidden_of[b]);
        writer.add("logits" + suffix, {1, L, V}, logits_of[b]);
        writer.add("input_ids" + suffix, {1, L}, sequences[b].ids);
      }
    }
  }

  std::printf("# sequence\ttokens\tlog_likelihood\tperplexity\n");
  for (hyena::index_t b = 0; b < B; ++b) {
    if (scores[b].predictions == 0) {
      // One token: nothing is predicted, so there is no score (not a score of 0 or NaN).
      std::printf("%s\t%zu\tn/a\tn/a\n", sequences[b].name.c_str(), sequences[b].ids.size());
      args.note("sequence \"" + sequences[b].name +
                "\" has one token: there is no next token to score, so log_likelihood and perplexity are n/a");
      continue;
    }
    std::printf("%s\t%zu\t%.6f\t%.6f\n", sequences[b].name.c_str(), sequences[b].ids.size(),
                scores[b].log_likelihood, scores[b].perplexity());
  }
  if (!embeddings.empty() && !args.has("--output"))
    for (hyena::index_t b = 0; b < B; ++b) {
      std::printf("embedding %s:", sequences[b].name.c_str());
      for (hyena::index_t d = 0; d < D; ++d) std::printf(" %.6g", double(embeddings[b * D + d]));
      std::printf("\n");
    }
  if (N > 0)
    for (hyena::index_t b = 0; b < B; ++b) {
      const auto& ids = sequences[b].ids;
      const hyena::span<const std::int64_t> prompt(ids.data(), ids.size() - (special ? 1 : 0));
      // One stream per sequence, so a sequence's continuation does not depend
      // on which others are in the file.
      const auto tokens = lm.generate(prompt, N, o.sampling, o.seed + b);
      generated.insert(generated.end(), tokens.begin(), tokens.end());
      std::printf("generated %s: %s\n", sequences[b].name.c_str(), lm.describe(tokens).c_str());
    }

  if (!args.has("--output")) return;
  std::vector<double> log_likelihood(B), perplexity(B);
  for (hyena::index_t b = 0; b < B; ++b) {
    log_likelihood[b] = scores[b].log_likelihood;  // 0 for one token: the empty sum
    perplexity[b] = scores[b].perplexity();        // NaN for one token
  }
  writer.add("log_likelihood", {B}, log_likelihood);
  writer.add("perplexity", {B}, perplexity);
  if (!embeddings.empty()) writer.add("embeddings", {B, D}, embeddings);
  if (N > 0) writer.add("generated", {B, N}, generated);
  writer.save(args.get("--output"));
}

template <class T>
void run(const hyena::cli::args& args) {
  // Every option first, so usage errors come before any file is read.
  using hyena::cli::usage_error;
  const auto execution = args.threads();
  run_options o;
  o.generate = args.integer<hyena::index_t>("--generate", 0);
  o.sampling.temperature = args.number("--temperature", 1.0, 0.0);
  o.sampling.top_k = args.integer<hyena::index_t>("--top-k", 0);
  o.seed = args.integer<std::uint64_t>("--seed", 0);
  if (!args.has("--generate") &&
      (args.has("--temperature") || args.has("--top-k") || args.has("--seed") || args.has("--allow-special")))
    throw usage_error("--temperature, --top-k, --seed and --allow-special need --generate");
  o.stream = args.has("--stream");
  if (args.has("--prefill") && !o.stream) throw usage_error("--prefill needs --stream");
  o.prefill = args.integer<hyena::index_t>("--prefill", 0);
  o.max_batch = args.integer<hyena::index_t>("--batch", 16, 1);
  o.special = args.has("--special-tokens");
  if (int(args.has("--dna")) + int(args.has("--fasta")) + int(args.has("--ids-file")) != 1)
    throw usage_error("give exactly one of --dna, --fasta, --ids-file");
  if (args.has("--ids-file") && (o.special || args.has("--strict") || args.has("--uppercase")))
    throw usage_error("--special-tokens, --strict and --uppercase apply to text, not to --ids-file");
  const auto file = hyena::safetensors_file::map(args.get("--weights"));  // page cache, not a copy
  const auto dna = hyena::character_tokenizer::dna();

  if (hyena::is_sh2_checkpoint(file)) {  // StripedHyena 2 / Evo 2: vortex's keys
    if (!args.has("--config"))
      throw usage_error("a StripedHyena 2 (Evo 2) checkpoint needs --config, its vortex model config as JSON "
                        "(examples/convert_vortex.py writes one)");
    if (o.special) throw usage_error("--special-tokens: byte-level models (StripedHyena 2) have no special tokens");
    const auto config = hyena::load_sh2_config(args.get("--config"));
    for (const auto& note : config.notes) args.note(note);
    hyena::tokenizer_options strict;
    strict.strict = true;
    const auto sequences = read_input(args, [&](const std::string& text, bool check) {
      if (check) (void)dna.encode(text, strict);  // throws naming the first character outside ACGTN
      return hyena::byte_tokenizer::encode(text);
    });
    const hyena::sh2_model<T> model(hyena::load_sh2_weights<T>(file, config));
    if (!args.has("--allow-special"))
      for (const char c : dna.characters()) o.sampling.allowed_ids.push_back(static_cast<unsigned char>(c));
    striped_hyena_family<T> lm(model, execution);
    score<T>(args, lm, sequences, o);
    return;
  }

  hyena::hyena_lm_config config;
  if (args.has("--config")) config = hyena::load_hyena_lm_config(args.get("--config"));
  hyena::tokenizer_options text_options;
  text_options.strict = args.has("--strict");
  text_options.add_special_tokens = o.special;
  const auto sequences =
      read_input(args, [&](const std::string& text, bool) { return dna.encode(text, text_options); });
  auto weights = hyena::load_hyena_lm_weights<T>(file, config);
  hyena::hyena_lm_options options = config.options;
  // Without a config, sample only ids the DNA tokenizer produces: the padded
  // embedding rows (12..15 in HyenaDNA) are not tokens.
  if (options.vocab_size == 0) options.vocab_size = std::min(weights.padded_vocab_size, dna.vocab_size());
  hyena::hyena_lm<T> model(std::move(weights), options);
  if (!args.has("--allow-special")) {
    for (const auto id : dna.character_ids())
      if (id < std::int64_t(model.vocab_size())) o.sampling.allowed_ids.push_back(id);
    if (o.sampling.allowed_ids.empty())
      throw std::invalid_argument("the model's vocabulary has no sequence characters to generate; "
                                  "give --allow-special to sample any token");
  }
  model.set_execution(execution);
  hyena_dna_family<T> lm(model, dna);
  score<T>(args, lm, sequences, o);
}

}  // namespace

int main(int argc, char** argv) {
  return hyena::cli::run_tool(argc, argv, tool, [](const hyena::cli::args& args, auto precision) {
    run<decltype(precision)>(args);
  });
}
