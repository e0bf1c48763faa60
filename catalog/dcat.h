#pragma once
// Export of a catalogued product as a DCAT 3 dataset in JSON-LD, with its default offer as an
// ODRL 2.2 policy, so dataspace tools that speak DCAT/ODRL (e.g. the Eclipse Dataspace
// Components catalog, IDSA/Gaia-X style connectors) can read the TDS catalog.
//
// Shape (keys in this order; "?" = only when set):
//   @context   dcat, dct, odrl, xsd, tds (urn:tds:vocab#)
//   @id        "urn:tds:product:<id>:v<version>";  @type dcat:Dataset
//   dct:identifier, dct:title, dct:description, dcat:keyword (tags),
//   dct:publisher {"@id": "urn:tds:member:<provider>"}, dcat:version "<version>",
//   dct:issued? (block time of publication, xsd:dateTime, UTC, ms precision),
//   dct:accrualPeriodicity? (EU frequency authority IRI for the update cadence),
//   tds:classificationLevel (JR/T 0197-2020, 1..5), tds:rowCount (xsd:nonNegativeInteger),
//   tds:schema [{tds:column, tds:type, tds:classificationLevel, dct:description?}],
//   tds:enclaveMeasurement?, tds:retired? true + tds:retiredHeight + tds:retireReason?,
//   dcat:distribution: one dcat:Distribution with NO download URL — the data stays at the
//     provider — whose dcat:accessService is a dcat:DataService (the provider's metered
//     computation gateway) listing tds:operation,
//   odrl:hasPolicy: an odrl:Offer (uid "urn:tds:offer:<id>:v<version>", assigner the provider,
//     odrl:profile "urn:tds:odrl-profile:v1") with one odrl:permission:
//       odrl:target the dataset; odrl:action one entry per offered operation, as custom action
//       IRIs tds:psi, tds:stats, tds:query, tds:lr_train, tds:lr_score, tds:enclave_sql (the
//       profile declares each a narrower odrl:use);
//       odrl:constraint: odrl:purpose isAnyOf [...]; tds:column isAnyOf [...]?;
//       odrl:dateTime gteq from? / lt until?; odrl:count lteq max_calls_total?;
//       tds:callsPerDay lteq?; tds:rowsPerCall lteq?; tds:minGroupSize gteq?; tds:metering eq;
//       odrl:duty? one odrl:compensate per charged price component, with an odrl:payAmount eq
//       constraint (xsd:decimal in major units, computed exactly from minor units), odrl:unit
//       "urn:iso:std:iso:4217:<currency>" and tds:priceComponent (per_call, per_row,
//       per_compute_second, subscription_fee with tds:includedCalls, overage_per_call,
//       tier with tds:fromCall / tds:upToCalls).

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/catalog.pb.h"

namespace tds::catalog {

// The product as a JSON-LD document (pretty-printed, 2-space indent).
std::string ExportDcat(const tds::Product& product, const tds::ProductHead& head);

// `minor` units of `currency` as a decimal in major units, exactly (no floating point):
// (12345, "CNY") → "123.45", (5, "CNY") → "0.05", (500, "JPY") → "500", (1234, "KWD") →
// "1.234". ISO 4217 minor-unit exponents: 0 for JPY, KRW, VND, CLP, ISK, UGX, XAF, XOF, ...;
// 3 for BHD, IQD, JOD, KWD, LYD, OMR, TND; 2 otherwise.
std::string FormatMinorUnits(int64_t minor, std::string_view currency);

// Block time (ms since the epoch) as ISO 8601 UTC with milliseconds: "2024-03-01T08:00:00.000Z".
std::string IsoTimeUtc(int64_t ms);

}  // namespace tds::catalog
