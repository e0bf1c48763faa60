#pragma once
// The one writer of `tds report` documents: a self-contained HTML page (inline CSS, inline SVG
// charts, no scripts, no external assets) and CSV tables, from the same ReportTable so a table
// shown in the page and its CSV file cannot disagree.
//
// Every text that reaches the page is HTML-escaped here (member names, purposes, violation
// details come from the ledger and are attacker-controlled): callers pass plain text, never
// markup.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tds::cli {

// `text` with & < > " ' replaced by character references (safe in element content and in
// double- or single-quoted attribute values).
std::string HtmlEscape(std::string_view text);

// Rows under named columns; shown as an HTML table and written as RFC 4180 CSV (output.h's
// CsvField), every cell plain text.
struct ReportTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // REQUIRES: each row has columns.size() cells

  // A header line, then one line per row, each ended by "\n".
  std::string ToCsv() const;
};

// One bar or point of a chart: a label (x axis), a non-negative value (scaled to the plot) and
// the text shown for it ("" = the value as a number; e.g. "12.50 CNY" for minor units).
struct ChartPoint {
  std::string label;
  double value = 0;
  std::string text;
};

// An HTML document assembled top to bottom. Charts are SVG elements with class "chart", one
// <svg> per chart, so their number is countable in the output.
class HtmlReport {
 public:
  explicit HtmlReport(std::string_view title);

  void Heading(std::string_view text);    // <h2>
  void Paragraph(std::string_view text);  // <p>
  // A two-column table of "name: value" facts (the summary block).
  void Facts(const std::vector<std::pair<std::string, std::string>>& facts);
  // The table; `empty_text` is shown instead when it has no rows.
  void Table(const ReportTable& table, std::string_view empty_text = "none");
  // Vertical bars, one per point, labelled under the axis, each point's text above its bar.
  // An empty chart says "no data".
  void BarChart(std::string_view title, const std::vector<ChartPoint>& points);
  // A polyline through the points in order, with dots; labels as BarChart.
  void LineChart(std::string_view title, const std::vector<ChartPoint>& points);

  // The complete document. The object stays usable (Finish is repeatable).
  std::string Finish() const;

 private:
  std::string title_;
  std::string body_;
};

}  // namespace tds::cli
