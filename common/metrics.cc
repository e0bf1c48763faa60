#include "common/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace tds::metrics {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

bool ValidName(const std::string& name, bool label) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  // Label names starting with __ are reserved; "le" is the histogram's own.
  return !label || (name.rfind("__", 0) != 0 && name != "le");
}

// HELP text: backslash and newline escaped.
std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} with `extra` (already formatted, e.g. le="0.5") last; "" when empty.
std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "{" : ",") + extra;
  if (!out.empty()) out += "}";
  return out;
}

void Sample(std::string* out, const std::string& name, const std::string& labels, double v) {
  *out += name;
  *out += labels;
  *out += ' ';
  *out += FormatValue(v);
  *out += '\n';
}

void RenderHistogram(std::string* out, const std::string& name,
                     const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const Histogram& h) {
  const std::vector<uint64_t> counts = h.counts();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < h.bounds().size() ? FormatValue(h.bounds()[i]) : std::string("+Inf");
    Sample(out, name + "_bucket", Labels(names, values, "le=\"" + le + "\""),
           static_cast<double>(cumulative));
  }
  Sample(out, name + "_sum", Labels(names, values), h.sum());
  Sample(out, name + "_count", Labels(names, values), static_cast<double>(cumulative));
}

std::vector<double> CheckedBounds(std::vector<double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      Die("histogram bucket bounds must be finite and strictly increasing");
    }
  }
  return bounds;
}

}  // namespace

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    // The shortest of 15..17 digits that reads back exactly: 0.1 stays "0.1".
    for (int digits = 15; digits <= 17; ++digits) {
      std::snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
  }
  return buf;
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(CheckedBounds(std::move(bounds))),
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;  // few buckets: a scan beats a search
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double b = start;
  for (int i = 0; i < count; ++i, b *= factor) out.push_back(b);
  return out;
}

struct Registry::Entry {
  std::string name;
  std::string help;
  const char* type;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Histogram>> histograms;
  std::function<double()> read;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::Register(const std::string& name, const std::string& help,
                                    const char* type) {
  if (!ValidName(name, false)) Die("invalid metric name '" + name + "'");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& e : entries_) {
    if (e->name == name) Die("metric '" + name + "' registered twice");
  }
  auto entry = std::make_unique<Entry>();
  entry->name = name;
  entry->help = help;
  entry->type = type;
  entries_.push_back(std::move(entry));
  return *entries_.back();
}

Counter& Registry::AddCounter(const std::string& name, const std::string& help) {
  Entry& e = Register(name, help, "counter");
  e.counter = std::make_unique<Counter>();
  return *e.counter;
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help) {
  Entry& e = Register(name, help, "gauge");
  e.gauge = std::make_unique<Gauge>();
  return *e.gauge;
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds) {
  auto h = std::make_unique<Histogram>(std::move(bounds));
  Entry& e = Register(name, help, "histogram");
  e.histogram = std::move(h);
  return *e.histogram;
}

namespace {
void CheckLabels(const std::vector<std::string>& labels) {
  for (const std::string& l : labels) {
    if (!ValidName(l, true)) Die("invalid label name '" + l + "'");
  }
}
}  // namespace

Family<Counter>& Registry::AddCounterFamily(const std::string& name, const std::string& help,
                                            std::vector<std::string> labels) {
  CheckLabels(labels);
  Entry& e = Register(name, help, "counter");
  e.counters.reset(
      new Family<Counter>(std::move(labels), [] { return std::make_unique<Counter>(); }));
  return *e.counters;
}

Family<Histogram>& Registry::AddHistogramFamily(const std::string& name, const std::string& help,
                                                std::vector<std::string> labels,
                                                std::vector<double> bounds) {
  CheckLabels(labels);
  auto shared = std::make_shared<const std::vector<double>>(CheckedBounds(std::move(bounds)));
  Entry& e = Register(name, help, "histogram");
  e.histograms.reset(new Family<Histogram>(
      std::move(labels), [shared] { return std::make_unique<Histogram>(*shared); }));
  return *e.histograms;
}

void Registry::AddCallback(const std::string& name, const std::string& help, bool counter,
                           std::function<double()> read) {
  Entry& e = Register(name, help, counter ? "counter" : "gauge");
  e.read = std::move(read);
}

void Registry::Render(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& e : entries_) {
    *out += "# HELP " + e->name + " " + EscapeHelp(e->help) + "\n";
    *out += "# TYPE " + e->name + " " + e->type + "\n";
    if (e->counter) {
      Sample(out, e->name, "", static_cast<double>(e->counter->value()));
    } else if (e->gauge) {
      Sample(out, e->name, "", e->gauge->value());
    } else if (e->histogram) {
      RenderHistogram(out, e->name, {}, {}, *e->histogram);
    } else if (e->counters) {
      e->counters->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
        Sample(out, e->name, Labels(e->counters->label_names(), values),
               static_cast<double>(c.value()));
      });
    } else if (e->histograms) {
      e->histograms->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
        RenderHistogram(out, e->name, e->histograms->label_names(), values, h);
      });
    } else if (e->read) {
      Sample(out, e->name, "", e->read());
    }
  }
}

Registry& Global() {
  static Registry* registry = new Registry;  // never destroyed: runs may end during exit
  return *registry;
}

}  // namespace tds::metrics
