// hyena-train-recall: trains a Hyena language model from scratch on the
// associative recall task of the Hyena paper (Poli et al. 2023, section 4.1)
// and reports its accuracy on held-out sequences.
//
//   hyena-train-recall [--length 1024] [--vocab 30] [--layers 2] [--d-model 64] [--d-inner 128]
//                      [--filter-width 64] [--emb-dim 5] [--sine-frequency 1] [--embedding-stddev 1]
//                      [--fast-decay 0.3] [--slow-decay 1.5] [--train-decay]
//                      [--batch 16] [--steps 2000] [--lr 2e-3] [--warmup 50]
//                      [--weight-decay 0] [--clip 1] [--seed 1]
//                      [--eval-sequences 1000] [--eval-every 100] [--until-accuracy A]
//                      [--loss-curve curve.dat] [--plot curve.png]
//                      [--checkpoint ckpt.safetensors] [--resume ckpt.safetensors]
//                      [--curriculum 256:4000,512:2000] [--require-loss-ratio R]
//                      [--double] [--threads N]
//
// The task: a sequence of key-value pairs k1 v1 k2 v2 ... drawn from one
// random key -> value map per sequence (keys are the first half of the
// vocabulary, values the second), then a query key seen before; the model
// must answer with its value. Sequences are generated on the fly from the
// seed; the held-out set comes from a separate stream. Training supervises
// every key whose value the sequence has already shown (each is a recall
// query), the query included; accuracy is on the final query only, the
// paper's measure (greedy: the argmax of the logits at the query).
//
// --embedding-stddev draws the token embedding (also the tied head) from
// N(0, s): 1 by default, as PyTorch's nn.Embedding; the library's default is
// HyenaDNA's 0.02, under which the keys' codes are learnt from nothing, end
// low-rank (antipodal pairs on about 8 directions) and stall a run for good
// when three keys share a direction (seven of ten runs stopped at 81.8-97.5%).
// --fast-decay and --slow-decay set the decay window's initial rates (the
// fastest and slowest channel reach 1% at that fraction of --length);
// --train-decay trains the rates too (the reference keeps them fixed).
// --curriculum trains the first steps on shorter sequences, stage by stage
// (length:steps, comma-separated), then on --length: a step at 256 tokens
// costs a third of one at 1024, and the binding of keys to values is learnt
// there too. The model is built for --length either way (its implicit filters
// are functions of position up to --length; a shorter sequence uses their
// first taps), and the held-out set is always at --length.
// --loss-curve writes "step loss learning_rate seconds length" per step, then (after
// two blank lines, gnuplot's index 1) "step held_out_accuracy" per
// evaluation; --plot runs gnuplot on it. --checkpoint saves the weights and
// the optimizer's state at every evaluation and at the end (a safetensors
// file hyena-lm and PyTorch load); --resume continues such a run from its
// step with the same data stream. --until-accuracy stops once the held-out
// accuracy reaches A. --require-loss-ratio R exits with status 1 unless the
// mean loss of the last tenth of the steps is below R times that of the
// first tenth (CI's check that training trains).
#include <hyena/io/lm_loader.hpp>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/model/cross_entropy.hpp>
#include <hyena/model/hyena_lm.hpp>
#include <hyena/model/hyena_lm_backward.hpp>
#include <hyena/train/adamw.hpp>
#include <hyena/train/checkpoint.hpp>
#include <hyena/train/initial_weights.hpp>
#include <hyena/train/trainable_parameters.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

