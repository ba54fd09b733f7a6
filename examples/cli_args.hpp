// A small command-line parser shared by hyena's tools: --name value and
// --flag options, every problem reported as one line by the caller.
#pragma once

#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace hyena::cli {

/// Thrown for bad usage; tools print "<tool>: <what>" and exit with 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class args {
 public:
  /// `valued`: options that take a value; `flags`: options that do not.
  args(int argc, char** argv, std::set<std::string> valued, std::set<std::string> flags) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (valued.count(a)) {
        if (i + 1 >= argc) throw usage_error("option " + a + " needs a value");
        if (values_.count(a)) throw usage_error("option " + a + " given twice");
        values_[a] = argv[++i];
      } else if (flags.count(a)) {
        flags_.insert(a);
      } else {
        throw usage_error("unknown argument '" + a + "'");
      }
    }
  }

  bool has(const std::string& name) const { return values_.count(name) || flags_.count(name); }
  std::string get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw usage_error("missing required option " + name);
    return it->second;
  }
  std::string get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  double number(const std::string& name, double fallback) const {
    if (!values_.count(name)) return fallback;
    const std::string text = values_.at(name);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || v != v)
      throw usage_error("option " + name + " needs a number, got '" + text + "'");
    return v;
  }
  long integer(const std::string& name, long fallback) const {
    if (!values_.count(name)) return fallback;
    const std::string text = values_.at(name);
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size())
      throw usage_error("option " + name + " needs an integer, got '" + text + "'");
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace hyena::cli
