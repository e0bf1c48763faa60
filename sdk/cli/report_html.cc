#include "sdk/cli/report_html.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sdk/cli/output.h"

namespace tds::cli {
namespace {

// Chart geometry (SVG user units): the plot area sits inside these margins.
constexpr double kWidth = 720, kHeight = 260;
constexpr double kLeft = 56, kRight = 16, kTop = 28, kBottom = 70;

constexpr char kStyle[] =
    "body{font-family:sans-serif;margin:2em auto;max-width:60em;color:#222}"
    "h1{font-size:1.5em;border-bottom:2px solid #345}h2{font-size:1.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.8em}"
    "th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}"
    "th{white-space:nowrap}td.long{word-break:break-all;min-width:12em}"
    "th{background:#e8edf2}td.num{text-align:right}"
    "table.facts th{width:14em}"
    "svg.chart{display:block;margin:.5em 0;font-size:10px}"
    ".empty{color:#777;font-style:italic}"
    "@media "
    "print{body{margin:0;max-width:none}table{font-size:.6em}svg.chart{page-break-inside:avoid}}";

std::string Num(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.2f", v);
}

std::string Text(const ChartPoint& p) { return p.text.empty() ? Num(p.value) : p.text; }

// Whether a cell reads as a number (right-aligned): digits with an optional sign and point,
// possibly followed by a currency code ("12.50 CNY").
bool Numeric(std::string_view cell) {
  size_t i = 0;
  if (i < cell.size() && cell[i] == '-') ++i;
  const size_t start = i;
  while (i < cell.size() && ((cell[i] >= '0' && cell[i] <= '9') || cell[i] == '.')) ++i;
  if (i == start) return false;
  if (i == cell.size()) return true;
  if (cell[i] != ' ') return false;
  for (++i; i < cell.size(); ++i) {
    if (cell[i] < 'A' || cell[i] > 'Z') return false;
  }
  return true;
}

// The chart's frame: the <svg> opening, the title and the y axis scaled to the points' largest
// value; returns the markup ("no data" when there are no points) and sets *scale (units per
// value) and *slot (the width each point gets). The axis is numbered only when
// the points show their plain values: a point with its own text (money in major units) would
// contradict an axis in raw values.
std::string ChartFrame(std::string_view title, const std::vector<ChartPoint>& points, double* scale,
                       double* slot) {
  double max = 0;
  bool plain = true;
  for (const ChartPoint& p : points) {
    max = std::max(max, p.value);
    plain &= p.text.empty();
  }
  const double plot_h = kHeight - kTop - kBottom;
  *scale = max > 0 ? plot_h / max : 0;
  std::string svg = absl::StrFormat(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">"
      "<text x=\"%.0f\" y=\"16\" font-size=\"13\" font-weight=\"bold\">%s</text>",
      kWidth, kHeight, kWidth, kHeight, HtmlEscape(title), kLeft, HtmlEscape(title));
  const double y0 = kHeight - kBottom;
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>"
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>",
                        kLeft, kTop, kLeft, y0, kLeft, y0, kWidth - kRight, y0);
  // Gridlines at max/2 and max (the half only when it is a whole number or max is not).
  for (int i = 1; i <= 2 && max > 0; ++i) {
    const double v = max * i / 2, y = y0 - v * *scale;
    if (i == 1 && Num(max) == absl::StrFormat("%.0f", max) &&
        Num(v) != absl::StrFormat("%.0f", v)) {
      continue;
    }
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>",
                          kLeft, y, kWidth - kRight, y);
    if (plain) {
      absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                            kLeft - 4, y + 3, Num(v));
    }
  }
  if (plain) {
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>",
                          kLeft - 4, y0 + 3);
  }
  if (points.empty()) {
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#777\">no data</text>",
                          kLeft + 10, kTop + 20);
  }
  *slot = points.empty() ? 0 : (kWidth - kLeft - kRight) / points.size();
  return svg;
}

// At most `max` code points of UTF-8 `text`, "…" marking a cut (never inside a character).
std::string Shorten(std::string_view text, size_t max) {
  size_t points = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (++points > max) return std::string(text.substr(0, i)) + "\u2026";
  }
  return std::string(text);
}

// The x-axis label of point i of n centred at x (rotated when crowded; long ones shortened,
// the tables carry them whole).
std::string AxisLabel(std::string_view full, double x, size_t n) {
  const std::string label = Shorten(full, n <= 4 ? 40 : 16);
  const double y = kHeight - kBottom + 14;
  if (n <= 10) {
    return absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", x, y,
                           HtmlEscape(label));
  }
  return absl::StrFormat(
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" transform=\"rotate(-45 %.1f %.1f)\">%s"
      "</text>",
      x, y, x, y, HtmlEscape(label));
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string ReportTable::ToCsv() const {
  std::string out;
  auto line = [&out](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      out += CsvField(cells[i]);
    }
    out += '\n';
  };
  line(columns);
  for (const std::vector<std::string>& row : rows) line(row);
  return out;
}

