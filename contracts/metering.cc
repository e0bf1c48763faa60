#include "contracts/metering.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "common/envelope.h"
#include "common/period.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "contracts/contract_state.h"
#include "contracts/negotiation.h"
#include "ledger/membership.h"
#include "ledger/state_overlay.h"
#include "proto/envelope.pb.h"

namespace tds::contracts {
namespace {

// A usage request whose envelope, signer, contract and parties have been checked.
struct CheckedRequest {
  tds::UsageRequest request;
  tds::Contract contract;
  tds::Terms terms;
  std::string request_digest;  // SHA-256 of the envelope payload, 32 bytes
  std::string reservation_id;  // hex of request_digest
};

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }

std::string JoinQuoted(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::vector<std::string> q;
  for (const std::string& s : items) q.push_back(Quoted(s));
  return q.empty() ? "none" : absl::StrJoin(q, ", ");
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& items, const std::string& s) {
  return std::find(items.begin(), items.end(), s) != items.end();
}

uint64_t Today(int64_t block_time_ms) {
  return static_cast<uint64_t>(std::max<int64_t>(0, DayNumber(block_time_ms)));
}

// The shared request check of usage.reserve and usage.record (see metering.h); every failure
// is a rejection.
absl::StatusOr<CheckedRequest> CheckRequest(std::string_view tx_type, const ledger::TxContext& ctx,
                                            std::string_view envelope,
                                            const ledger::StateReader& state) {
  // The consumer named inside the payload tells whose key must have signed it.
  tds::Envelope peek;
  if (!peek.ParseFromArray(envelope.data(), static_cast<int>(envelope.size()))) {
    return absl::InvalidArgumentError("usage request: not a valid Envelope message");
  }
  CheckedRequest out;
  if (!out.request.ParseFromString(peek.payload())) {
    return absl::InvalidArgumentError("usage request: payload is not a tds.UsageRequest");
  }
  const tds::UsageRequest& req = out.request;
  if (req.contract_id().empty()) {
    return absl::InvalidArgumentError("usage request: contract_id is empty");
  }
  TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> contract,
                       ReadContract(state, req.contract_id()));
  if (!contract.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("usage request: contract ", req.contract_id(), " does not exist"));
  }
  out.contract = std::move(*contract);
  const tds::Contract& c = out.contract;
  if (ctx.submitter != c.provider()) {
    return absl::PermissionDeniedError(absl::StrCat(std::string(tx_type), ": submitter '",
                                                    ctx.submitter, "' is not the provider '",
                                                    c.provider(), "' of contract ", c.id()));
  }
  if (req.consumer() != c.consumer()) {
    return absl::PermissionDeniedError(absl::StrCat("usage request: consumer '", req.consumer(),
                                                    "' is not the consumer '", c.consumer(),
                                                    "' of contract ", c.id()));
  }
  TDS_ASSIGN_OR_RETURN(std::optional<tds::Member> member,
                       ledger::ReadMember(state, req.consumer()));
  if (!member.has_value()) {
    return absl::PermissionDeniedError(
        absl::StrCat("usage request: consumer '", req.consumer(), "' is not a current member"));
  }
  TDS_ASSIGN_OR_RETURN(PublicKey consumer_key, ledger::MemberKey(*member));
  auto opened = OpenEnvelopeFrom(envelope, kUsageRequestContext,
                                 [&consumer_key](std::string_view raw) -> const PublicKey* {
                                   return raw == consumer_key.bytes() ? &consumer_key : nullptr;
                                 });
  if (!opened.ok()) {
    if (opened.status().code() == absl::StatusCode::kPermissionDenied) {
      return absl::PermissionDeniedError(absl::StrCat(
          "usage request: envelope is not signed by the key of consumer '", req.consumer(), "'"));
    }
    return absl::Status(opened.status().code(),
                        absl::StrCat("usage request: ", std::string(opened.status().message())));
  }
  if (req.nonce().size() < kMinNonceBytes || req.nonce().size() > kMaxNonceBytes) {
    return absl::InvalidArgumentError(absl::StrCat("usage request: nonce is ", req.nonce().size(),
                                                   " bytes; expected ", kMinNonceBytes, "..",
                                                   kMaxNonceBytes));
  }
  TDS_ASSIGN_OR_RETURN(out.terms, ParseTerms(c.terms()));
  const Hash digest = Sha256(opened->payload);
  out.request_digest = std::string(AsBytes(digest));
  out.reservation_id = HexEncode(digest);
  return out;
}