const hyena::cli::tool tool{
    "hyena-train-recall",
    "usage: hyena-train-recall [--length 1024] [--vocab 30] [--layers 2] [--d-model 64] [--d-inner 128]\n"
    "                          [--filter-width 64] [--emb-dim 5] [--sine-frequency 1] [--embedding-stddev 1]\n"
    "                          [--fast-decay 0.3] [--slow-decay 1.5] [--train-decay]\n"
    "                          [--batch 16] [--steps 2000] [--lr 2e-3] [--warmup 50]\n"
    "                          [--weight-decay 0] [--clip 1] [--seed 1]\n"
    "                          [--eval-sequences 1000] [--eval-every 100] [--until-accuracy A]\n"
    "                          [--loss-curve curve.dat] [--plot curve.png]\n"
    "                          [--checkpoint ckpt.safetensors] [--resume ckpt.safetensors]\n"
    "                          [--curriculum 256:4000,512:2000] [--require-loss-ratio R]\n"
    "                          [--double] [--threads N]\n"
    "Trains a Hyena LM on associative recall (key-value pairs, then a query key;\n"
    "predict its value) and reports held-out accuracy on the final query.\n",
    {"--length", "--vocab", "--layers", "--d-model", "--d-inner", "--filter-width", "--emb-dim", "--sine-frequency", "--embedding-stddev", "--fast-decay", "--slow-decay", "--batch", "--steps", "--lr", "--warmup", "--weight-decay",
     "--clip", "--seed", "--eval-sequences", "--eval-every", "--until-accuracy", "--loss-curve", "--plot",
     "--checkpoint", "--resume", "--require-loss-ratio", "--threads", "--curriculum"},
    {"--train-decay"}};

using hyena::index_t;

/// A batch of recall sequences: ids and the training targets [batch][length],
/// and each sequence's query answer (at position length - 2).
struct recall_batch {
  std::vector<std::int64_t> ids, targets, answers;
};

/// Draws sequences: (length - 2) / 2 key-value pairs, the query key, its value.
class recall_task {
 public:
  recall_task(index_t vocab, std::uint64_t seed) : vocab_(vocab), gen_(seed) {}

  recall_batch draw(index_t batch, index_t length) {
    const index_t keys = vocab_ / 2, values = vocab_ - keys, pairs = (length - 2) / 2;
    recall_batch out;
    out.ids.assign(batch * length, 0);
    out.targets.assign(batch * length, -1);
    std::vector<std::int64_t> value_of(keys);
    std::vector<char> seen(keys);
    for (index_t b = 0; b < batch; ++b) {
      for (auto& v : value_of) v = std::int64_t(keys + gen_() % values);
      std::fill(seen.begin(), seen.end(), 0);
      std::int64_t* ids = out.ids.data() + b * length;
      std::int64_t* targets = out.targets.data() + b * length;
      for (index_t p = 0; p < pairs; ++p) {
        const index_t key = gen_() % keys;
        ids[2 * p] = std::int64_t(key);
        ids[2 * p + 1] = value_of[key];
        if (seen[key]) targets[2 * p] = value_of[key];  // recallable: its value was shown before
        seen[key] = 1;
      }
      const index_t query = index_t(ids[2 * (gen_() % pairs)]);
      ids[length - 2] = std::int64_t(query);
      ids[length - 1] = value_of[query];
      targets[length - 2] = value_of[query];
      out.answers.push_back(value_of[query]);
    }
    return out;
  }

 private:
  index_t vocab_;
  std::mt19937_64 gen_;
};

/// The fraction of `set`'s queries whose argmax logit is the answer.
template <class T>
double recall_accuracy(const hyena::hyena_lm<T>& model, const recall_batch& set, index_t length, index_t chunk) {
  const index_t n = set.answers.size(), V = model.padded_vocab_size(), q = length - 2;
  index_t correct = 0;
  for (index_t first = 0; first < n; first += chunk) {
    const index_t count = std::min(chunk, n - first);
    const auto out = model.forward(
        count, length, hyena::span<const std::int64_t>(set.ids.data() + first * length, count * length));
    for (index_t b = 0; b < count; ++b) {
      const T* logits = out.logits.data() + (b * length + q) * V;
      const index_t guess = index_t(std::max_element(logits, logits + V) - logits);
      correct += std::int64_t(guess) == set.answers[first + b];
    }
  }
  return double(correct) / double(n);
}

/// One stage of a length curriculum: `steps` training steps on sequences of `length`.
struct curriculum_stage {
  index_t length, steps;
};

