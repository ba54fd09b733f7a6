// hyena-forward: run one Hyena operator, loaded from PyTorch weights, on an input tensor.
//
//   hyena-forward --weights params.safetensors --input in.safetensors [--input-name input]
//                 --output out.safetensors [--layout blocked|interleaved] [--shift X]
//                 [--no-modulate] [--double] [--prefix P] [--threads N]
//
// The input is [B, L, D] (any float dtype); the output, written under the name
// "output", is [B, L, D] in float32 (float64 with --double). Any problem is
// reported as one line on stderr with a non-zero exit status.
#include <hyena/hyena_loader.hpp>
#include <hyena/hyena_operator.hpp>
#include <hyena/safetensors.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli_args.hpp"

namespace {

constexpr const char* usage =
    "usage: hyena-forward --weights params.safetensors --input in.safetensors [--input-name input]\n"
    "                     --output out.safetensors [--layout blocked|interleaved] [--shift X]\n"
    "                     [--no-modulate] [--double] [--prefix P] [--threads N]\n";

template <class T>
void run(const hyena::cli::args& args) {
  hyena::hyena_options options;
  const std::string layout = args.get("--layout", "blocked");
  if (layout == "blocked") {
    options.layout = hyena::filter_layout::blocked;
  } else if (layout == "interleaved") {
    options.layout = hyena::filter_layout::interleaved;
  } else {
    throw hyena::cli::usage_error("--layout must be blocked or interleaved, got '" + layout + "'");
  }
  options.modulation.shift = args.number("--shift", 0.0);
  options.modulation.modulate = !args.has("--no-modulate");
  const long threads = args.integer("--threads", 0);
  if (threads < 0) throw hyena::cli::usage_error("--threads must be >= 0");
  options.threads = static_cast<unsigned>(threads);

  const auto weights = hyena::safetensors_file::load(args.get("--weights"));
  const hyena::hyena_operator<T> op(hyena::load_hyena_weights<T>(weights, args.get("--prefix", "")), options);

  const auto inputs = hyena::safetensors_file::load(args.get("--input"));
  const std::string name = args.get("--input-name", "input");
  const auto& info = inputs.info(name);
  if (info.shape.size() != 3 || info.shape[2] != op.d_model())
    throw std::invalid_argument("input \"" + name + "\" has shape " + hyena::detail::format_shape(info.shape) +
                                ", expected [batch, length, " + std::to_string(op.d_model()) + "]");
  const hyena::index_t batch = info.shape[0], length = info.shape[1];
  if (batch == 0 || length == 0)
    throw std::invalid_argument("input \"" + name + "\" is empty: shape " + hyena::detail::format_shape(info.shape));
  if (length > op.max_length())
    throw std::invalid_argument("input length " + std::to_string(length) + " exceeds the weights' max_length " +
                                std::to_string(op.max_length()) + " (the reference would truncate silently)");
  const auto u = inputs.read<T>(name);
  const auto out = op.forward(batch, length, u);

  hyena::safetensors_writer writer;
  writer.add("output", {batch, length, op.d_model()}, hyena::span<const T>(out.data(), out.size()));
  writer.save(args.get("--output"));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const hyena::cli::args args(argc, argv,
                                {"--weights", "--input", "--input-name", "--output", "--layout", "--shift", "--prefix",
                                 "--threads"},
                                {"--no-modulate", "--double", "--help"});
    if (args.has("--help")) {
      std::fputs(usage, stdout);
      return 0;
    }
    if (args.has("--double")) {
      run<double>(args);
    } else {
      run<float>(args);
    }
    return 0;
  } catch (const hyena::cli::usage_error& e) {
    std::fprintf(stderr, "hyena-forward: %s (see --help)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hyena-forward: %s\n", e.what());
    return 1;
  }
}