template <typename T>
absl::StatusOr<std::optional<T>> ReadProto(const ledger::StateReader& state, const std::string& key,
                                           std::string_view what) {
  TDS_ASSIGN_OR_RETURN(std::optional<std::string> raw, state.Get(key));
  if (!raw.has_value()) return std::nullopt;
  T msg;
  if (!msg.ParseFromString(*raw)) {
    return absl::DataLossError(absl::StrCat("state: ", std::string(what), " is corrupt"));
  }
  return msg;
}

absl::StatusOr<std::optional<tds::Reservation>> ReadReservation(const ledger::StateReader& state,
                                                                std::string_view id) {
  return ReadProto<tds::Reservation>(state, ReservationKey(id),
                                     absl::StrCat("reservation ", std::string(id)));
}

std::string EncodeHeight(uint64_t height) {
  std::string v;
  PutFixed64BE(&v, height);
  return v;
}

// Releases the contract's open reservations with expires_height <= height (in expiry order):
// each becomes EXPIRED and leaves counters->reserved_open. The next-expiry bound makes this a
// single Get unless a reservation may have expired; the index is read in pages (bounded
// scans), so the cost is proportional to what is released.
absl::Status ReleaseExpired(const std::string& contract_id, uint64_t height,
                            ledger::StateWriter& state, tds::UsageCounters* counters) {
  const std::string next_key = ReservationNextExpiryKey(contract_id);
  TDS_ASSIGN_OR_RETURN(std::optional<std::string> next, state.Get(next_key));
  if (!next.has_value()) return absl::OkStatus();
  if (next->size() != 8) return absl::DataLossError("state: reservation next-expiry is corrupt");
  if (DecodeFixed64BE(next->data()) > height) return absl::OkStatus();

  constexpr size_t kPage = 64;
  const std::string prefix = absl::StrCat(std::string(kReservationExpiryPrefix), contract_id, "/");
  std::vector<std::string> expired;
  std::optional<uint64_t> new_next;
  std::string after;
  for (bool more = true; more && !new_next.has_value();) {
    size_t seen = 0;
    TDS_RETURN_IF_ERROR(
        state.Scan(prefix, after, kPage, [&](std::string_view key, std::string_view) {
          ++seen;
          after = std::string(key);
          if (key.size() < prefix.size() + 8) return true;
          const uint64_t expires = DecodeFixed64BE(key.data() + prefix.size());
          if (expires > height) {
            new_next = expires;
            return false;
          }
          expired.emplace_back(key);
          return true;
        }));
    more = seen == kPage;
  }
  for (const std::string& key : expired) {
    const std::string id = key.substr(prefix.size() + 8);
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Reservation> r, ReadReservation(state, id));
    if (r.has_value() && r->state() == tds::RESERVATION_OPEN) {
      r->set_state(tds::RESERVATION_EXPIRED);
      state.Put(ReservationKey(id), r->SerializeAsString());
      if (counters->reserved_open() > 0) counters->set_reserved_open(counters->reserved_open() - 1);
    }
    state.Delete(key);
  }
  if (new_next.has_value()) {
    state.Put(next_key, EncodeHeight(*new_next));
  } else {
    state.Delete(next_key);
  }
  return absl::OkStatus();
}

absl::StatusOr<tds::UsageCounters> LoadCountersReleasingExpired(const std::string& contract_id,
                                                                const ledger::TxContext& ctx,
                                                                ledger::StateWriter& state) {
  TDS_ASSIGN_OR_RETURN(tds::UsageCounters counters, ReadCounters(state, contract_id));
  TDS_RETURN_IF_ERROR(ReleaseExpired(contract_id, ctx.block->height, state, &counters));
  return counters;
}

uint64_t CallsToday(const tds::UsageCounters& counters, uint64_t today) {
  return counters.day() == today ? counters.calls_day() : 0;
}

std::string WindowText(const tds::Terms& t) {
  return absl::StrCat(
      "[", t.valid_from_ms(), ", ",
      t.valid_until_ms() == 0 ? std::string("open") : absl::StrCat(t.valid_until_ms()), ")");
}

bool InWindow(const tds::Terms& t, int64_t ms) {
  return ms >= t.valid_from_ms() && (t.valid_until_ms() == 0 || ms < t.valid_until_ms());
}

