#include "sdk/cli/report_builder.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file.h"
#include "common/period.h"
#include "sdk/cli/describe.h"
#include "sdk/cli/output.h"
#include "sdk/cli/report_html.h"

extern char** environ;

namespace tds::cli {
namespace {

constexpr uint32_t kPage = 1000;  // the node's largest page

absl::StatusOr<std::pair<int64_t, int64_t>> CheckedPeriod(const std::string& period) {
  absl::StatusOr<std::pair<int64_t, int64_t>> bounds = PeriodBounds(period);
  if (!bounds.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--period: ", std::string(bounds.status().message())));
  }
  return bounds;
}

// `caller` may report on `member`: itself, or as an auditor or validator (node/auth.h
// MayActFor), and `member` is a current member.
absl::Status CheckMayReport(sdk::QueryClient& query, const std::string& caller,
                            const std::string& member) {
  if (member.empty()) return absl::InvalidArgumentError("--member: empty member id");
  absl::StatusOr<tds::ListMembersResponse> members = query.ListMembers();
  if (!members.ok()) return members.status();
  const tds::Member* reported = nullptr;
  bool reads_everything = false;
  for (const tds::Member& m : members->members()) {
    if (m.id() == member) reported = &m;
    if (m.id() == caller) {
      for (const std::string& role : m.roles()) {
        reads_everything |= role == "auditor" || role == "validator";
      }
    }
  }
  if (reported == nullptr) {
    return absl::NotFoundError(absl::StrCat("--member: no current member '", member, "'"));
  }
  if (caller != member && !reads_everything) {
    return absl::PermissionDeniedError(
        absl::StrCat("member '", caller, "' may report only on itself, not on '", member,
                     "' (reports on other members need the auditor or validator role)"));
  }
  return absl::OkStatus();
}

// Every record of the listing `filters` selects, all pages.
absl::Status ListAll(sdk::QueryClient& query, tds::ListUsageRequest filters,
                     std::map<uint64_t, tds::UsageRecordState>* out) {
  filters.mutable_page()->set_limit(kPage);
  while (true) {
    absl::StatusOr<tds::ListUsageResponse> r = query.ListUsage(filters);
    if (!r.ok()) return r.status();
    for (const tds::UsageItem& item : r->items()) (*out)[item.record().index()] = item.record();
    if (r->next_cursor().empty()) return absl::OkStatus();
    filters.mutable_page()->set_cursor(r->next_cursor());
  }
}

// The member's records of the period as provider and as consumer, by log index.
absl::StatusOr<std::vector<tds::UsageRecordState>> MemberRecords(
    sdk::QueryClient& query, const std::string& member, std::pair<int64_t, int64_t> bounds) {
  std::map<uint64_t, tds::UsageRecordState> records;
  tds::ListUsageRequest filters;
  filters.set_from_ms(bounds.first);
  filters.set_to_ms(bounds.second);
  filters.set_provider(member);
  if (absl::Status s = ListAll(query, filters, &records); !s.ok()) return s;
  filters.clear_provider();
  filters.set_consumer(member);
  if (absl::Status s = ListAll(query, filters, &records); !s.ok()) return s;
  std::vector<tds::UsageRecordState> out;
  out.reserve(records.size());
  for (auto& [index, rec] : records) out.push_back(std::move(rec));
  return out;
}

// The member's statements of the period: as the provider (one per consumer), then as the
// consumer of each provider it has records with.
absl::StatusOr<std::vector<tds::Statement>> MemberStatements(
    sdk::QueryClient& query, const std::string& member, const std::string& period,
    const std::vector<tds::UsageRecordState>& records) {
  std::vector<tds::Statement> out;
  tds::GetStatementRequest request;
  request.set_provider(member);
  request.set_period(period);
  absl::StatusOr<tds::GetStatementResponse> own = query.GetStatement(request);
  if (!own.ok()) return own.status();
  for (const tds::Statement& s : own->statements()) out.push_back(s);
  std::set<std::string> providers;
  for (const tds::UsageRecordState& r : records) {
    if (r.consumer() == member && r.provider() != member) providers.insert(r.provider());
  }
  for (const std::string& provider : providers) {
    request.set_provider(provider);
    request.set_consumer(member);
    absl::StatusOr<tds::GetStatementResponse> r = query.GetStatement(request);
    if (!r.ok()) return r.status();
    for (const tds::Statement& s : r->statements()) out.push_back(s);
  }
  return out;
}

std::string Role(const std::vector<tds::UsageRecordState>& records, const std::string& member) {
  bool provider = false, consumer = false;
  for (const tds::UsageRecordState& r : records) {
    provider |= r.provider() == member;
    consumer |= r.consumer() == member;
  }
  if (provider && consumer) return "provider and consumer";
  if (provider) return "provider";
  if (consumer) return "consumer";
  return "none (no usage records in the period)";
}

std::string Terms(const tds::UsageRecordState& r) {
  std::vector<std::string> terms;
  for (const tds::Violation& v : r.violations()) terms.push_back(v.term());
  return absl::StrJoin(terms, ",");
}

// The statements' lines, as `tds bill -o csv` shows them (amounts in minor units).
ReportTable StatementLines(const std::vector<tds::Statement>& statements) {
  ReportTable t{{"provider", "consumer", "period", "contract", "product", "component", "quantity",
                 "unit_price", "amount", "currency"},
                {}};
  for (const tds::Statement& s : statements) {
    for (const tds::StatementLine& l : s.lines()) {
      t.rows.push_back({s.provider(), s.consumer(), s.period(), l.contract_id(), l.product_id(),
                        l.component(), std::to_string(l.quantity()), std::to_string(l.unit_price()),
                        std::to_string(l.amount()), l.currency()});
    }
  }
  return t;
}

// The statements' totals: one row per statement and currency ("" currency when nothing is due).
ReportTable StatementTotals(const std::vector<tds::Statement>& statements) {
  ReportTable t{
      {"provider", "consumer", "period", "currency", "amount", "records", "violations_not_billed"},
      {}};
  for (const tds::Statement& s : statements) {
    std::vector<std::pair<std::string, int64_t>> totals;
    for (const tds::CurrencyAmount& a : s.totals()) totals.emplace_back(a.currency(), a.amount());
    if (totals.empty()) totals.emplace_back("", 0);
    for (const auto& [currency, amount] : totals) {
      t.rows.push_back({s.provider(), s.consumer(), s.period(), currency, std::to_string(amount),
                        std::to_string(s.records()), std::to_string(s.violation_indices_size())});
    }
  }
  return t;
}

// Sums of the statements' line amounts keyed by `key(statement, line)` and currency, as chart
// bars labelled "key" (and the currency when there are several), largest first.
template <typename KeyFn>
std::vector<ChartPoint> AmountsBy(const std::vector<tds::Statement>& statements, KeyFn key) {
  std::map<std::pair<std::string, std::string>, int64_t> sums;
  std::set<std::string> currencies;
  for (const tds::Statement& s : statements) {
    for (const tds::StatementLine& l : s.lines()) {
      sums[{key(s, l), l.currency()}] += l.amount();
      currencies.insert(l.currency());
    }
  }
  std::vector<ChartPoint> points;
  for (const auto& [k, amount] : sums) {
    points.push_back({currencies.size() > 1 ? k.first + " (" + k.second + ")" : k.first,
                      static_cast<double>(amount), Money(amount, k.second)});
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const ChartPoint& a, const ChartPoint& b) { return a.value > b.value; });
  return points;
}

// "12.50 CNY, 3.00 USD": the totals of the statements `mine` selects for `member`; "nothing".
std::string TotalsText(const std::vector<tds::Statement>& statements,
                       bool (*mine)(const tds::Statement&, const std::string&),
                       const std::string& member) {
  std::map<std::string, int64_t> sums;
  for (const tds::Statement& s : statements) {
    if (!mine(s, member)) continue;
    for (const tds::CurrencyAmount& a : s.totals()) sums[a.currency()] += a.amount();
  }
  std::vector<std::string> parts;
  for (const auto& [currency, amount] : sums) parts.push_back(Money(amount, currency));
  return parts.empty() ? "nothing" : absl::StrJoin(parts, ", ");
}

bool AsProvider(const tds::Statement& s, const std::string& m) { return s.provider() == m; }
bool AsConsumer(const tds::Statement& s, const std::string& m) {
  return s.consumer() == m && s.provider() != m;
}

void AddFile(ReportFiles* files, std::string name, std::string content) {
  files->push_back({std::move(name), std::move(content)});
}

}  // namespace

