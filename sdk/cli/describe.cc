#include "sdk/cli/describe.h"

#include "catalog/dcat.h"
#include "sdk/cli/output.h"

namespace tds::cli {

std::string Money(int64_t minor, std::string_view currency) {
  std::string out = catalog::FormatMinorUnits(minor, currency);
  if (!currency.empty()) out += " " + std::string(currency);
  return out;
}

std::string DescribePrice(const tds::Price& p) {
  const std::string& c = p.currency();
  std::string out;
  auto add = [&out](const std::string& part) {
    if (!out.empty()) out += ", ";
    out += part;
  };
  if (p.per_call() != 0) add(Money(p.per_call(), c) + " per call");
  for (int i = 0; i < p.tiers_size(); ++i) {
    const tds::Tier& t = p.tiers(i);
    add("tier " + std::to_string(i + 1) + " " + Money(t.per_call(), c) + " per call" +
        (t.up_to_calls() == 0 ? " beyond" : " up to call " + std::to_string(t.up_to_calls())));
  }
  if (p.per_row() != 0) add(Money(p.per_row(), c) + " per row");
  if (p.per_compute_second() != 0) add(Money(p.per_compute_second(), c) + " per compute second");
  if (p.subscription_fee() != 0) {
    add(Money(p.subscription_fee(), c) + " per month including " +
        std::to_string(p.included_calls()) + " calls");
  }
  if (p.overage_per_call() != 0) add(Money(p.overage_per_call(), c) + " per call over");
  return out.empty() ? "free" : out;
}

std::string WindowEnd(int64_t ms) { return ms == 0 ? "open" : FormatTimeMs(ms); }

void PrintTerms(std::ostream& out, const tds::Terms& t, std::string_view indent) {
  auto line = [&](std::string_view name, const std::string& value) {
    out << indent << name << ": " << value << "\n";
  };
  line("operations", JoinList(t.operations(), ", "));
  line("purposes", JoinList(t.purposes(), ", "));
  if (t.columns_size() > 0) line("columns", JoinList(t.columns(), ", "));
  line("window", (t.valid_from_ms() == 0 ? std::string("from the start")
                                         : "from " + FormatTimeMs(t.valid_from_ms())) +
                     " until " + WindowEnd(t.valid_until_ms()));
  auto limit = [](uint64_t v) { return v == 0 ? std::string("no limit") : std::to_string(v); };
  line("max calls total", limit(t.max_calls_total()));
  line("max calls per day", limit(t.max_calls_per_day()));
  line("max rows per call", limit(t.max_rows_per_call()));
  if (t.min_group_size() != 0) line("min group size", std::to_string(t.min_group_size()));
  std::string metering = tds::MeteringMode_Name(t.metering());
  if (t.metering() == tds::METERING_BATCHED) {
    metering += " (record within " + std::to_string(t.batched_max_delay_ms()) + " ms)";
  }
  line("metering", metering);
  line("price", DescribePrice(t.price()));
}

void PrintProduct(std::ostream& out, const tds::Product& p, const tds::ProductHead& head) {
  out << "id:           " << p.id() << "\n"
      << "version:      " << p.version() << " (latest " << head.latest_version() << ")\n"
      << "provider:     " << p.provider() << "\n"
      << "title:        " << p.title() << "\n"
      << "level:        " << p.level() << "\n"
      << "tags:         " << JoinList(p.tags(), ", ") << "\n"
      << "operations:   " << JoinList(p.operations(), ", ") << "\n"
      << "rows:         " << p.row_count() << "\n"
      << "cadence:      " << (p.update_cadence().empty() ? "-" : p.update_cadence()) << "\n"
      << "published:    block " << p.published_height() << ", " << FormatTimeMs(p.published_ms())
      << "\n";
  if (p.allow_list_size() > 0) out << "allow list:   " << JoinList(p.allow_list(), ", ") << "\n";
  if (p.enclave_measurements_size() > 0) {
    out << "enclaves:     " << JoinList(p.enclave_measurements(), ", ") << "\n";
  }
  if (head.retired()) {
    out << "retired:      at block " << head.retired_height() << ": " << head.retire_reason()
        << "\n";
  }
  if (!p.description().empty()) out << "description:  " << p.description() << "\n";
  out << "schema:\n";
  for (const tds::Column& c : p.schema()) {
    out << "  " << c.name() << " " << c.type() << " (level " << c.level() << ")"
        << (c.description().empty() ? "" : ": " + c.description()) << "\n";
  }
  out << "offer:\n";
  PrintTerms(out, p.offer(), "  ");
}

std::string DescribeProposal(const tds::ProposeBody& body) {
  switch (body.action_case()) {
    case tds::ProposeBody::kAddMember:
      return "add member " + body.add_member().id() + " (" +
             JoinList(body.add_member().roles(), ",") + ")";
    case tds::ProposeBody::kRemoveMember:
      return "remove member " + body.remove_member();
    case tds::ProposeBody::kSetRoles:
      return "set roles of " + body.set_roles().member_id() + " to " +
             JoinList(body.set_roles().roles(), ",");
    case tds::ProposeBody::ACTION_NOT_SET:
      break;
  }
  return "(no action)";
}

}  // namespace tds::cli
