// hyena-forward: run one Hyena operator, loaded from PyTorch weights, on an input tensor.
//
//   hyena-forward --weights params.safetensors --input in.safetensors [--input-name input]
//                 --output out.safetensors [--layout blocked|interleaved] [--shift X]
//                 [--no-modulate] [--double] [--prefix P] [--threads N] [--stream [--prefill P]]
//                 [--grad-output NAME]
//
// The input is [B, L, D] (any float dtype); the output, written under the name
// "output", is [B, L, D] in float32 (float64 with --double). --stream runs the
// operator through its decoder: the first P positions (default 0) by prefill,
// then one position at a time; the output is the same tensor to rounding.
// --grad-output NAME reads an upstream gradient dLoss/d output of the
// output's shape from the input file and also writes the gradients, in
// PyTorch's names: "grad_input", and "grad.<key>" for every state_dict key
// the training code may train (the tied sine frequency under each of its
// keys, each with the shared parameter's whole gradient, as PyTorch reports
// it; z and the decay rates too; not the buffer t). Any problem is
// reported as one line on stderr; exit status 1 for bad input, 2 for bad usage
// (cli.hpp).
#include <hyena/io/operator_weights.hpp>
#include <hyena/io/safetensors_reader.hpp>
#include <hyena/io/safetensors_writer.hpp>
#include <hyena/operator/hyena_operator.hpp>
#include <hyena/operator/hyena_operator_backward.hpp>
#include <hyena/operator/state_dict.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "streaming.hpp"