namespace {

// What the compliance and billing reports read: `member`'s usage records and statements of
// `period`, once the caller may report on it.
struct MemberMonth {
  std::pair<int64_t, int64_t> bounds;  // the period's block times, [first, second)
  std::vector<tds::UsageRecordState> records;
  std::vector<tds::Statement> statements;
};

absl::StatusOr<MemberMonth> FetchMemberMonth(sdk::QueryClient& query, const std::string& caller,
                                             const std::string& member, const std::string& period) {
  absl::StatusOr<std::pair<int64_t, int64_t>> bounds = CheckedPeriod(period);
  if (!bounds.ok()) return bounds.status();
  if (absl::Status s = CheckMayReport(query, caller, member); !s.ok()) return s;
  MemberMonth month;
  month.bounds = *bounds;
  absl::StatusOr<std::vector<tds::UsageRecordState>> records =
      MemberRecords(query, member, *bounds);
  if (!records.ok()) return records.status();
  month.records = *std::move(records);
  absl::StatusOr<std::vector<tds::Statement>> statements =
      MemberStatements(query, member, period, month.records);
  if (!statements.ok()) return statements.status();
  month.statements = *std::move(statements);
  return month;
}

}  // namespace

absl::StatusOr<ReportFiles> ComplianceReport(sdk::QueryClient& query, const std::string& caller,
                                             const std::string& member, const std::string& period) {
  absl::StatusOr<MemberMonth> month = FetchMemberMonth(query, caller, member, period);
  if (!month.ok()) return month.status();
  const std::pair<int64_t, int64_t>* bounds = &month->bounds;
  const std::vector<tds::UsageRecordState>* records = &month->records;
  const std::vector<tds::Statement>* statements = &month->statements;

  // One pass over the records fills every table and chart.
  ReportTable usage{
      {"index", "time", "period", "contract", "product", "provider", "consumer", "operation",
       "purpose", "columns", "rows_in", "rows_out", "compute_ms", "txid", "violations"},
      {}};
  ReportTable violations{{"index", "time", "contract", "product", "provider", "consumer",
                          "operation", "purpose", "term", "detail"},
                         {}};
  struct Tally {
    uint64_t calls = 0, rows_out = 0, violations = 0;
  };
  std::map<std::pair<std::string, std::string>, Tally> by_purpose_op;
  std::map<std::string, uint64_t> by_purpose;
  std::map<std::pair<std::string, std::string>, Tally> by_counterparty;  // (id, its role)
  const int64_t day0 = DayNumber(bounds->first);
  std::vector<uint64_t> per_day(DayNumber(bounds->second - 1) - day0 + 1, 0);
  Tally total;
  uint64_t flagged_records = 0;
  for (const tds::UsageRecordState& r : *records) {
    const std::string time = FormatTimeMs(r.block_time_ms());
    usage.rows.push_back(
        {std::to_string(r.index()), time, r.period(), r.contract_id(), r.product_id(), r.provider(),
         r.consumer(), r.operation(), r.purpose(), JoinList(r.columns()),
         std::to_string(r.measurement().rows_in()), std::to_string(r.measurement().rows_out()),
         std::to_string(r.measurement().compute_ms()), HexOrDash(r.txid()), Terms(r)});
    for (const tds::Violation& v : r.violations()) {
      violations.rows.push_back({std::to_string(r.index()), time, r.contract_id(), r.product_id(),
                                 r.provider(), r.consumer(), r.operation(), r.purpose(), v.term(),
                                 v.detail()});
    }
    const uint64_t flagged = r.violations_size() > 0 ? 1 : 0;
    flagged_records += flagged;
    for (Tally* t : {&by_purpose_op[{r.purpose(), r.operation()}], &total}) {
      t->calls += 1;
      t->rows_out += r.measurement().rows_out();
      t->violations += flagged;
    }
    by_purpose[r.purpose()] += 1;
    // A member's own contract with itself counts once, under the consumer side.
    const bool provider_side = r.provider() == member && r.consumer() != member;
    Tally& c = provider_side ? by_counterparty[{r.consumer(), "consumer"}]
                             : by_counterparty[{r.provider(), "provider"}];
    c.calls += 1;
    c.rows_out += r.measurement().rows_out();
    c.violations += flagged;
    const int64_t day = DayNumber(r.block_time_ms()) - day0;
    if (day >= 0 && day < static_cast<int64_t>(per_day.size())) per_day[day] += 1;
  }

  ReportTable purpose_op{{"purpose", "operation", "calls", "rows_out", "violations"}, {}};
  for (const auto& [key, t] : by_purpose_op) {
    purpose_op.rows.push_back({key.first, key.second, std::to_string(t.calls),
                               std::to_string(t.rows_out), std::to_string(t.violations)});
  }
  // Counterparties by calls (most first), then id; billed amounts from the statement lines.
  std::vector<std::pair<std::pair<std::string, std::string>, Tally>> parties(
      by_counterparty.begin(), by_counterparty.end());
  std::stable_sort(parties.begin(), parties.end(),
                   [](const auto& a, const auto& b) { return a.second.calls > b.second.calls; });
  ReportTable counterparties{
      {"counterparty", "its_role", "calls", "rows_out", "violations", "billed"}, {}};
  for (const auto& [key, t] : parties) {
    std::map<std::string, int64_t> billed;
    for (const tds::Statement& s : *statements) {
      const bool match = key.second == "consumer"
                             ? (s.provider() == member && s.consumer() == key.first)
                             : (s.provider() == key.first && s.consumer() == member);
      if (!match) continue;
      for (const tds::CurrencyAmount& a : s.totals()) billed[a.currency()] += a.amount();
    }
    std::vector<std::string> amounts;
    for (const auto& [currency, amount] : billed) amounts.push_back(Money(amount, currency));
    counterparties.rows.push_back({key.first, key.second, std::to_string(t.calls),
                                   std::to_string(t.rows_out), std::to_string(t.violations),
                                   absl::StrJoin(amounts, ", ")});
  }
  const ReportTable lines = StatementLines(*statements);

  std::vector<ChartPoint> days;
  for (size_t i = 0; i < per_day.size(); ++i) {
    const std::string label =
        PeriodOf(bounds->first) + "-" + (i < 9 ? "0" : "") + std::to_string(i + 1);
    days.push_back({label.substr(5), static_cast<double>(per_day[i]), ""});
  }
  std::vector<ChartPoint> purposes;
  for (const auto& [purpose, calls] : by_purpose) {
    purposes.push_back({purpose, static_cast<double>(calls), ""});
  }

  HtmlReport html("Compliance report: " + member + ", " + period);
  html.Facts({{"member", member},
              {"period", period + " (block time, UTC)"},
              {"role in the records", Role(*records, member)},
              {"usage records", std::to_string(total.calls)},
              {"rows out", std::to_string(total.rows_out)},
              {"records with violations", std::to_string(flagged_records)},
              {"broken terms", std::to_string(violations.rows.size())},
              {"billed as provider", TotalsText(*statements, AsProvider, member)},
              {"billed as consumer", TotalsText(*statements, AsConsumer, member)}});
  html.LineChart("Calls per day", days);
  html.BarChart("Calls by purpose", purposes);
  html.BarChart("Revenue per product",
                AmountsBy(*statements, [](const tds::Statement&, const tds::StatementLine& l) {
                  return l.product_id();
                }));
  html.Heading("Usage by purpose and operation");
  html.Table(purpose_op, "no usage records in the period");
  html.Heading("Violations");
  html.Table(violations, "no violations in the period");
  html.Heading("Counterparties");
  html.Table(counterparties, "no counterparties in the period");
  html.Heading("Statement lines (violations are listed, not billed)");
  html.Table(lines, "nothing billed in the period");
  html.Heading("Usage records");
  html.Table(usage, "no usage records in the period");
  html.Paragraph(
      "Amounts in the tables and CSV files are integer minor units; figures are the "
      "node's (Contracts.ListUsage, Contracts.GetStatement).");

  ReportFiles files;
  AddFile(&files, "report.html", html.Finish());
  AddFile(&files, "usage.csv", usage.ToCsv());
  AddFile(&files, "violations.csv", violations.ToCsv());
  AddFile(&files, "counterparties.csv", counterparties.ToCsv());
  AddFile(&files, "statement_lines.csv", lines.ToCsv());
  return files;
}