/// Parses "256:4000,512:2000": lengths (even, from 4 up to `max_length`) and
/// step counts (>= 1).
std::vector<curriculum_stage> parse_curriculum(const std::string& text, index_t max_length) {
  std::vector<curriculum_stage> stages;
  if (text.empty()) return stages;
  const auto bad = [&](const std::string& why) {
    return hyena::cli::usage_error("--curriculum '" + text + "': " + why);
  };
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    const std::size_t colon = item.find(':');
    if (colon == std::string::npos) throw bad("each stage is length:steps, got '" + item + "'");
    const auto integer = [&](const std::string& digits) {
      const auto value = hyena::cli::parse_integer<index_t>(digits);
      if (!value || *value == 0) throw bad("'" + digits + "' is not a positive integer");
      return *value;
    };
    const curriculum_stage stage{integer(item.substr(0, colon)), integer(item.substr(colon + 1))};
    if (stage.length < 4 || stage.length % 2 || stage.length > max_length)
      throw bad("a stage's length must be even, from 4 up to --length (" + std::to_string(max_length) + "), got " +
                std::to_string(stage.length));
    stages.push_back(stage);
    begin = end + 1;
  }
  return stages;
}

struct run_options {
  index_t length, vocab, batch, steps, warmup, eval_sequences, eval_every;
  double lr, clip, until_accuracy, require_loss_ratio;
  std::uint64_t seed;
  std::string loss_curve, plot, checkpoint, resume;
  std::vector<curriculum_stage> curriculum;

  /// The sequence length of training step `step` (0-based): the curriculum's
  /// stages in turn, then --length.
  index_t length_at(index_t step) const {
    for (const auto& stage : curriculum) {
      if (step < stage.steps) return stage.length;
      step -= stage.steps;
    }
    return length;
  }
};

void write_plot(const std::string& curve, const std::string& png, const run_options& o) {
  const std::string script_path = png + ".gnuplot";
  {
    std::ofstream script(script_path);
    script << "set terminal pngcairo size 900,540\n"
           << "set output '" << png << "'\n"
           << "set title 'hyena-train-recall: associative recall, vocabulary " << o.vocab << ", length " << o.length
           << "'\n"
           << "set xlabel 'step'\nset ylabel 'training loss (cross-entropy, nats)'\nset logscale y\n"
           << "set y2label 'held-out accuracy'\nset y2range [0:1]\nset y2tics\nset ytics nomirror\n"
           << "set key bottom left opaque box\nset grid\n";
    // A dashed line where each curriculum stage ends, labelled with the length
    // that follows; the labels step down so that close stages' do not overlap.
    index_t boundary = 0;
    for (std::size_t i = 0; i < o.curriculum.size(); ++i) {
      boundary += o.curriculum[i].steps;
      const index_t next = i + 1 < o.curriculum.size() ? o.curriculum[i + 1].length : o.length;
      script << "set arrow from " << boundary << ", graph 0 to " << boundary << ", graph 1 nohead dt 2 lc rgb '#808080'\n"
             << "set label 'length " << o.curriculum[i].length << " -> " << next << "' at " << boundary
             << ", graph " << 0.95 - 0.06 * double(i % 3) << " right offset -0.5,0 tc rgb '#606060'\n";
    }
    script
           << "plot '" << curve << "' index 0 using 1:2 with lines lc rgb '#b8b8e8' title 'training loss per step', \\\n"
           << "     '' index 0 using 1:2 smooth bezier lw 2 lc rgb '#3030a0' title 'training loss, smoothed', \\\n"
           << "     '' index 1 using 1:2 axes x1y2 with linespoints lw 2 lc rgb '#d06000' title 'held-out accuracy'\n";
    if (!script) throw std::runtime_error("cannot write " + script_path);
  }
  if (std::system(("gnuplot '" + script_path + "'").c_str()) != 0)
    throw std::runtime_error("gnuplot failed on " + script_path + " (is gnuplot installed?)");
}