// Columns of the request that the terms do not grant, quoted; empty when all are granted.
std::vector<std::string> UngrantedColumns(const tds::UsageRequest& req, const tds::Terms& t) {
  std::vector<std::string> out;
  for (const std::string& col : req.columns()) {
    if (!Contains(t.columns(), col)) out.push_back(Quoted(col));
  }
  return out;
}

// The consumer's request envelope that usage.reserve and usage.record bodies carry.
template <typename Body>
void RequestEnvelope(std::string_view body, std::vector<ledger::NestedEnvelope>* out) {
  Body b;
  if (b.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    out->push_back({std::move(*b.mutable_request()), kUsageRequestContext});
  }
}

class ReserveHandler : public ledger::TxHandler {
 public:
  void NestedEnvelopes(std::string_view body,
                       std::vector<ledger::NestedEnvelope>* out) const override {
    RequestEnvelope<tds::ReserveBody>(body, out);
  }
  absl::StatusOr<std::string> Apply(const ledger::TxContext& ctx, std::string_view body,
                                    ledger::StateWriter& state) const override {
    tds::ReserveBody rb;
    if (!rb.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return absl::InvalidArgumentError("usage.reserve: body is not a tds.ReserveBody");
    }
    const uint64_t ttl = rb.ttl_blocks() == 0 ? kDefaultReservationTtlBlocks : rb.ttl_blocks();
    if (ttl > kMaxReservationTtlBlocks) {
      return absl::InvalidArgumentError(absl::StrCat(
          "usage.reserve: ttl_blocks ", ttl, " exceeds the maximum ", kMaxReservationTtlBlocks));
    }
    TDS_ASSIGN_OR_RETURN(CheckedRequest cr, CheckRequest(kReserveTxType, ctx, rb.request(), state));
    const tds::Contract& c = cr.contract;
    const tds::Terms& t = cr.terms;
    const tds::UsageRequest& req = cr.request;
    const int64_t now = ctx.block->timestamp_ms;

    if (t.metering() != tds::METERING_STRICT) {
      return absl::FailedPreconditionError(absl::StrCat(
          "usage.reserve: contract ", c.id(), " is metered ", tds::MeteringMode_Name(t.metering()),
          "; reservations are for METERING_STRICT contracts"));
    }
    const tds::ContractState effective = EffectiveState(c, now);
    if (effective != tds::ACTIVE) {
      return absl::FailedPreconditionError(absl::StrCat("usage.reserve: contract ", c.id(), " is ",
                                                        tds::ContractState_Name(effective),
                                                        " at block time ", now));
    }
    TDS_RETURN_IF_ERROR(CheckRequestAgainstTerms(c, t, req, now));
    TDS_ASSIGN_OR_RETURN(tds::UsageCounters counters,
                         LoadCountersReleasingExpired(c.id(), ctx, state));
    if (auto existing = ReadReservation(state, cr.reservation_id); !existing.ok()) {
      return existing.status();
    } else if (existing->has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat("usage.reserve: request already reserved (reservation ", cr.reservation_id,
                       ", ", tds::ReservationState_Name((*existing)->state()), ")"));
    }
    TDS_RETURN_IF_ERROR(CheckNonceUnused(state, c.id(), req.nonce()));
    TDS_RETURN_IF_ERROR(CheckQuota(c, t, counters, now));
    const std::string nonce_key = NonceKey(c.id(), req.nonce());

    tds::Reservation r;
    r.set_id(cr.reservation_id);
    r.set_contract_id(c.id());
    r.set_created_height(ctx.block->height);
    r.set_expires_height(ctx.block->height + ttl);
    r.set_state(tds::RESERVATION_OPEN);
    state.Put(ReservationKey(r.id()), r.SerializeAsString());
    state.Put(ReservationExpiryKey(c.id(), r.expires_height(), r.id()), "");
    const std::string next_key = ReservationNextExpiryKey(c.id());
    TDS_ASSIGN_OR_RETURN(std::optional<std::string> next, state.Get(next_key));
    if (!next.has_value() || next->size() != 8 ||
        DecodeFixed64BE(next->data()) > r.expires_height()) {
      state.Put(next_key, EncodeHeight(r.expires_height()));
    }
    state.Put(nonce_key, "");
    counters.set_reserved_open(counters.reserved_open() + 1);
    state.Put(CounterKey(c.id()), counters.SerializeAsString());
    return absl::StrCat("reserved ", r.id(), " until height ", r.expires_height());
  }
};