HtmlReport::HtmlReport(std::string_view title) : title_(title) {}

void HtmlReport::Heading(std::string_view text) {
  absl::StrAppend(&body_, "<h2>", HtmlEscape(text), "</h2>\n");
}

void HtmlReport::Paragraph(std::string_view text) {
  absl::StrAppend(&body_, "<p>", HtmlEscape(text), "</p>\n");
}

void HtmlReport::Facts(const std::vector<std::pair<std::string, std::string>>& facts) {
  body_ += "<table class=\"facts\">\n";
  for (const auto& [name, value] : facts) {
    absl::StrAppend(&body_, "<tr><th>", HtmlEscape(name), "</th><td>", HtmlEscape(value),
                    "</td></tr>\n");
  }
  body_ += "</table>\n";
}

void HtmlReport::Table(const ReportTable& table, std::string_view empty_text) {
  if (table.rows.empty()) {
    absl::StrAppend(&body_, "<p class=\"empty\">", HtmlEscape(empty_text), "</p>\n");
    return;
  }
  body_ += "<table>\n<tr>";
  for (const std::string& c : table.columns)
    absl::StrAppend(&body_, "<th>", HtmlEscape(c), "</th>");
  body_ += "</tr>\n";
  for (const std::vector<std::string>& row : table.rows) {
    body_ += "<tr>";
    for (const std::string& cell : row) {
      // Long unbroken tokens (hashes, ids) may wrap anywhere so wide tables fit the page.
      const bool long_token = cell.size() > 24 && cell.find(' ') == std::string::npos;
      absl::StrAppend(&body_,
                      Numeric(cell) ? "<td class=\"num\">"
                      : long_token  ? "<td class=\"long\">"
                                    : "<td>",
                      HtmlEscape(cell), "</td>");
    }
    body_ += "</tr>\n";
  }
  body_ += "</table>\n";
}

void HtmlReport::BarChart(std::string_view title, const std::vector<ChartPoint>& points) {
  double scale = 0, slot = 0;
  std::string svg = ChartFrame(title, points, &scale, &slot);
  const double y0 = kHeight - kBottom;
  for (size_t i = 0; i < points.size(); ++i) {
    const double h = points[i].value * scale, x = kLeft + slot * i, w = slot * 0.7;
    const double cx = x + slot / 2;
    absl::StrAppendFormat(
        &svg,
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a78a8\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
        x + slot * 0.15, y0 - h, w, h, cx, y0 - h - 3, HtmlEscape(Text(points[i])));
    svg += AxisLabel(points[i].label, cx, points.size());
  }
  absl::StrAppend(&body_, svg, "</svg>\n");
}

void HtmlReport::LineChart(std::string_view title, const std::vector<ChartPoint>& points) {
  double scale = 0, slot = 0;
  std::string svg = ChartFrame(title, points, &scale, &slot);
  const double y0 = kHeight - kBottom;
  std::string path, dots;
  for (size_t i = 0; i < points.size(); ++i) {
    const double x = kLeft + slot * i + slot / 2, y = y0 - points[i].value * scale;
    absl::StrAppendFormat(&path, "%s%.1f,%.1f", i == 0 ? "" : " ", x, y);
    absl::StrAppendFormat(&dots,
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#c0504d\">"
                          "<title>%s: %s</title></circle>",
                          x, y, HtmlEscape(points[i].label), HtmlEscape(Text(points[i])));
    svg += AxisLabel(points[i].label, x, points.size());
    // Values beside the dots where they fit (few points, non-zero).
    if (points.size() <= 12 && points[i].value > 0) {
      absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                            x - 4, y - 5, HtmlEscape(Text(points[i])));
    }
  }
  if (!points.empty()) {
    absl::StrAppend(&svg, "<polyline fill=\"none\" stroke=\"#c0504d\" stroke-width=\"2\" points=\"",
                    path, "\"/>", dots);
  }
  absl::StrAppend(&body_, svg, "</svg>\n");
}

std::string HtmlReport::Finish() const {
  return absl::StrCat("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
                      "<title>", HtmlEscape(title_), "</title>\n<style>", kStyle,
                      "</style>\n</head>\n<body>\n<h1>", HtmlEscape(title_), "</h1>\n", body_,
                      "</body>\n</html>\n");
}

}  // namespace tds::cli