template <class T>
void train(const hyena::cli::args& a, const run_options& o) {
  using clock = std::chrono::steady_clock;
  const auto execution = a.threads();
  hyena::hyena_lm_architecture arch;
  arch.n_layer = a.integer<index_t>("--layers", 2, 1, 64);
  arch.d_model = a.integer<index_t>("--d-model", 64, 1, 1 << 14);
  arch.d_inner = a.integer<index_t>("--d-inner", 2 * arch.d_model, 1, 1 << 16);
  arch.padded_vocab_size = o.vocab;
  arch.mixer.max_length = o.length;
  arch.mixer.filter_width = a.integer<index_t>("--filter-width", 64, 1, 1 << 12);
  arch.mixer.emb_dim = a.integer<index_t>("--emb-dim", 5, 3, 1 << 12);
  arch.mixer.inner_layers = 2;
  arch.mixer.sine_frequency = a.number("--sine-frequency", 1.0);
  arch.embedding_stddev = a.number("--embedding-stddev", 1.0, 1e-6);
  // The decay window's initial rates (the reference's closed form; the
  // checkpoint stores the rates, so hyena-lm needs neither flag) and whether
  // they train (the reference keeps them fixed: modulation_lr 0).
  arch.mixer.modulation.fast_decay_pct = a.number("--fast-decay", 0.3, 1e-6);
  arch.mixer.modulation.slow_decay_pct = a.number("--slow-decay", 1.5, 1e-6);
  hyena::hyena_trainable trainable;
  trainable.deltas = a.has("--train-decay");

  hyena::hyena_lm_weights<T> weights;
  hyena::adamw_options adam;
  // No weight decay by default: it shrinks the gates' products toward zero,
  // and recall needs them sharp (length 1024, d_model 128: 93% held out
  // after 6,000 steps without, 77% with AdamW's usual 0.1).
  adam.weight_decay = a.number("--weight-decay", 0.0, 0.0);
  hyena::adamw<T> optimizer(adam);
  if (!o.resume.empty()) {
    const auto file = hyena::safetensors_file::load(o.resume);
    weights = hyena::load_hyena_lm_weights<T>(file);
    auto grads = hyena::zero_gradients(hyena::hyena_lm<T>(weights));
    optimizer = hyena::load_adamw_state<T>(file, hyena::trainable_parameters(weights, grads, trainable));
    std::printf("resumed %s at step %zu\n", o.resume.c_str(), optimizer.steps());
  } else {
    weights = hyena::initial_hyena_lm_weights<T>(arch, o.seed);
  }

  // The training stream is replayed up to the resumed step, so a resumed run
  // sees the batches an uninterrupted one would.
  recall_task task(o.vocab, o.seed * 2 + 1), held_out_task(o.vocab, o.seed * 2 + 2);
  const recall_batch held_out = held_out_task.draw(o.eval_sequences, o.length);
  for (index_t s = 0; s < optimizer.steps(); ++s) task.draw(o.batch, o.length_at(s));

  std::ofstream curve_file;
  if (!o.loss_curve.empty()) {
    curve_file.open(o.loss_curve);
    if (!curve_file) throw std::runtime_error("cannot write " + o.loss_curve);
    curve_file << "# step loss learning_rate seconds length\n";
  }
  std::vector<std::pair<index_t, double>> evaluations;
  std::vector<double> losses;
  const auto start = clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
  auto evaluate = [&](index_t step) {
    hyena::hyena_lm<T> model(weights);
    model.set_execution(execution);
    // Inference only: larger batches than training keep the GEMMs efficient.
    const double accuracy = recall_accuracy(model, held_out, o.length, std::max<index_t>(o.batch, 16));
    evaluations.emplace_back(step, accuracy);
    std::printf("step %5zu  loss %.4f  held-out accuracy %6.2f%%  %.0f s\n", step,
                losses.empty() ? 0.0 : losses.back(), 100 * accuracy, seconds());
    std::fflush(stdout);
    if (!o.checkpoint.empty()) hyena::save_training_checkpoint(o.checkpoint, weights, optimizer);
    return accuracy;
  };

  std::printf("associative recall: vocabulary %zu, length %zu, %zu layers, d_model %zu, batch %zu, %s, %u threads\n",
              o.vocab, o.length, weights.layers.size(), weights.d_model, o.batch,
              sizeof(T) == 4 ? "float" : "double", execution.threads());
  double accuracy = -1;
  for (index_t step = optimizer.steps(); step < o.steps; ++step) {
    const index_t length = o.length_at(step);
    const recall_batch batch = task.draw(o.batch, length);
    hyena::hyena_lm<T> model(weights);
    model.set_execution(execution);
    auto grads = hyena::zero_gradients(model);
    const double loss = hyena::hyena_lm_loss_and_gradients<T>(model, o.batch, length, batch.ids, batch.targets, grads);
    auto parameters = hyena::trainable_parameters(weights, grads, trainable);
    hyena::clip_gradient_norm(parameters, o.clip);
    const double lr = hyena::warmup_cosine_learning_rate(step, o.warmup, o.steps, o.lr, 0.1 * o.lr);
    optimizer.step(parameters, lr);
    losses.push_back(loss);
    if (curve_file.is_open()) curve_file << step + 1 << ' ' << loss << ' ' << lr << ' ' << seconds() << ' ' << length << '\n';
    if ((step + 1) % o.eval_every == 0 || step + 1 == o.steps) {
      accuracy = evaluate(step + 1);
      if (o.until_accuracy > 0 && accuracy >= o.until_accuracy) break;
    }
  }
  if (accuracy < 0) accuracy = evaluate(optimizer.steps());
  if (curve_file.is_open()) {
    curve_file << "\n\n# step held_out_accuracy\n";
    for (const auto& [step, acc] : evaluations) curve_file << step << ' ' << acc << '\n';
    curve_file.close();
    if (!curve_file) throw std::runtime_error("cannot write " + o.loss_curve);
  }
  std::printf("held-out accuracy %.2f%% (%zu sequences) after %zu steps, %.0f s\n", 100 * accuracy,
              o.eval_sequences, optimizer.steps(), seconds());
  if (!o.plot.empty()) write_plot(o.loss_curve, o.plot, o);

  if (o.require_loss_ratio > 0) {
    const index_t window = std::max<index_t>(1, losses.size() / 10);
    if (losses.size() < 2 * window) throw std::runtime_error("--require-loss-ratio needs at least 2 steps");
    const double first = std::accumulate(losses.begin(), losses.begin() + window, 0.0) / double(window);
    const double last = std::accumulate(losses.end() - window, losses.end(), 0.0) / double(window);
    std::printf("mean loss: first %zu steps %.4f, last %zu steps %.4f (ratio %.3f)\n", window, first, window, last,
                last / first);
    if (!(last < o.require_loss_ratio * first))
      throw std::runtime_error("the loss did not fall enough: last/first = " + std::to_string(last / first) +
                               ", required below " + std::to_string(o.require_loss_ratio));
  }
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // Every step builds the model and its buffers anew (the weights changed).
  // glibc would return those megabytes to the kernel at each step's end and
  // fault them in again at the next (13% of a step, perf): keep them.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  return hyena::cli::run_tool(argc, argv, tool, [](const hyena::cli::args& a, auto precision) {
    run_options o;
    o.length = a.integer<index_t>("--length", 1024, 4, index_t(1) << 24);
    if (o.length % 2) throw hyena::cli::usage_error("--length must be even (pairs, a query, its answer)");
    o.vocab = a.integer<index_t>("--vocab", 30, 4, 1 << 20);
    o.batch = a.integer<index_t>("--batch", 16, 1, 1 << 20);
    o.steps = a.integer<index_t>("--steps", 2000, 1, index_t(1) << 40);
    o.warmup = a.integer<index_t>("--warmup", 50, 0, index_t(1) << 40);
    o.eval_sequences = a.integer<index_t>("--eval-sequences", 1000, 1, 1 << 24);
    o.eval_every = a.integer<index_t>("--eval-every", 100, 1, index_t(1) << 40);
    o.lr = a.number("--lr", 2e-3, 0.0);
    o.clip = a.number("--clip", 1.0, 1e-12);
    o.until_accuracy = a.number("--until-accuracy", 0.0, 0.0);
    o.require_loss_ratio = a.number("--require-loss-ratio", 0.0, 0.0);
    o.seed = a.integer<std::uint64_t>("--seed", 1);
    o.curriculum = parse_curriculum(a.get("--curriculum", ""), o.length);
    o.loss_curve = a.get("--loss-curve", "");
    o.plot = a.get("--plot", "");
    o.checkpoint = a.get("--checkpoint", "");
    o.resume = a.get("--resume", "");
    if (!o.plot.empty() && o.loss_curve.empty()) throw hyena::cli::usage_error("--plot needs --loss-curve");
    train<decltype(precision)>(a, o);
  });
}
