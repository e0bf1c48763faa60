#pragma once
// Human-readable renderings of data-space records for the `table` output of the commands:
// money, prices, terms, products and governance actions. (The json output carries the
// protobuf messages themselves; see output.h.)

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "proto/catalog.pb.h"
#include "proto/contracts.pb.h"
#include "proto/governance.pb.h"

namespace tds::cli {

// Minor units as a decimal in major units with the currency: (12345, "CNY") → "123.45 CNY".
std::string Money(int64_t minor, std::string_view currency);

// One line listing every component the price sets: "CNY: 2.00 per call, 0.01 per row, ...";
// "free" when nothing is set.
std::string DescribePrice(const tds::Price& price);

// "2025-03-14T09:26:53.589Z" or "open" for 0 (an open-ended window end).
std::string WindowEnd(int64_t ms);

// The terms as indented "name: value" lines (every field that is set).
void PrintTerms(std::ostream& out, const tds::Terms& terms, std::string_view indent);

// The product (one version) with its head: description, schema, offer.
void PrintProduct(std::ostream& out, const tds::Product& product, const tds::ProductHead& head);

// "add member new-bank (consumer,provider)", "remove member old-bank",
// "set roles of bank to consumer,auditor".
std::string DescribeProposal(const tds::ProposeBody& body);

}  // namespace tds::cli