absl::Status CheckMeasurement(const tds::UsageRecordBody& body) {
  if (!body.has_measurement()) {
    return absl::InvalidArgumentError("usage.record: measurement is missing");
  }
  const tds::Measurement& m = body.measurement();
  if (m.ended_ms() < m.started_ms()) {
    return absl::InvalidArgumentError(absl::StrCat("usage.record: measurement.ended_ms ",
                                                   m.ended_ms(), " is before started_ms ",
                                                   m.started_ms()));
  }
  if (!m.result_digest().empty() && m.result_digest().size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("usage.record: measurement.result_digest must be empty or 32 bytes, got ",
                     m.result_digest().size()));
  }
  if (!m.input_digest().empty() && m.input_digest().size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("usage.record: measurement.input_digest must be empty or 32 bytes, got ",
                     m.input_digest().size()));
  }
  return absl::OkStatus();
}

class RecordHandler : public ledger::TxHandler {
 public:
  void NestedEnvelopes(std::string_view body,
                       std::vector<ledger::NestedEnvelope>* out) const override {
    RequestEnvelope<tds::UsageRecordBody>(body, out);
  }
  absl::StatusOr<std::string> Apply(const ledger::TxContext& ctx, std::string_view body,
                                    ledger::StateWriter& state) const override {
    tds::UsageRecordBody rb;
    if (!rb.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return absl::InvalidArgumentError("usage.record: body is not a tds.UsageRecordBody");
    }
    TDS_RETURN_IF_ERROR(CheckMeasurement(rb));
    TDS_ASSIGN_OR_RETURN(CheckedRequest cr, CheckRequest(kRecordTxType, ctx, rb.request(), state));
    const tds::Contract& c = cr.contract;
    const tds::Terms& t = cr.terms;
    const tds::UsageRequest& req = cr.request;
    const tds::Measurement& m = rb.measurement();
    const int64_t now = ctx.block->timestamp_ms;

    TDS_ASSIGN_OR_RETURN(tds::UsageCounters counters,
                         LoadCountersReleasingExpired(c.id(), ctx, state));

    // Replay: a used nonce is acceptable only to consume this request's own reservation.
    const std::string nonce_key = NonceKey(c.id(), req.nonce());
    TDS_ASSIGN_OR_RETURN(std::optional<std::string> used, state.Get(nonce_key));
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Reservation> reservation,
                         ReadReservation(state, cr.reservation_id));
    if (reservation.has_value() && reservation->state() == tds::RESERVATION_CONSUMED) {
      reservation.reset();
    }
    if (used.has_value() && !reservation.has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat("usage request nonce already used in contract ", c.id()));
    }
    const bool own_open = reservation.has_value() && reservation->state() == tds::RESERVATION_OPEN;

    std::vector<tds::Violation> violations;
    auto flag = [&violations](std::string term, std::string detail) {
      tds::Violation v;
      v.set_term(std::move(term));
      v.set_detail(std::move(detail));
      violations.push_back(std::move(v));
    };

    const tds::ContractState effective = EffectiveState(c, now);
    if (effective != tds::ACTIVE) {
      flag("state", absl::StrCat("contract ", c.id(), " is ", tds::ContractState_Name(effective),
                                 " at block time ", now));
    }
    if (!InWindow(t, now)) {
      flag("window",
           absl::StrCat("block time ", now, " is outside the contract window ", WindowText(t)));
    } else if (!InWindow(t, m.started_ms())) {
      flag("window", absl::StrCat("measurement started at ", m.started_ms(),
                                  ", outside the contract window ", WindowText(t)));
    }
    if (!Contains(t.operations(), req.operation())) {
      flag("operation", absl::StrCat("'", req.operation(), "' is not permitted (allowed: ",
                                     JoinQuoted(t.operations()), ")"));
    }
    if (!Contains(t.purposes(), req.purpose())) {
      flag("purpose", absl::StrCat("'", req.purpose(),
                                   "' is not permitted (allowed: ", JoinQuoted(t.purposes()), ")"));
    }
    if (auto cols = UngrantedColumns(req, t); !cols.empty()) {
      flag("columns", absl::StrCat(absl::StrJoin(cols, ", "), " not permitted"));
    }
    const uint64_t today = Today(now);
    const uint64_t others_open = own_open && counters.reserved_open() > 0
                                     ? counters.reserved_open() - 1
                                     : counters.reserved_open();
    if (!own_open && t.max_calls_total() != 0) {
      const uint64_t call = counters.calls_total() + others_open + 1;
      if (call > t.max_calls_total()) {
        flag("calls_total",
             absl::StrCat("call ", call, " (", others_open, " reserved) exceeds max_calls_total ",
                          t.max_calls_total()));
      }
    }
    if (!own_open && t.max_calls_per_day() != 0) {
      const uint64_t call = CallsToday(counters, today) + others_open + 1;
      if (call > t.max_calls_per_day()) {
        flag("calls_per_day",
             absl::StrCat("call ", call, " of UTC day ", today, " (", others_open,
                          " reserved) exceeds max_calls_per_day ", t.max_calls_per_day()));
      }
    }
    if (t.max_rows_per_call() != 0 && m.rows_out() > t.max_rows_per_call()) {
      flag("rows_per_call", absl::StrCat("rows_out ", m.rows_out(), " exceeds max_rows_per_call ",
                                         t.max_rows_per_call()));
    }
    if (req.operation() == "stats" && t.min_group_size() != 0 && m.min_group_rows() > 0 &&
        m.min_group_rows() < t.min_group_size()) {
      flag("min_group_size", absl::StrCat("a reported group has ", m.min_group_rows(),
                                          " rows; min_group_size is ", t.min_group_size()));
    }
    if (t.metering() == tds::METERING_STRICT && !own_open) {
      flag("metering", reservation.has_value()
                           ? absl::StrCat("strict contract: reservation ", cr.reservation_id,
                                          " expired at height ", reservation->expires_height())
                           : std::string("strict contract: no open reservation for this request"));
    } else if (t.metering() == tds::METERING_BATCHED) {
      const __int128 delay = static_cast<__int128>(now) - m.ended_ms();
      if (delay > t.batched_max_delay_ms()) {
        flag("metering", absl::StrCat("batched record late by ",
                                      static_cast<int64_t>(delay - t.batched_max_delay_ms()),
                                      " ms (recorded ", static_cast<int64_t>(delay),
                                      " ms after the call ended; batched_max_delay_ms ",
                                      t.batched_max_delay_ms(), ")"));
      }
    }

    // Counters, nonce and reservation, atomically with the record.
    counters.set_calls_total(counters.calls_total() + 1);
    if (counters.day() != today) {
      counters.set_day(today);
      counters.set_calls_day(0);
    }
    counters.set_calls_day(counters.calls_day() + 1);
    const uint64_t rows = counters.rows_total();
    counters.set_rows_total(m.rows_out() > std::numeric_limits<uint64_t>::max() - rows
                                ? std::numeric_limits<uint64_t>::max()
                                : rows + m.rows_out());
    if (reservation.has_value()) {
      if (own_open) {
        counters.set_reserved_open(others_open);
        state.Delete(
            ReservationExpiryKey(c.id(), reservation->expires_height(), reservation->id()));
      }
      reservation->set_state(tds::RESERVATION_CONSUMED);
      reservation->set_consumed_index(ctx.index);
      state.Put(ReservationKey(reservation->id()), reservation->SerializeAsString());
    }
    state.Put(CounterKey(c.id()), counters.SerializeAsString());
    if (!used.has_value()) state.Put(nonce_key, "");

    tds::UsageRecordState rec;
    rec.set_index(ctx.index);
    rec.set_txid(std::string(AsBytes(ctx.txid)));
    rec.set_contract_id(c.id());
    rec.set_product_id(c.product_id());
    rec.set_provider(c.provider());
    rec.set_consumer(c.consumer());
    rec.set_operation(req.operation());
    rec.set_purpose(req.purpose());
    *rec.mutable_columns() = req.columns();
    *rec.mutable_measurement() = m;
    rec.set_height(ctx.block->height);
    rec.set_block_time_ms(now);
    rec.set_period(PeriodOf(now));
    rec.set_request_digest(cr.request_digest);
    for (tds::Violation& v : violations) *rec.add_violations() = std::move(v);
    WriteUsageRecord(state, rec);
    if (rec.violations_size() == 0) return std::string("recorded");
    std::vector<std::string> terms;
    for (const tds::Violation& v : rec.violations()) terms.push_back(v.term());
    return absl::StrCat(
        "recorded with ", rec.violations_size(),
        rec.violations_size() == 1 ? " violation: " : " violations: ", absl::StrJoin(terms, ", "));
  }
};

}  // namespace

