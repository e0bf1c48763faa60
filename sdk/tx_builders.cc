#include "sdk/tx_builders.h"

#include <sodium.h>

#include <chrono>
#include <utility>

#include "catalog/catalog.h"
#include "common/envelope.h"
#include "common/wall_clock.h"
#include "contracts/contract_state.h"
#include "contracts/metering.h"
#include "contracts/negotiation.h"
#include "governance/governance.h"

namespace tds::sdk {
namespace {

TxBody Make(std::string_view type, const google::protobuf::MessageLite& body) {
  return TxBody{std::string(type), body.SerializeAsString()};
}

TxBody ContractAction(std::string_view type, const std::string& contract_id,
                      const std::string& reason) {
  tds::ContractActionBody body;
  body.set_contract_id(contract_id);
  body.set_reason(reason);
  return Make(type, body);
}

TxBody Propose(tds::ProposeBody body, const std::string& reason, uint64_t ttl_blocks) {
  body.set_reason(reason);
  body.set_ttl_blocks(ttl_blocks);
  return Make(governance::kProposeTxType, body);
}

}  // namespace

TxBody PublishProduct(const tds::Product& product) {
  tds::PublishBody body;
  *body.mutable_product() = product;
  return Make(catalog::kPublishTxType, body);
}

TxBody UpdateProduct(const tds::Product& product) {
  tds::PublishBody body;
  *body.mutable_product() = product;
  return Make(catalog::kUpdateTxType, body);
}

TxBody RetireProduct(const std::string& product_id, const std::string& reason) {
  tds::RetireBody body;
  body.set_product_id(product_id);
  body.set_reason(reason);
  return Make(catalog::kRetireTxType, body);
}

TxBody DeclareCost(const std::string& product_id, const std::string& period,
                   const std::string& category, int64_t amount, const std::string& currency,
                   const std::string& note) {
  tds::DeclareCostBody body;
  body.set_product_id(product_id);
  body.set_period(period);
  body.set_category(category);
  body.set_amount(amount);
  body.set_currency(currency);
  body.set_note(note);
  return Make(catalog::kDeclareCostTxType, body);
}

TxBody RequestContract(const std::string& product_id, const tds::Terms& terms) {
  tds::ContractActionBody body;
  body.set_product_id(product_id);
  body.set_terms(terms.SerializeAsString());
  return Make(contracts::kRequestTxType, body);
}

TxBody CounterContract(const std::string& contract_id, const tds::Terms& terms) {
  tds::ContractActionBody body;
  body.set_contract_id(contract_id);
  body.set_terms(terms.SerializeAsString());
  return Make(contracts::kCounterTxType, body);
}

TxBody AcceptContract(const std::string& contract_id, const std::string& terms_digest) {
  tds::ContractActionBody body;
  body.set_contract_id(contract_id);
  body.set_terms_digest(terms_digest);
  return Make(contracts::kAcceptTxType, body);
}

TxBody RejectContract(const std::string& contract_id, const std::string& reason) {
  return ContractAction(contracts::kRejectTxType, contract_id, reason);
}

TxBody TerminateContract(const std::string& contract_id, const std::string& reason) {
  return ContractAction(contracts::kTerminateTxType, contract_id, reason);
}

TxBody SuspendContract(const std::string& contract_id, const std::string& reason) {
  return ContractAction(contracts::kSuspendTxType, contract_id, reason);
}

TxBody ResumeContract(const std::string& contract_id) {
  return ContractAction(contracts::kResumeTxType, contract_id, "");
}

TxBody ExpireContract(const std::string& contract_id) {
  return ContractAction(contracts::kExpireTxType, contract_id, "");
}

TxBody ReserveUsage(const std::string& request, uint64_t ttl_blocks) {
  tds::ReserveBody body;
  body.set_request(request);
  body.set_ttl_blocks(ttl_blocks);
  return Make(contracts::kReserveTxType, body);
}

TxBody RecordUsage(const std::string& request, const tds::Measurement& measurement) {
  tds::UsageRecordBody body;
  body.set_request(request);
  *body.mutable_measurement() = measurement;
  return Make(contracts::kRecordTxType, body);
}

TxBody ProposeAddMember(const tds::Member& member, const std::string& reason, uint64_t ttl_blocks) {
  tds::ProposeBody body;
  *body.mutable_add_member() = member;
  return Propose(std::move(body), reason, ttl_blocks);
}

TxBody ProposeRemoveMember(const std::string& member_id, const std::string& reason,
                           uint64_t ttl_blocks) {
  tds::ProposeBody body;
  body.set_remove_member(member_id);
  return Propose(std::move(body), reason, ttl_blocks);
}

TxBody ProposeSetRoles(const std::string& member_id, const std::vector<std::string>& roles,
                       const std::string& reason, uint64_t ttl_blocks) {
  tds::ProposeBody body;
  body.mutable_set_roles()->set_member_id(member_id);
  for (const std::string& role : roles) body.mutable_set_roles()->add_roles(role);
  return Propose(std::move(body), reason, ttl_blocks);
}

TxBody Vote(uint64_t proposal_id, bool approve) {
  tds::VoteBody body;
  body.set_proposal_id(proposal_id);
  body.set_approve(approve);
  return Make(governance::kVoteTxType, body);
}

std::string RandomUsageNonce() {
  static const bool initialized = sodium_init() >= 0;  // thread-safe, idempotent
  (void)initialized;
  std::string nonce(kUsageNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  return nonce;
}

std::string BuildUsageRequest(const SigningKey& consumer_key, const std::string& consumer_id,
                              const std::string& contract_id, const std::string& operation,
                              const std::string& purpose, const std::vector<std::string>& columns,
                              const std::string& params_digest, const std::string& nonce) {
  tds::UsageRequest request;
  request.set_contract_id(contract_id);
  request.set_consumer(consumer_id);
  request.set_operation(operation);
  request.set_purpose(purpose);
  for (const std::string& c : columns) request.add_columns(c);
  request.set_params_digest(params_digest);
  request.set_nonce(nonce.empty() ? RandomUsageNonce() : nonce);
  request.set_created_ms(WallClockMs());
  // Serialized once; these exact bytes are what the consumer signs and the ledger carries.
  return SealEnvelope(consumer_key, contracts::kUsageRequestContext, request.SerializeAsString());
}

}  // namespace tds::sdk
