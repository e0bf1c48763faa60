#pragma once
// Prometheus metrics: counters, gauges and fixed-bucket histograms, rendered in the text
// exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Hot paths pay one or two relaxed atomic adds: a metric is looked up once (registration, or
// Family::With for a labelled child, which takes a mutex) and the caller keeps the reference,
// which stays valid for the registry's lifetime. Rendering reads the atomics without stopping
// writers, so a scrape may see a histogram's buckets a few observations apart; its _count is
// always the +Inf bucket it rendered.
//
// Names follow Prometheus conventions: [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in _total,
// units in the name (_seconds, _bytes). Registering an invalid or duplicate name, or a
// histogram whose bounds do not increase, is a programming error: it aborts (CHECK-style),
// since every registration is a literal in the code.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tds::metrics {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the buckets' inclusive upper bounds, strictly increasing; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts, the last one for +Inf; and the sum of observations.
  std::vector<uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Bucket bounds start, start*factor, ... (count of them).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// One metric name with label names; a child per distinct label values.
template <typename T>
class Family {
 public:
  // The child for `values` (one per label name, same order), created on first use. Takes a
  // mutex: keep the reference on hot paths. REQUIRES: values.size() == label count.
  // Label values may come from requests: past kMaxChildren distinct ones, new values all share
  // one child labelled kOverflow, so a client cannot grow the page without bound.
  T& With(const std::vector<std::string>& values);
  static constexpr size_t kMaxChildren = 256;
  static constexpr char kOverflow[] = "_other";

  const std::vector<std::string>& label_names() const { return labels_; }
  // Visits the children in label-value order.
  void ForEach(const std::function<void(const std::vector<std::string>&, const T&)>& f) const;

 private:
  friend class Registry;
  Family(std::vector<std::string> labels, std::function<std::unique_ptr<T>()> make)
      : labels_(std::move(labels)), make_(std::move(make)) {}

  const std::vector<std::string> labels_;
  const std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // guarded by mu_
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& AddCounter(const std::string& name, const std::string& help);
  Gauge& AddGauge(const std::string& name, const std::string& help);
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds);
  Family<Counter>& AddCounterFamily(const std::string& name, const std::string& help,
                                    std::vector<std::string> labels);
  Family<Histogram>& AddHistogramFamily(const std::string& name, const std::string& help,
                                        std::vector<std::string> labels,
                                        std::vector<double> bounds);
  // A value read at each scrape (a gauge, or a counter when `counter`): the caller's state,
  // such as a ledger's height. `read` must stay callable while the registry renders; it runs
  // on the scraping thread.
  void AddCallback(const std::string& name, const std::string& help, bool counter,
                   std::function<double()> read);

  // Appends every metric, in registration order, in text format 0.0.4.
  void Render(std::string* out) const;

 private:
  struct Entry;
  Entry& Register(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // guarded by mu_
};

// The process's registry, for code with no server to hand one to (the gateway's runs).
Registry& Global();

// Formats a sample value as Prometheus does: integers without a fraction, +Inf, -Inf, NaN.
std::string FormatValue(double v);
// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& v);

// ---- implementation -------------------------------------------------------------------------

template <typename T>
T& Family<T>::With(const std::vector<std::string>& values) {
  if (values.size() != labels_.size()) {
    std::fprintf(stderr, "metrics: %zu label values for %zu label names\n", values.size(),
                 labels_.size());
    std::abort();
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) {
    const bool full = children_.size() >= kMaxChildren;
    it = children_.try_emplace(full ? std::vector<std::string>(values.size(), kOverflow) : values)
             .first;
    if (it->second == nullptr) it->second = make_();
  }
  return *it->second;
}

template <typename T>
void Family<T>::ForEach(
    const std::function<void(const std::vector<std::string>&, const T&)>& f) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, child] : children_) f(values, *child);
}

}  // namespace tds::metrics
