// compare_tensors A.safetensors NAME_A B.safetensors NAME_B TOLERANCE
// Exits 0 when the tensors have the same shape and relative L2 error <= TOLERANCE.
// Used by the CLI tests to check tools' output files against the reference dumps.
#include <hyena/io/safetensors_reader.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "../support/numerics.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: compare_tensors A NAME_A B NAME_B TOLERANCE\n");
    return 2;
  }
  try {
    const auto a = hyena::safetensors_file::load(argv[1]);
    const auto b = hyena::safetensors_file::load(argv[3]);
    const auto& shape = b.info(argv[4]).shape;
    const auto actual = a.read<double>(argv[2], shape);
    const auto expected = b.read<double>(argv[4]);
    const double err = hyena::test::relative_l2_error(actual, expected);
    const double tol = std::atof(argv[5]);
    std::printf("%s:%s vs %s:%s relative L2 error %.3g (tolerance %.3g)\n", argv[1], argv[2], argv[3], argv[4], err,
                tol);
    return err <= tol ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_tensors: %s\n", e.what());
    return 1;
  }
}
