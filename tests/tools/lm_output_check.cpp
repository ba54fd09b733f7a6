// lm_output_check: hyena-lm's --output files against computations made here,
// independently of the code that wrote them. Used by the CLI tests.
//
//   lm_output_check mean-pool HIDDEN.safetensors NAME EMBEDDINGS.safetensors NAME ROW TOLERANCE
//     The mean over positions of NAME [1, L, D] (hidden states, summed here in
//     long double) against row ROW of EMBEDDINGS' NAME [B, D]: passes when the
//     relative L2 error is <= TOLERANCE.
//   lm_output_check greedy-first LOGITS.safetensors NAME POSITION VOCAB GENERATED.safetensors NAME ROW
//     The argmax (first of equal maxima) over ids [0, VOCAB) of NAME[0, POSITION, :]
//     (logits [1, L, V']) must equal GENERATED's NAME[ROW, 0]: greedy decoding's
//     first token is the most likely next token of its prompt.
//
// Exit status 0 when the check passes, 1 when it fails or a file is bad, 2 for bad usage.
#include <hyena/io/safetensors_reader.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/numerics.hpp"

namespace {

using hyena::index_t;

index_t parse_index(const char* text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (*text == '\0' || *end != '\0' || *text == '-') throw std::invalid_argument(std::string("not an index: ") + text);
  return index_t(v);
}

const std::vector<index_t>& shape_of(const hyena::safetensors_file& file, const std::string& name, std::size_t rank) {
  const auto& shape = file.info(name).shape;
  if (shape.size() != rank)
    throw std::invalid_argument("tensor \"" + name + "\" has shape " + hyena::detail::format_shape(shape) +
                                ", expected rank " + std::to_string(rank));
  return shape;
}

int mean_pool(char** argv) {
  const auto hidden_file = hyena::safetensors_file::load(argv[0]);
  const auto embeddings_file = hyena::safetensors_file::load(argv[2]);
  const index_t row = parse_index(argv[4]);
  const double tolerance = std::atof(argv[5]);
  const auto& hs = shape_of(hidden_file, argv[1], 3);
  const auto& es = shape_of(embeddings_file, argv[3], 2);
  if (hs[0] != 1 || hs[2] != es[1] || row >= es[0])
    throw std::invalid_argument("hidden states " + hyena::detail::format_shape(hs) + " and row " +
                                std::to_string(row) + " of embeddings " + hyena::detail::format_shape(es) +
                                " do not fit together");
  const index_t L = hs[1], D = hs[2];
  const auto hidden = hidden_file.read<double>(argv[1]);
  const auto embeddings = embeddings_file.read<double>(argv[3]);
  std::vector<double> mean(D), actual(embeddings.begin() + std::ptrdiff_t(row * D),
                                      embeddings.begin() + std::ptrdiff_t((row + 1) * D));
  for (index_t d = 0; d < D; ++d) {
    long double sum = 0;
    for (index_t t = 0; t < L; ++t) sum += hidden[t * D + d];
    mean[d] = double(sum / L);
  }
  const double err = hyena::test::relative_l2_error(actual, mean);
  std::printf("%s:%s[%zu] vs the mean over %zu positions of %s:%s: relative L2 error %.3g (tolerance %.3g)\n", argv[2],
              argv[3], row, L, argv[0], argv[1], err, tolerance);
  return err <= tolerance ? 0 : 1;
}

int greedy_first(char** argv) {
  const auto logits_file = hyena::safetensors_file::load(argv[0]);
  const index_t position = parse_index(argv[2]), vocab = parse_index(argv[3]);
  const auto generated_file = hyena::safetensors_file::load(argv[4]);
  const index_t row = parse_index(argv[6]);
  const auto& ls = shape_of(logits_file, argv[1], 3);
  const auto& gs = shape_of(generated_file, argv[5], 2);
  if (ls[0] != 1 || position >= ls[1] || vocab == 0 || vocab > ls[2] || row >= gs[0] || gs[1] == 0)
    throw std::invalid_argument("logits " + hyena::detail::format_shape(ls) + " at position " +
                                std::to_string(position) + " over " + std::to_string(vocab) +
                                " ids and row " + std::to_string(row) + " of generated " +
                                hyena::detail::format_shape(gs) + " do not fit together");
  const auto logits = logits_file.read<double>(argv[1]);
  const auto generated = generated_file.read<std::int64_t>(argv[5]);
  const double* r = logits.data() + position * ls[2];
  index_t best = 0;
  for (index_t v = 1; v < vocab; ++v)
    if (r[v] > r[best]) best = v;
  double runner_up = -1e300;
  for (index_t v = 0; v < vocab; ++v)
    if (v != best && r[v] > runner_up) runner_up = r[v];
  const std::int64_t first = generated[row * gs[1]];
  std::printf("argmax of %s:%s[0, %zu, :%zu] = %zu (margin %.3g over the next id); %s:%s[%zu, 0] = %lld\n", argv[0],
              argv[1], position, vocab, best, r[best] - runner_up, argv[4], argv[5], row, (long long)first);
  return first == std::int64_t(best) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "mean-pool" && argc == 8) || (mode == "greedy-first" && argc == 9))) {
    std::fprintf(stderr,
                 "usage: lm_output_check mean-pool HIDDEN NAME EMBEDDINGS NAME ROW TOLERANCE\n"
                 "       lm_output_check greedy-first LOGITS NAME POSITION VOCAB GENERATED NAME ROW\n");
    return 2;
  }
  try {
    return mode == "mean-pool" ? mean_pool(argv + 2) : greedy_first(argv + 2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lm_output_check: %s\n", e.what());
    return 1;
  }
}