absl::Status CheckRequestAgainstTerms(const tds::Contract& c, const tds::Terms& t,
                                      const tds::UsageRequest& req, int64_t block_time_ms) {
  if (!Contains(t.operations(), req.operation())) {
    return absl::PermissionDeniedError(
        absl::StrCat("terms.operations: '", req.operation(), "' is not permitted by contract ",
                     c.id(), " (allowed: ", JoinQuoted(t.operations()), ")"));
  }
  if (!Contains(t.purposes(), req.purpose())) {
    return absl::PermissionDeniedError(absl::StrCat("terms.purposes: '", req.purpose(),
                                                    "' is not permitted by contract ", c.id(),
                                                    " (allowed: ", JoinQuoted(t.purposes()), ")"));
  }
  if (auto cols = UngrantedColumns(req, t); !cols.empty()) {
    return absl::PermissionDeniedError(absl::StrCat("terms.columns: ", absl::StrJoin(cols, ", "),
                                                    " not permitted by contract ", c.id()));
  }
  if (!InWindow(t, block_time_ms)) {
    return absl::FailedPreconditionError(absl::StrCat("terms.valid_from_ms: block time ",
                                                      block_time_ms, " is outside contract ",
                                                      c.id(), "'s window ", WindowText(t)));
  }
  return absl::OkStatus();
}