absl::StatusOr<ReportFiles> BillingReport(sdk::QueryClient& query, const std::string& caller,
                                          const std::string& member, const std::string& period) {
  absl::StatusOr<MemberMonth> month = FetchMemberMonth(query, caller, member, period);
  if (!month.ok()) return month.status();
  const std::vector<tds::Statement>* statements = &month->statements;

  const ReportTable lines = StatementLines(*statements);
  const ReportTable totals = StatementTotals(*statements);
  HtmlReport html("Billing statements: " + member + ", " + period);
  html.Facts(
      {{"member", member},
       {"period", period + " (block time, UTC)"},
       {"statements", std::to_string(statements->size())},
       {"due to " + member + " (as provider)", TotalsText(*statements, AsProvider, member)},
       {"due from " + member + " (as consumer)", TotalsText(*statements, AsConsumer, member)}});
  html.BarChart("Revenue per product",
                AmountsBy(*statements, [](const tds::Statement&, const tds::StatementLine& l) {
                  return l.product_id();
                }));
  html.BarChart(
      "Amount per counterparty",
      AmountsBy(*statements, [&member](const tds::Statement& s, const tds::StatementLine&) {
        return s.provider() == member ? s.consumer() : s.provider();
      }));
  html.Heading("Statements");
  html.Table(totals, "no statements for the period");
  html.Heading("Statement lines (violations are listed, not billed)");
  html.Table(lines, "no statement lines for the period");
  html.Paragraph(
      "Amounts in the tables and CSV files are integer minor units, as the node "
      "computed them (Contracts.GetStatement).");
  ReportFiles files;
  AddFile(&files, "report.html", html.Finish());
  AddFile(&files, "statement_lines.csv", lines.ToCsv());
  AddFile(&files, "statements.csv", totals.ToCsv());
  return files;
}