namespace {

const hyena::cli::tool tool{
    "hyena-forward",
    "usage: hyena-forward --weights params.safetensors --input in.safetensors [--input-name input]\n"
    "                     --output out.safetensors [--layout blocked|interleaved] [--shift X]\n"
    "                     [--no-modulate] [--double] [--prefix P] [--threads N] [--stream [--prefill P]]\n"
    "                     [--grad-output NAME]\n"
    "  --stream       decode one position at a time (after --prefill P positions at once, default 0)\n"
    "  --grad-output  also write grad_input and grad.<key> for the upstream gradient NAME in the input file\n",
    {"--weights", "--input", "--input-name", "--output", "--layout", "--shift", "--prefix", "--threads", "--prefill",
     "--grad-output"},
    {"--no-modulate", "--stream"}};

// The operator's output through its decoder: `prefill` positions at once,
// then one at a time.
template <class T>
std::vector<T> decode(const hyena::hyena_operator<T>& op, hyena::index_t batch, hyena::index_t length,
                      const std::vector<T>& u, hyena::index_t prefill) {
  using hyena::cli::time_slice;
  using hyena::cli::time_store;
  if (prefill > length)
    throw std::invalid_argument("--prefill " + std::to_string(prefill) + " exceeds the input's length " +
                                std::to_string(length));
  const hyena::index_t D = op.d_model();
  auto state = op.make_state(batch, length);
  std::vector<T> out(u.size()), head_out(batch * prefill * D), y(batch * D);
  op.prefill(state, prefill, time_slice(u, batch, length, D, 0, prefill), head_out);
  time_store(out, batch, length, D, 0, prefill, head_out);
  for (hyena::index_t t = prefill; t < length; ++t) {
    op.step(state, time_slice(u, batch, length, D, t, t + 1), y);
    time_store(out, batch, length, D, t, t + 1, y);
  }
  return out;
}

// grad_input and grad.<key> for the upstream gradient `grad_name` (see the top).
template <class T>
void write_gradients(const hyena::hyena_operator<T>& op, const hyena::safetensors_file& inputs,
                     const std::string& grad_name, const std::vector<T>& u, hyena::index_t batch,
                     hyena::index_t length, hyena::safetensors_writer& writer) {
  const hyena::index_t D = op.d_model();
  const std::vector<hyena::index_t> shape{batch, length, D};
  if (inputs.info(grad_name).shape != shape)
    throw std::invalid_argument("upstream gradient \"" + grad_name + "\" has shape " +
                                hyena::detail::format_shape(inputs.info(grad_name).shape) +
                                ", expected the output's " + hyena::detail::format_shape(shape));
  const auto dout = inputs.read<T>(grad_name);
  std::vector<T> du(u.size());
  auto grads = hyena::zero_gradients(op.weights());
  hyena::hyena_backward<T>(op, batch, length, u, dout, du, grads);
  writer.add("grad_input", shape, hyena::span<const T>(du.data(), du.size()));
  const auto extents = hyena::hyena_extents::of(op.weights());
  const auto R = op.weights().filter.inner_layers();
  for (const auto& key : hyena::hyena_state_dict_keys(R)) {
    if (key.parameter == hyena::hyena_parameter::positions_t) continue;  // a buffer
    const std::vector<T>& g = hyena::hyena_parameter_of(grads, key);
    const auto key_shape = hyena::resolve_shape(key.shape, extents);
    if (key.parameter == hyena::hyena_parameter::frequency) {
      for (const auto& slot : hyena::hyena_frequency_slots(R))
        writer.add("grad." + slot, key_shape, hyena::span<const T>(g.data(), g.size()));
    } else {
      writer.add("grad." + key.name, key_shape, hyena::span<const T>(g.data(), g.size()));
    }
  }
}

template <class T>
void run(const hyena::cli::args& args) {
  // Every option first, so usage errors come before any file is read.
  hyena::hyena_options options;
  const std::string layout = args.get("--layout", "blocked");
  const auto parsed_layout = hyena::parse_filter_layout(layout);
  if (!parsed_layout) throw hyena::cli::usage_error("--layout must be blocked or interleaved, got '" + layout + "'");
  options.layout = *parsed_layout;
  options.modulation.shift = args.number("--shift", 0.0);
  options.modulation.modulate = !args.has("--no-modulate");
  const auto execution = args.threads();
  const bool stream = args.has("--stream");
  if (args.has("--prefill") && !stream) throw hyena::cli::usage_error("--prefill needs --stream");
  const auto prefill = args.integer<hyena::index_t>("--prefill", 0);
  const bool gradients = args.has("--grad-output");
  if (gradients && stream) throw hyena::cli::usage_error("--grad-output does not combine with --stream");
  const std::string weights_path = args.get("--weights"), input_path = args.get("--input"),
                    output_path = args.get("--output"), name = args.get("--input-name", "input");

  const auto weights = hyena::safetensors_file::load(weights_path);
  hyena::hyena_operator<T> op(hyena::load_hyena_weights<T>(weights, args.get("--prefix", "")), options);
  op.set_execution(execution);

  // The file's shape says which numbers are batch and length; the operator
  // itself rejects an empty input and one longer than its max_length.
  const auto inputs = hyena::safetensors_file::load(input_path);
  const auto& shape = inputs.info(name).shape;
  if (shape.size() != 3 || shape[2] != op.d_model())
    throw std::invalid_argument("input \"" + name + "\" has shape " + hyena::detail::format_shape(shape) +
                                ", expected [batch, length, " + std::to_string(op.d_model()) + "]");
  const hyena::index_t batch = shape[0], length = shape[1];
  const auto out = stream ? decode(op, batch, length, inputs.read<T>(name), prefill)
                          : op.forward(batch, length, inputs.read<T>(name));

  hyena::safetensors_writer writer;
  writer.add("output", {batch, length, op.d_model()}, hyena::span<const T>(out.data(), out.size()));
  if (gradients) write_gradients(op, inputs, args.get("--grad-output"), inputs.read<T>(name), batch, length, writer);
  writer.save(output_path);
}

}  // namespace

int main(int argc, char** argv) {
  return hyena::cli::run_tool(argc, argv, tool, [](const hyena::cli::args& args, auto precision) {
    run<decltype(precision)>(args);
  });
}
