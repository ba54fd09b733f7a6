// The machine a table was measured on: the CPU's model name and the widest
// vector ISA it offers (tables from different machines must not be compared).
#pragma once

#include <fstream>
#include <string>

namespace hyena::bench {

/// "AMD EPYC 7B13, AVX-512" (model name and the widest of AVX-512F / AVX2 /
/// neither, from /proc/cpuinfo); "unknown CPU" where that file is missing.
inline std::string machine_description() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU", flags;
  while (std::getline(cpuinfo, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && model == "unknown CPU") model = value;
    if (key == "flags" && flags.empty()) flags = " " + value + " ";
  }
  const char* isa = flags.find(" avx512f ") != std::string::npos ? "AVX-512"
                    : flags.find(" avx2 ") != std::string::npos  ? "AVX2"
                                                                 : "no AVX2";
  return model + ", " + isa;
}

}  // namespace hyena::bench