absl::StatusOr<ReportFiles> ValuationReport(sdk::QueryClient& query, const std::string& product,
                                            const std::string& as_of) {
  if (!as_of.empty()) {
    if (absl::StatusOr<std::pair<int64_t, int64_t>> b = PeriodBounds(as_of); !b.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--as-of: ", std::string(b.status().message())));
    }
  }
  if (product.empty()) return absl::InvalidArgumentError("--product: empty product id");
  tds::GetValuationRequest request;
  request.set_product_id(product);
  request.set_as_of_period(as_of);
  absl::StatusOr<tds::GetValuationResponse> r = query.GetValuation(request);
  if (!r.ok()) return r.status();
  const tds::Valuation& v = r->valuation();
  const std::string& c = v.currency();

  ReportTable periods{{"product_id", "period", "calls", "rows", "revenue", "consumers", "currency"},
                      {}};
  std::vector<ChartPoint> revenue, calls;
  for (const tds::ValuationPeriod& p : v.periods()) {
    periods.rows.push_back({v.product_id(), p.period(), std::to_string(p.calls()),
                            std::to_string(p.rows()), std::to_string(p.revenue()),
                            std::to_string(p.consumers()), c});
    revenue.push_back({p.period(), static_cast<double>(std::max<int64_t>(p.revenue(), 0)),
                       Money(p.revenue(), c)});
    calls.push_back({p.period(), static_cast<double>(p.calls()), ""});
  }
  ReportTable costs{{"period", "category", "amount", "currency", "note"}, {}};
  for (const tds::CostLine& l : v.costs()) {
    costs.rows.push_back({l.period(), l.category(), std::to_string(l.amount()), c, l.note()});
  }

  HtmlReport html("Valuation report: " + v.product_id() + ", as of " + v.as_of_period());
  html.Facts({{"product", v.product_id()},
              {"provider", v.provider()},
              {"as of period", v.as_of_period()},
              {"currency", c.empty() ? "-" : c},
              {"discount rate", std::to_string(v.discount_rate_bp()) + " bp a year"},
              {"horizon", std::to_string(v.horizon_periods()) + " periods"},
              {"growth", std::to_string(v.growth_bp()) + " bp per period"},
              {"distinct consumers", std::to_string(v.distinct_consumers())},
              {"trailing revenue", Money(v.trailing_revenue(), c)},
              {"trend", std::to_string(v.trend_bp()) + " bp"},
              {"concentration (HHI)", std::to_string(v.concentration_hhi())},
              {"top consumer share", std::to_string(v.top_consumer_share_bp()) + " bp"},
              {"income approach value", Money(v.income_value(), c)},
              {"cost approach value", Money(v.cost_value(), c)}});
  html.LineChart("Revenue per period", revenue);
  html.BarChart("Calls per period", calls);
  html.Heading("Usage by period");
  html.Table(periods, "no periods");
  html.Heading("Declared costs");
  html.Table(costs, "no declared costs");
  html.Heading("Method");
  for (const std::string& line : v.method()) html.Paragraph(line);
  ReportFiles files;
  AddFile(&files, "report.html", html.Finish());
  AddFile(&files, "periods.csv", periods.ToCsv());
  AddFile(&files, "costs.csv", costs.ToCsv());
  return files;
}

