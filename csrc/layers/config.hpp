// A layer's options as the estimators send them: name -> value, read by the
// layer's factory. Every option must be read: one left over is an error
// naming it, so a misspelt or unsupported option never passes silently.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "../core/types.hpp"

namespace nc {

class LayerConfig {
 public:
  using Value = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>>;

  std::string type;  // the registry's name of the layer

  void set(const std::string& key, Value v) { values_[key] = std::move(v); }
  bool has(const std::string& key) const { return values_.count(key) > 0; }

  double number(const std::string& key, double fallback) {
    const Value* v = find(key);
    if (!v) return fallback;
    if (auto d = std::get_if<double>(v)) return *d;
    if (auto i = std::get_if<int64_t>(v)) return double(*i);
    throw bad(key, "a number");
  }
  int64_t integer(const std::string& key, int64_t fallback) {
    const Value* v = find(key);
    if (!v) return fallback;
    if (auto i = std::get_if<int64_t>(v)) return *i;
    throw bad(key, "an integer");
  }
  bool flag(const std::string& key, bool fallback) {
    const Value* v = find(key);
    if (!v) return fallback;
    if (auto b = std::get_if<bool>(v)) return *b;
    throw bad(key, "True or False");
  }
  std::string text(const std::string& key, const std::string& fallback) {
    const Value* v = find(key);
    if (!v) return fallback;
    if (auto s = std::get_if<std::string>(v)) return *s;
    throw bad(key, "a string");
  }
  std::vector<int64_t> ints(const std::string& key, std::vector<int64_t> fallback) {
    const Value* v = find(key);
    if (!v) return fallback;
    if (auto s = std::get_if<std::vector<int64_t>>(v)) return *s;
    if (auto i = std::get_if<int64_t>(v)) return {*i};
    throw bad(key, "a tuple of integers");
  }

  // The activation options every activating layer takes.
  ActSpec activation() {
    ActSpec a;
    a.kind = parse_activation(text("activation", "linear"));
    a.alpha = number("alpha", 0.0);
    a.max_value = number("max_value", std::numeric_limits<double>::infinity());
    a.threshold = number("threshold", 0.0);
    a.approximate = flag("approximate", false);
    return a;
  }

  // After the factory: any option it did not read is unknown to this layer.
  void check_all_read() const {
    for (const auto& kv : values_)
      if (!read_.count(kv.first))
        throw std::invalid_argument("unknown option '" + kv.first + "' for layer '" + type + "'");
  }

 private:
  const Value* find(const std::string& key) {
    read_.insert(key);
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }
  std::invalid_argument bad(const std::string& key, const char* want) const {
    return std::invalid_argument("option '" + key + "' of layer '" + type + "' must be " + want);
  }
  std::map<std::string, Value> values_;
  std::set<std::string> read_;
};

}  // namespace nc