absl::Status CheckNonceUnused(const ledger::StateReader& state, std::string_view contract_id,
                              std::string_view nonce) {
  TDS_ASSIGN_OR_RETURN(std::optional<std::string> used, state.Get(NonceKey(contract_id, nonce)));
  if (used.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("usage request nonce already used in contract ", std::string(contract_id)));
  }
  return absl::OkStatus();
}

absl::Status CheckQuota(const tds::Contract& c, const tds::Terms& t,
                        const tds::UsageCounters& counters, int64_t block_time_ms) {
  const uint64_t today = Today(block_time_ms);
  const uint64_t committed_total = counters.calls_total() + counters.reserved_open();
  if (t.max_calls_total() != 0 && committed_total >= t.max_calls_total()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("terms.max_calls_total: ", committed_total, " of ", t.max_calls_total(),
                     " calls used or reserved in contract ", c.id()));
  }
  const uint64_t committed_today = CallsToday(counters, today) + counters.reserved_open();
  if (t.max_calls_per_day() != 0 && committed_today >= t.max_calls_per_day()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("terms.max_calls_per_day: ", committed_today, " of ", t.max_calls_per_day(),
                     " calls today used or reserved in contract ", c.id()));
  }
  return absl::OkStatus();
}

absl::StatusOr<tds::UsageCounters> CountersAt(const ledger::StateReader& state,
                                              std::string_view contract_id, uint64_t height) {
  const std::string id(contract_id);
  TDS_ASSIGN_OR_RETURN(tds::UsageCounters counters, ReadCounters(state, id));
  // Release into a scratch overlay that is dropped: the same rule, no writes.
  ledger::StateOverlay scratch(&state);
  TDS_RETURN_IF_ERROR(ReleaseExpired(id, height, scratch, &counters));
  return counters;
}

std::string ReservationExpiryKey(std::string_view contract_id, uint64_t expires_height,
                                 std::string_view reservation_id) {
  std::string k =
      absl::StrCat(std::string(kReservationExpiryPrefix), std::string(contract_id), "/");
  PutFixed64BE(&k, expires_height);
  k.append(reservation_id);
  return k;
}

std::string ReservationNextExpiryKey(std::string_view contract_id) {
  return absl::StrCat(std::string(kReservationNextExpiryPrefix), std::string(contract_id));
}

void RegisterMetering(ledger::Application& app) {
  app.Register(std::string(kReserveTxType), std::make_unique<ReserveHandler>());
  app.Register(std::string(kRecordTxType), std::make_unique<RecordHandler>());
}

std::string SealUsageRequest(const SigningKey& consumer_key, const tds::UsageRequest& request) {
  return SealEnvelope(consumer_key, kUsageRequestContext, request.SerializeAsString());
}

absl::StatusOr<std::string> ReservationIdOf(std::string_view request_envelope) {
  tds::Envelope env;
  if (!env.ParseFromArray(request_envelope.data(), static_cast<int>(request_envelope.size()))) {
    return absl::InvalidArgumentError("usage request: not a valid Envelope message");
  }
  return HexEncode(Sha256(env.payload()));
}

}  // namespace tds::contracts