absl::Status WriteReport(const ReportFiles& files, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("--out: cannot create ", dir, ": ", ec.message()));
  for (const ReportFile& f : files) {
    if (absl::Status s = WriteFileAtomic((std::filesystem::path(dir) / f.name).string(), f.content);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status RenderPdf(const std::string& dir, const std::string& browser) {
  std::string binary = browser;
  if (browser.find('/') == std::string::npos) {
    binary.clear();
    const char* path = getenv("PATH");
    const std::vector<std::string> entries = absl::StrSplit(path == nullptr ? "" : path, ':');
    for (const std::string& entry : entries) {
      if (entry.empty()) continue;
      std::string candidate = absl::StrCat(entry, "/", browser);
      if (access(candidate.c_str(), X_OK) == 0) {
        binary = candidate;
        break;
      }
    }
  }
  if (binary.empty() || access(binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--pdf needs '", browser,
        "' on PATH (Debian: apt-get install chromium); the HTML and CSV files are written"));
  }
  const std::filesystem::path abs = std::filesystem::absolute(dir);
  const std::string pdf = (abs / "report.pdf").string();
  std::error_code ec;
  std::filesystem::remove(pdf, ec);
  std::vector<std::string> args = {binary,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--no-pdf-header-footer",
                                   "--print-to-pdf=" + pdf,
                                   "file://" + (abs / "report.html").string()};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The browser's chatter (GPU and D-Bus warnings) would drown the CLI's own output.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", binary, ": ", strerror(rc)));
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) {
    return absl::InternalError(absl::StrCat("waiting for ", binary, ": ", strerror(errno)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(
        binary, " failed printing ", pdf, " (",
        WIFEXITED(status) ? absl::StrCat("exit ", WEXITSTATUS(status)) : "killed by a signal",
        ")"));
  }
  if (!std::filesystem::exists(pdf, ec) || std::filesystem::file_size(pdf, ec) == 0) {
    return absl::InternalError(absl::StrCat(binary, " exited 0 but wrote no ", pdf));
  }
  return absl::OkStatus();
}

}  // namespace tds::cli
