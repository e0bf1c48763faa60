// The metered gateway in process: a real ledger (contracts application), real CSV sources, the
// Compute service on a loopback gRPC server, and the SDK's compute client as the consumer.

#include "node/gateway/gateway.h"

#include "node/gateway/gateway_test.h"

namespace tds::node::gateway {
namespace {

std::string TypeOf(const std::string& envelope) {
  tds::Envelope env;
  tds::Transaction tx;
  if (!env.ParseFromString(envelope) || !tx.ParseFromString(env.payload())) return "";
  return tx.type();
}

// --- Happy paths. ---

TEST_F(GatewayTest, StrictRunReleasesItsResultWithAReceiptThatVerifiesOffline) {
  SeedContract("c-strict", BaseTerms(tds::METERING_STRICT));
  sdk::PreparedRun run = Prepare("c-strict", Params("both"));
  auto r = RunPrepared(run);
  ASSERT_TRUE(r.ok()) << r.status();

  std::vector<uint64_t> expected;
  for (uint64_t i = 0; i < 50; ++i) expected.push_back(i);
  EXPECT_EQ(r->matched, expected);
  EXPECT_EQ(r->intersection_size, 50u);
  EXPECT_EQ(r->result.intersection_size(), 50u);  // the provider learns it in "both"

  // The record had committed when the result arrived: it is in the state and the receipt
  // proves it with nothing but the genesis file.
  auto genesis = ledger::GenesisInfo::Parse(genesis_json_, "genesis");
  ASSERT_TRUE(genesis.ok());
  auto verified = ledger::VerifyReceipt(r->result.receipt(), *genesis);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->tx.type(), contracts::kRecordTxType);
  EXPECT_EQ(verified->submitter, kProv.id);
  EXPECT_EQ(AsBytes(verified->txid), r->result.usage_txid());
  tds::UsageRecordBody body;
  ASSERT_TRUE(body.ParseFromString(verified->tx.body()));
  EXPECT_EQ(body.request(), run.request);  // the consumer's exact signed bytes
  EXPECT_EQ(body.measurement().SerializeAsString(), r->result.measurement().SerializeAsString());

  auto record = contracts::ReadUsageRecord(ledger_->state(), verified->index);
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->contract_id(), "c-strict");
  EXPECT_EQ((*record)->operation(), "psi");
  EXPECT_EQ((*record)->violations_size(), 0) << (*record)->DebugString();
  EXPECT_EQ(r->result.violations_size(), 0);

  const tds::Measurement& m = r->result.measurement();
  EXPECT_EQ(m.rows_in(), 100u);
  EXPECT_GT(m.bytes_in(), 100u * 32);  // the consumer's 100 masked points, at least
  EXPECT_GT(m.bytes_out(), 0u);
  EXPECT_EQ(m.result_digest().size(), 32u);
  EXPECT_EQ(m.started_ms(), kT0);

  const tds::UsageCounters counters = Counters("c-strict");
  EXPECT_EQ(counters.calls_total(), 1u);
  EXPECT_EQ(counters.reserved_open(), 0u);  // the reservation was consumed by the record
}

TEST_F(GatewayTest, BatchedRunReleasesAtOnceAndItsRecordCommitsAfter) {
  SeedContract("c-batch", BaseTerms(tds::METERING_BATCHED));
  auto r = RunPrepared(Prepare("c-batch", Params("both")));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->intersection_size, 50u);
  EXPECT_FALSE(r->result.has_receipt());
  auto txid = HashFromBytes(r->result.usage_txid(), "txid");
  ASSERT_TRUE(txid.ok());
  // No reservation was made; the record commits on its own.
  absl::StatusOr<ledger::TxRecord> tx = WaitForTransaction(*txid);
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(tx->result, "recorded");
  EXPECT_EQ(Counters("c-batch").calls_total(), 1u);
  std::lock_guard<std::mutex> lock(reports_mu_);
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_FALSE(reports_[0].strict);
  EXPECT_TRUE(reports_[0].recorded);
}

TEST_F(GatewayTest, EachPsiOutputModeRevealsWhatItSays) {
  SeedContract("c-only", BaseTerms(tds::METERING_STRICT, ""));  // default: consumer_only
  SeedContract("c-size", BaseTerms(tds::METERING_STRICT, "size_only"));

  auto only = RunPrepared(Prepare("c-only", Params("")));
  ASSERT_TRUE(only.ok()) << only.status();
  EXPECT_EQ(only->matched.size(), 50u);
  EXPECT_EQ(only->intersection_size, 50u);
  EXPECT_EQ(only->result.intersection_size(), 0u);  // the provider learns nothing
  EXPECT_EQ(only->result.measurement().rows_out(), 0u);

  auto size = RunPrepared(Prepare("c-size", Params("size_only")));
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_TRUE(size->matched.empty());
  EXPECT_EQ(size->intersection_size, 50u);
  EXPECT_EQ(size->result.intersection_size(), 0u);
}

tds::StatSpec Stat(const std::string& kind, const std::string& column,
                   std::vector<std::string> bounds = {}) {
  tds::StatSpec s;
  s.set_kind(kind);
  s.set_column(column);
  for (std::string& b : bounds) s.add_bounds(std::move(b));
  return s;
}

TEST_F(GatewayTest, StatsOverTheMatchedRowsAreExactAndRespectTheMinimumGroup) {
  tds::Terms terms = BaseTerms(tds::METERING_STRICT);
  terms.set_min_group_size(10);
  SeedContract("c-stats", terms);
  tds::PsiParams params = Params("both");
  *params.add_stats() = Stat("count", "income");
  *params.add_stats() = Stat("sum", "income");
  *params.add_stats() = Stat("mean", "income");
  *params.add_stats() = Stat("histogram", "income", {"60000", "80000"});
  *params.add_stats() = Stat("sum", "age");
  auto r = RunPrepared(Prepare("c-stats", params));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->stats.size(), 5u);
  // Matched provider rows i = 50..99: income 1000·i + 0.25, age 20 + i % 50.
  EXPECT_EQ(r->stats[0].value(), "50");
  EXPECT_EQ(r->stats[1].value(), "3725012.5");
  EXPECT_EQ(r->stats[2].value(), "74500.250000");
  EXPECT_THAT(r->stats[3].buckets(), ::testing::ElementsAre(10, 20, 20));
  EXPECT_EQ(r->stats[4].value(), absl::StrCat(50 * 20 + 49 * 50 / 2));
  auto record = contracts::ReadUsageRecord(ledger_->state(), r->result.receipt().index());
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->operation(), "stats");
  EXPECT_THAT((*record)->columns(), ::testing::ElementsAre("income", "age"));

  // A bucket below k refuses the statistics, naming it; the call (the intersection both
  // learned) stays recorded.
  tds::PsiParams fine = Params("both");
  *fine.add_stats() = Stat("histogram", "income", {"55000", "80000"});
  auto small = RunPrepared(Prepare("c-stats", fine));
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(small.status().message()),
              HasSubstr("histogram of income: bucket (-inf, 55000] has fewer than 10 rows; the "
                        "contract requires at least 10"));
  EXPECT_EQ(Counters("c-stats").calls_total(), 2u);
}

// --- Refusals: each names what failed, reads no data and meters nothing. ---

TEST_F(GatewayTest, RefusesARunWithoutAContract) {
  ExpectRefused(Prepare("c-missing", Params("both")), absl::StatusCode::kNotFound,
                "no contract c-missing", "c-missing");
}

TEST_F(GatewayTest, RefusesAnExpiredContract) {
  tds::Terms terms = BaseTerms(tds::METERING_STRICT);
  terms.set_valid_until_ms(kT0 - 1);
  SeedContract("c-old", terms);
  ExpectRefused(Prepare("c-old", Params("both")), absl::StatusCode::kFailedPrecondition,
                "contract c-old is EXPIRED", "c-old");
}

TEST_F(GatewayTest, RefusesWhenTheQuotaIsExhausted) {
  tds::Terms terms = BaseTerms(tds::METERING_STRICT);
  terms.set_max_calls_total(1);
  SeedContract("c-quota", terms);
  ASSERT_TRUE(RunPrepared(Prepare("c-quota", Params("both"))).ok());
  ExpectRefused(Prepare("c-quota", Params("both")), absl::StatusCode::kResourceExhausted,
                "terms.max_calls_total: 1 of 1 calls used or reserved in contract c-quota",
                "c-quota");
}

TEST_F(GatewayTest, QuotaPreviewDoesNotCountExpiredReservations) {
  tds::Terms terms = BaseTerms(tds::METERING_STRICT);
  terms.set_max_calls_total(1);
  SeedContract("c-exp", terms);
  // Another request reserved the only call for one block, and never ran.
  sdk::PreparedRun other = Prepare("c-exp", Params("both"));
  tds::ReserveBody reserve;
  reserve.set_request(other.request);
  reserve.set_ttl_blocks(1);
  Seed(contracts::kReserveTxType, reserve.SerializeAsString());
  ASSERT_EQ(Counters("c-exp").reserved_open(), 1u);  // as stored: not yet released
  // By the next block that reservation has expired: the gate and usage.reserve agree.
  auto r = RunPrepared(Prepare("c-exp", Params("both")));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Counters("c-exp").calls_total(), 1u);
  EXPECT_EQ(Counters("c-exp").reserved_open(), 0u);
}

TEST_F(GatewayTest, RefusesAPurposeTheContractDoesNotGrant) {
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  ExpectRefused(Prepare("c-1", Params("both"), kBank, "marketing"),
                absl::StatusCode::kPermissionDenied,
                "terms.purposes: 'marketing' is not permitted by contract c-1 (allowed: "
                "'credit_risk')",
                "c-1");
}

TEST_F(GatewayTest, RefusesAnOperationTheContractDoesNotGrant) {
  tds::Terms terms = BaseTerms(tds::METERING_STRICT);
  terms.clear_operations();
  terms.add_operations("psi");
  SeedContract("c-psi", terms);
  tds::PsiParams params = Params("both");
  *params.add_stats() = Stat("sum", "income");
  ExpectRefused(Prepare("c-psi", params), absl::StatusCode::kPermissionDenied,
                "terms.operations: 'stats' is not permitted by contract c-psi (allowed: 'psi')",
                "c-psi");
}

TEST_F(GatewayTest, RefusesAMemberWithoutTheConsumerRole) {
  SeedContract("c-aud", BaseTerms(tds::METERING_STRICT), kAud);
  ExpectRefused(Prepare("c-aud", Params("both"), kAud), absl::StatusCode::kPermissionDenied,
                "member 'aud' lacks role 'consumer'", "c-aud");
}

TEST_F(GatewayTest, RefusesARequestWithABadSignature) {
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  // Signed by bank2's key, claiming to be bank.
  ExpectRefused(PrepareOperation("c-1", "psi", Params("both"), kBank2, kBank.id),
                absl::StatusCode::kUnauthenticated,
                "usage request: bad signature: not signed by the key of consumer 'bank'", "c-1");
  // Bank's signature over other bytes.
  sdk::PreparedRun run = Prepare("c-1", Params("both"));
  tds::Envelope env;
  ASSERT_TRUE(env.ParseFromString(run.request));
  std::string sig = env.signature();
  sig[0] ^= 1;
  env.set_signature(sig);
  run.request = env.SerializeAsString();
  ExpectRefused(run, absl::StatusCode::kUnauthenticated,
                "usage request: bad signature: envelope signature: does not verify", "c-1");
}

TEST_F(GatewayTest, RefusesAReplayedNonce) {
  SeedContract("c-1", BaseTerms(tds::METERING_BATCHED));
  sdk::PreparedRun run = Prepare("c-1", Params("both"));
  auto first = RunPrepared(run);
  ASSERT_TRUE(first.ok()) << first.status();
  // (While the batched record is in flight the gateway refuses the nonce itself:
  // ConcurrentRunsOfOneRequestRunOnce.) Once it has committed, the state does.
  for (int i = 0; i < 500 && Counters("c-1").calls_total() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(Counters("c-1").calls_total(), 1u);
  ExpectRefused(run, absl::StatusCode::kAlreadyExists,
                "usage request nonce already used in contract c-1", "c-1");
}

TEST_F(GatewayTest, RefusesAnUnknownMember) {
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  ExpectRefused(PrepareOperation("c-1", "psi", Params("both"), kGhost),
                absl::StatusCode::kUnauthenticated,
                "usage request: consumer 'ghost' is not a current member", "c-1");
}

TEST_F(GatewayTest, NeverRunsARawExportOfLevel3DataAndReadsNothing) {
  tds::Terms terms = BaseTerms(tds::METERING_STRICT);
  terms.add_operations("query");  // even a contract that (wrongly) grants it
  SeedContract("c-phone", terms, kBank, kPhoneBook);
  ExpectRefused(PrepareOperation("c-phone", "query", Params("both")),
                absl::StatusCode::kPermissionDenied,
                "product phone-book is classified level 3: operation 'query' exports raw rows, "
                "which is never allowed at level 3 or above",
                "c-phone");
}

TEST_F(GatewayTest, RefusesOtherBadRequestsNamingWhatFailed) {
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  SeedContract("c-only", BaseTerms(tds::METERING_STRICT, "consumer_only"));
  // Another consumer's contract.
  ExpectRefused(Prepare("c-1", Params("both"), kBank2), absl::StatusCode::kPermissionDenied,
                "usage request: consumer 'bank2' is not the consumer of contract c-1", "c-1");
  // Parameters other than those signed.
  sdk::PreparedRun run = Prepare("c-1", Params("both"));
  run.params = Params("consumer_only").SerializeAsString();
  ExpectRefused(run, absl::StatusCode::kInvalidArgument,
                "params: their SHA-256 is not the request's params_digest", "c-1");
  // An output other than the contract's.
  ExpectRefused(Prepare("c-only", Params("both")), absl::StatusCode::kPermissionDenied,
                "terms.psi_output: the request asks for 'both'; contract c-only grants "
                "'consumer_only'",
                "c-only");
  // Statistics need "both".
  tds::PsiParams stats = Params("consumer_only");
  *stats.add_stats() = Stat("sum", "income");
  ExpectRefused(Prepare("c-only", stats), absl::StatusCode::kPermissionDenied,
                "statistics over the matched rows need psi_output 'both'", "c-only");
  // Statistics of a non-numeric column.
  tds::PsiParams region = Params("both");
  *region.add_stats() = Stat("count", "region");
  ExpectRefused(Prepare("c-1", region), absl::StatusCode::kInvalidArgument,
                "stats[0]: column 'region' is string; this needs int64 or double", "c-1");
  // A column the contract does not grant.
  tds::PsiParams phone = Params("both");
  *phone.add_stats() = Stat("sum", "phone");
  ExpectRefused(Prepare("c-1", phone), absl::StatusCode::kPermissionDenied,
                "terms.columns: 'phone' not permitted by contract c-1", "c-1");
  // Parameters of another operation.
  tds::Terms lr = BaseTerms(tds::METERING_STRICT);
  lr.add_operations("lr_train");
  SeedContract("c-lr", lr);
  ExpectRefused(PrepareOperation("c-lr", "lr_train", Params("both")),
                absl::StatusCode::kInvalidArgument, "params: not the parameters of 'lr_train'",
                "c-lr");
  tds::Terms enclave = BaseTerms(tds::METERING_STRICT);
  enclave.add_operations("enclave_sql");
  SeedContract("c-enclave", enclave);
  ExpectRefused(PrepareOperation("c-enclave", "enclave_sql", Params("both")),
                absl::StatusCode::kDataLoss, "params.job_spec: job spec: bad magic (expected TDSJ)",
                "c-enclave");
}

TEST_F(GatewayTest, RefusesAProductThisNodeDoesNotServe) {
  tds::Product other = Product("other-data", 2);
  other.set_provider(kProv2.id);
  Seed(contracts::usage_testing::kSeedProductTx, other.SerializeAsString());
  // The contract names this node as provider of a product it has no source for.
  SeedContract("c-other", BaseTerms(tds::METERING_STRICT), kBank, "other-data");
  ExpectRefused(Prepare("c-other", Params("both")), absl::StatusCode::kFailedPrecondition,
                "this node does not serve product other-data: no data source is configured for it",
                "c-other");
}

TEST_F(GatewayTest, RefusesBeyondItsConcurrencyLimit) {
  GatewayOptions options;
  options.max_concurrent_runs = 0;
  StartGateway(options);
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  ExpectRefused(Prepare("c-1", Params("both")), absl::StatusCode::kResourceExhausted,
                "the gateway is running 0 computations, its limit; retry later", "c-1");
}

// Every RPC of tds.Compute, called without a valid contract, is refused. A new RPC without a
// case here fails this test: there is no way around the gate.
TEST_F(GatewayTest, EveryComputeRpcWithoutAValidContractIsRefused) {
  const std::map<std::string, std::function<absl::Status()>> calls = {
      {"Run",
       [&] {
         // No contract; then a stream that never says what it is for.
         absl::Status no_contract = RunPrepared(Prepare("c-none", Params("both"))).status();
         EXPECT_THAT(std::string(no_contract.message()), HasSubstr("no contract c-none"));
         auto stub = tds::Compute::NewStub(channel_);
         grpc::ClientContext ctx;
         auto stream = stub->Run(&ctx);
         tds::ComputeMessage m;
         m.set_protocol("hello");
         stream->Write(m);
         stream->WritesDone();
         grpc::Status bare = stream->Finish();
         EXPECT_EQ(bare.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
         EXPECT_THAT(bare.error_message(), HasSubstr("the first message must be a ComputeStart"));
         return no_contract;
       }},
  };
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          tds::Compute::service_full_name());
  ASSERT_NE(service, nullptr);
  ASSERT_GT(service->method_count(), 0);
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string name = service->method(i)->name();
    auto it = calls.find(name);
    ASSERT_NE(it, calls.end()) << "tds.Compute." << name
                               << " has no refusal case: every compute RPC must pass the gate";
    const int scans = Scans();
    absl::Status s = it->second();
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_EQ(Scans(), scans) << name << " read data without a contract";
  }
}

// --- The release gate. ---

TEST_F(GatewayTest, StrictRunWhoseRecordIsRefusedReleasesNothing) {
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  filter_ = [this](std::string envelope, ledger::Ledger::Done done) {
    if (TypeOf(envelope) == contracts::kRecordTxType) {
      done(absl::FailedPreconditionError("simulated ledger refusal"));
      return;
    }
    ledger_->Submit(std::move(envelope), std::move(done));
  };
  auto r = RunPrepared(Prepare("c-1", Params("both")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("usage.record: simulated ledger refusal"));
  const tds::UsageCounters counters = Counters("c-1");
  EXPECT_EQ(counters.calls_total(), 0u);    // nothing recorded
  EXPECT_EQ(counters.reserved_open(), 1u);  // the reservation holds until it expires
}

// Whether RunEcdhPsi calls EcdhPsiOptions::before_release (the protocol's release gate).
bool ReleaseGateIsLive() {
  auto [a, b] = compute::MemoryLinkPair();
  std::atomic<bool> called{false};
  compute::psi::EcdhPsiOptions sender;
  sender.threads = 1;
  sender.before_release = [&called](const compute::psi::PsiReleaseInfo&) {
    called = true;
    return absl::OkStatus();
  };
  compute::psi::EcdhPsiOptions receiver;
  receiver.threads = 1;
  const std::vector<std::string> items = {"x"};
  std::thread t(
      [&] { (void)compute::psi::RunEcdhPsi(compute::psi::PsiRole::kSender, items, sender, *a); });
  (void)compute::psi::RunEcdhPsi(compute::psi::PsiRole::kReceiver, items, receiver, *b);
  t.join();
  return called.load();
}

// Below the SDK: with the protocol's release gate live, a strict run whose record is refused
// leaves the consumer's own protocol without a result, not merely the SDK call.
TEST_F(GatewayTest, StrictRefusalAtTheReleaseGateLeavesTheConsumerWithNothing) {
  // The gateway records at this gate; without it a strict run would release before recording.
  ASSERT_TRUE(ReleaseGateIsLive()) << "RunEcdhPsi no longer calls before_release";
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  filter_ = [this](std::string envelope, ledger::Ledger::Done done) {
    if (TypeOf(envelope) == contracts::kRecordTxType) {
      done(absl::FailedPreconditionError("simulated ledger refusal"));
      return;
    }
    ledger_->Submit(std::move(envelope), std::move(done));
  };
  sdk::PreparedRun run = Prepare("c-1", Params("both"));
  std::unique_ptr<RawRun> raw = StartRaw(run);
  ASSERT_TRUE(raw->started);
  grpc::ClientContext& ctx = raw->ctx;
  auto& stream = raw->stream;
  compute::StreamLink<grpc::ClientReaderWriter<tds::ComputeMessage, tds::ComputeMessage>> link(
      stream.get(), [&ctx] { ctx.TryCancel(); });
  compute::psi::EcdhPsiOptions options;
  options.output = compute::psi::PsiOutput::kBoth;
  auto psi =
      compute::psi::RunEcdhPsi(compute::psi::PsiRole::kReceiver, ConsumerIds(), options, link);
  EXPECT_FALSE(psi.ok()) << "the consumer's protocol completed although nothing was recorded";
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("usage.record: simulated ledger refusal"));
  EXPECT_EQ(Counters("c-1").calls_total(), 0u);
}

TEST_F(GatewayTest,
       StrictRunThatFailsAfterItsRecordCommittedReleasesNothingAndIsNeverRecordedTwice) {
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  std::atomic<int> records{0};
  // The record commits, then the node loses its answer (a crash, a timeout).
  filter_ = [this, &records](std::string envelope, ledger::Ledger::Done done) {
    if (TypeOf(envelope) == contracts::kRecordTxType) {
      ++records;
      auto ack = ledger_->SubmitAndWait(std::move(envelope));
      EXPECT_TRUE(ack.ok()) << ack.status();
      done(absl::UnavailableError("node crashed after the commit"));
      return;
    }
    ledger_->Submit(std::move(envelope), std::move(done));
  };
  sdk::PreparedRun run = Prepare("c-1", Params("both"));
  auto r = RunPrepared(run);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("node crashed after the commit"));
  EXPECT_EQ(Counters("c-1").calls_total(), 1u);  // the record stands
  EXPECT_EQ(records.load(), 1);

  // Retrying the same request cannot produce a second record.
  filter_ = nullptr;
  auto again = RunPrepared(run);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Counters("c-1").calls_total(), 1u);
}

TEST_F(GatewayTest, SubmitsExactlyOneRecordPerRun) {
  SeedContract("c-s", BaseTerms(tds::METERING_STRICT));
  SeedContract("c-b", BaseTerms(tds::METERING_BATCHED));
  std::atomic<int> records{0}, reserves{0};
  filter_ = [&](std::string envelope, ledger::Ledger::Done done) {
    const std::string type = TypeOf(envelope);
    if (type == contracts::kRecordTxType) ++records;
    if (type == contracts::kReserveTxType) ++reserves;
    ledger_->Submit(std::move(envelope), std::move(done));
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(RunPrepared(Prepare("c-s", Params("both"))).ok());
    ASSERT_TRUE(RunPrepared(Prepare("c-b", Params("both"))).ok());
  }
  EXPECT_EQ(records.load(), 6);
  EXPECT_EQ(reserves.load(), 3);  // strict only
}

TEST_F(GatewayTest, ConcurrentRunsOfOneRequestRunOnce) {
  SeedContract("c-1", BaseTerms(tds::METERING_BATCHED));
  sdk::PreparedRun run = Prepare("c-1", Params("both"));
  std::vector<std::future<absl::StatusOr<sdk::PsiRunResult>>> runs;
  for (int i = 0; i < 3; ++i) {
    runs.push_back(std::async(std::launch::async, [&] { return RunPrepared(run); }));
  }
  int ok = 0;
  for (auto& f : runs) {
    auto r = f.get();
    if (r.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
    }
  }
  EXPECT_EQ(ok, 1);
  for (int i = 0; i < 500 && Counters("c-1").calls_total() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Counters("c-1").calls_total(), 1u);
}

// --- OT-PSI (KKRT16) through the gate. ---

tds::PsiParams OtParams(const std::string& output) {
  tds::PsiParams p;
  p.set_output(output);
  p.set_protocol(compute::kPsiOt);
  return p;
}

// Consumer ids id-(100 - n/2) ..: the first half of them are provider rows.
std::vector<std::string> ManyIds(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(absl::StrCat("id-", 100 - n / 2 + i));
  return ids;
}

TEST_F(GatewayTest, OtPsiRunIsCorrectRecordedOnceAndReceipted) {
  tds::Terms terms = BaseTerms(tds::METERING_STRICT);
  terms.set_psi_protocol("ot");
  SeedContract("c-ot", terms);
  std::atomic<int> records{0};
  filter_ = [&](std::string envelope, ledger::Ledger::Done done) {
    if (TypeOf(envelope) == contracts::kRecordTxType) ++records;
    ledger_->Submit(std::move(envelope), std::move(done));
  };
  sdk::PreparedRun run = Prepare("c-ot", OtParams("both"));
  auto r = RunPrepared(run);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->protocol, "ot");
  // Against the plaintext intersection: consumer positions 0..49 (id-50..id-99).
  std::vector<uint64_t> expected;
  for (uint64_t i = 0; i < 50; ++i) expected.push_back(i);
  EXPECT_EQ(r->matched, expected);
  EXPECT_EQ(r->intersection_size, 50u);
  EXPECT_EQ(r->result.intersection_size(), 50u);  // "both": the provider learns it too

  auto genesis = ledger::GenesisInfo::Parse(genesis_json_, "genesis");
  ASSERT_TRUE(genesis.ok());
  auto verified = ledger::VerifyReceipt(r->result.receipt(), *genesis);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->tx.type(), contracts::kRecordTxType);
  tds::UsageRecordBody body;
  ASSERT_TRUE(body.ParseFromString(verified->tx.body()));
  EXPECT_EQ(body.request(), run.request);
  const tds::Measurement& m = body.measurement();
  EXPECT_EQ(m.rows_in(), 100u);
  EXPECT_GT(m.bytes_in(), 100u * 64);  // a 512-bit OT row per cuckoo bin, at least
  EXPECT_EQ(m.result_digest().size(), 32u);
  EXPECT_TRUE(m.input_digest().empty());
  EXPECT_EQ(records.load(), 1);
  EXPECT_EQ(Counters("c-ot").calls_total(), 1u);
  EXPECT_EQ(Counters("c-ot").reserved_open(), 0u);

  // Statistics align by the same OT-PSI ("both" tells the provider its matched rows).
  tds::PsiParams stats = OtParams("both");
  *stats.add_stats() = Stat("sum", "income");
  auto s = RunPrepared(Prepare("c-ot", stats));
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->stats.size(), 1u);
  EXPECT_EQ(s->stats[0].value(), "3725012.5");  // rows 50..99: sum of 1000·i + 0.25
  EXPECT_EQ(records.load(), 2);
}

TEST_F(GatewayTest, AutoRunsEcdhForSmallConsumerSetsAndOtForLargeOnes) {
  SeedContract("c-auto", BaseTerms(tds::METERING_BATCHED, "consumer_only"));
  // 100 items < 2^10: ECDH-PSI.
  ASSERT_EQ(*compute::ChoosePsiProtocol("", "consumer_only", 100), "ecdh");
  auto small = RunPrepared(Prepare("c-auto", Params("consumer_only")));
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->protocol, "ecdh");
  EXPECT_EQ(small->intersection_size, 50u);
  // 2,000 items: OT-PSI, and a consumer stating ecdh is refused.
  const std::vector<std::string> ids = ManyIds(2000);  // id-(-900)..id-1099: 100 in the table
  ASSERT_EQ(*compute::ChoosePsiProtocol("auto", "consumer_only", ids.size()), "ot");
  tds::PsiParams params = OtParams("consumer_only");
  params.set_items(ids.size());
  auto large = sdk::RunPrepared(
      channel_, 30'000,
      sdk::PreparePsi(*KeyFromByte(kBank.key), kBank.id, "c-auto", "credit_risk", params), ids);
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(large->protocol, "ot");
  EXPECT_EQ(large->intersection_size, 100u);
  std::vector<uint64_t> expected;
  for (uint64_t i = 900; i < 1000; ++i) expected.push_back(i);  // id-0..id-99
  EXPECT_EQ(large->matched, expected);

  params.set_protocol("ecdh");
  auto mismatch = sdk::RunPrepared(
      channel_, 30'000,
      sdk::PreparePsi(*KeyFromByte(kBank.key), kBank.id, "c-auto", "credit_risk", params), ids);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(mismatch.status().message()),
              HasSubstr("params.protocol: the consumer runs 'ecdh' but contract c-auto "
                        "(psi_protocol 'auto', output 'consumer_only', 2000 consumer items) runs "
                        "'ot'"));
}

TEST_F(GatewayTest, RefusesAProtocolOtherThanTheContractsChoice) {
  tds::Terms ot = BaseTerms(tds::METERING_STRICT);
  ot.set_psi_protocol("ot");
  SeedContract("c-ot", ot);
  tds::Terms ecdh = BaseTerms(tds::METERING_STRICT);
  ecdh.set_psi_protocol("ecdh");
  SeedContract("c-ecdh", ecdh);
  // "" is what consumers before OT-PSI send: ecdh.
  ExpectRefused(Prepare("c-ot", Params("both")), absl::StatusCode::kFailedPrecondition,
                "params.protocol: the consumer runs 'ecdh' but contract c-ot (psi_protocol 'ot', "
                "output 'both', 100 consumer items) runs 'ot'",
                "c-ot");
  ExpectRefused(Prepare("c-ecdh", OtParams("both")), absl::StatusCode::kFailedPrecondition,
                "params.protocol: the consumer runs 'ot' but contract c-ecdh (psi_protocol "
                "'ecdh', output 'both', 100 consumer items) runs 'ecdh'",
                "c-ecdh");
  tds::PsiParams bogus = Params("both");
  bogus.set_protocol("rr22");
  ExpectRefused(Prepare("c-ecdh", bogus), absl::StatusCode::kInvalidArgument,
                "params.protocol: 'rr22' is not ecdh or ot", "c-ecdh");
}

TEST_F(GatewayTest, RefusesOtPsiForSizeOnlyNamingWhy) {
  // A contract that (wrongly: ValidateTerms refuses it) pairs ot with size_only.
  tds::Terms terms = BaseTerms(tds::METERING_STRICT, "size_only");
  terms.set_psi_protocol("ot");
  SeedContract("c-ot-size", terms);
  ExpectStartRefused(
      Prepare("c-ot-size", OtParams("size_only")), absl::StatusCode::kFailedPrecondition,
      "terms.psi_protocol: 'ot' cannot run psi_output 'size_only' (an OT-PSI receiver "
      "always learns which of its items matched); the contract needs psi_protocol ecdh "
      "or auto (contract c-ot-size)",
      "c-ot-size");
  // Under auto, size_only runs ECDH-PSI whatever the size: a consumer stating ot is refused.
  SeedContract("c-size", BaseTerms(tds::METERING_STRICT, "size_only"));
  ExpectStartRefused(Prepare("c-size", OtParams("size_only")),
                     absl::StatusCode::kFailedPrecondition,
                     "params.protocol: the consumer runs 'ot' but contract c-size (psi_protocol "
                     "'auto', output 'size_only', 100 consumer items) runs 'ecdh'",
                     "c-size");
}

// A consumer link that breaks its own protocol stream: truncates its `victim`-th message by one
// byte, or (truncate = false) closes the link instead of sending it.
class BreakingLink : public compute::Link {
 public:
  BreakingLink(compute::Link* inner, int victim, bool truncate)
      : inner_(inner), victim_(victim), truncate_(truncate) {}
  absl::Status Send(std::string message) override {
    if (++sent_ == victim_) {
      if (!truncate_) {
        inner_->Close();
        return absl::UnavailableError("closed by the test");
      }
      message.pop_back();
    }
    return inner_->Send(std::move(message));
  }
  absl::StatusOr<std::string> Recv() override { return inner_->Recv(); }
  void Close() override { inner_->Close(); }

 private:
  compute::Link* const inner_;
  const int victim_;
  const bool truncate_;
  int sent_ = 0;
};

TEST_F(GatewayTest, AMalformedOrTruncatedOtStreamEndsTheRunWithNothingRecorded) {
  tds::Terms terms = BaseTerms(tds::METERING_STRICT);
  terms.set_psi_protocol("ot");
  SeedContract("c-ot", terms);
  std::atomic<int> records{0};
  filter_ = [&](std::string envelope, ledger::Ledger::Done done) {
    if (TypeOf(envelope) == contracts::kRecordTxType) ++records;
    ledger_->Submit(std::move(envelope), std::move(done));
  };
  // The receiver sends hello (1), the base-OT point (2), then the OT-extension columns (3).
  struct Case {
    int victim;
    bool truncate;
    const char* provider_says;
  };
  for (const Case& c : {Case{3, true, "kkrt psi sender: the receiver's columns"},
                        Case{1, true, "kkrt psi sender"}, Case{3, false, ""}}) {
    SCOPED_TRACE(absl::StrCat("message ", c.victim, c.truncate ? " truncated" : " never sent"));
    sdk::PreparedRun run = Prepare("c-ot", OtParams("both"));
    std::unique_ptr<RawRun> raw = StartRaw(run);
    ASSERT_TRUE(raw->started);
    grpc::ClientContext& ctx = raw->ctx;
    auto& stream = raw->stream;
    compute::StreamLink<grpc::ClientReaderWriter<tds::ComputeMessage, tds::ComputeMessage>> link(
        stream.get(), [&ctx] { ctx.TryCancel(); });
    BreakingLink broken(&link, c.victim, c.truncate);
    compute::psi::KkrtPsiOptions options;
    options.output = compute::psi::PsiOutput::kBoth;
    options.threads = 1;
    auto psi =
        compute::psi::RunKkrtPsi(compute::psi::PsiRole::kReceiver, ConsumerIds(), options, broken);
    EXPECT_FALSE(psi.ok()) << "the consumer learned a result from a broken run";
    if (!c.truncate) ctx.TryCancel();
    grpc::Status status = stream->Finish();
    EXPECT_FALSE(status.ok());
    if (*c.provider_says != '\0') {
      EXPECT_THAT(status.error_message(), HasSubstr(c.provider_says));
    }
  }
  // Nothing was recorded as delivered; each run's reservation stays open until it expires.
  EXPECT_EQ(records.load(), 0);
  EXPECT_EQ(Counters("c-ot").calls_total(), 0u);
  std::lock_guard<std::mutex> lock(reports_mu_);
  for (const RunReport& r : reports_) EXPECT_FALSE(r.recorded);
}

// --- Anonymous query through the gate. ---

tds::Terms QueryTerms(tds::MeteringMode mode, uint32_t k = 10) {
  tds::Terms t = BaseTerms(mode);
  t.clear_operations();
  t.add_operations("query");
  t.set_query_k(k);
  return t;
}

class GatewayQueryTest : public GatewayTest {
 protected:
  sdk::PreparedQuery PrepareQuery(const std::string& contract_id, std::vector<std::string> columns,
                                  uint64_t identifiers, uint64_t min_k = 10) {
    tds::QueryParams params;
    for (std::string& c : columns) params.add_columns(std::move(c));
    params.set_identifiers(identifiers);
    params.set_min_k(min_k);
    return sdk::PrepareQuery(*KeyFromByte(kBank.key), kBank.id, contract_id, "credit_risk", params);
  }

  absl::StatusOr<sdk::QueryRunResult> RunQuery(const sdk::PreparedQuery& run,
                                               const std::vector<std::string>& ids) {
    return sdk::RunPreparedQuery(channel_, 30'000, run, ids);
  }

  // As ExpectRefused, for a query.
  void ExpectQueryRefused(const sdk::PreparedQuery& run, const std::vector<std::string>& ids,
                          absl::StatusCode code, const std::string& message,
                          const std::string& contract_id) {
    const int scans = Scans();
    const tds::UsageCounters before = Counters(contract_id);
    const uint64_t height = ledger_->Status().height;
    auto r = RunQuery(run, ids);
    ASSERT_FALSE(r.ok()) << "expected a refusal containing: " << message;
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
    EXPECT_EQ(Scans(), scans) << "a refused query read data";
    EXPECT_EQ(Counters(contract_id).SerializeAsString(), before.SerializeAsString());
    EXPECT_EQ(ledger_->Status().height, height) << "a refused query submitted a transaction";
  }
};

TEST_F(GatewayQueryTest, ReturnsThePermittedColumnsOfPresentIdsAndNothingForAbsentOnes) {
  SeedContract("c-q", QueryTerms(tds::METERING_STRICT));
  // One present, one absent, then a batch with a duplicate.
  auto one = RunQuery(PrepareQuery("c-q", {"income", "region"}, 1), {"id-7"});
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->answers.size(), 1u);
  EXPECT_TRUE(one->answers[0].found);
  EXPECT_THAT(one->answers[0].columns, ::testing::ElementsAre("7000.25", "north"));
  EXPECT_THAT(one->columns, ::testing::ElementsAre("income", "region"));

  auto none = RunQuery(PrepareQuery("c-q", {"income", "region"}, 1), {"id-100"});
  ASSERT_TRUE(none.ok()) << none.status();
  ASSERT_EQ(none->answers.size(), 1u);
  EXPECT_FALSE(none->answers[0].found);
  EXPECT_TRUE(none->answers[0].columns.empty());

  const std::vector<std::string> batch = {"id-42", "nobody", "id-99", "id-42", "id-0"};
  auto many = RunQuery(PrepareQuery("c-q", {"age", "income"}, batch.size()), batch);
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->answers.size(), batch.size());
  EXPECT_THAT(many->answers[0].columns, ::testing::ElementsAre("62", "42000.25"));
  EXPECT_FALSE(many->answers[1].found);
  EXPECT_THAT(many->answers[2].columns, ::testing::ElementsAre("69", "99000.25"));
  EXPECT_THAT(many->answers[3].columns, ::testing::ElementsAre("62", "42000.25"));
  EXPECT_THAT(many->answers[4].columns, ::testing::ElementsAre("20", "0.25"));

  // Metered per identifier, strictly: the receipt proves the record, rows_out = identifiers.
  auto genesis = ledger::GenesisInfo::Parse(genesis_json_, "genesis");
  ASSERT_TRUE(genesis.ok());
  auto verified = ledger::VerifyReceipt(many->result.receipt(), *genesis);
  ASSERT_TRUE(verified.ok()) << verified.status();
  const tds::Measurement& m = many->result.measurement();
  EXPECT_EQ(m.rows_in(), 100u);
  EXPECT_EQ(m.rows_out(), batch.size());
  EXPECT_EQ(m.input_digest().size(), 32u);
  EXPECT_GT(m.bytes_out(), 0u);
  auto record = contracts::ReadUsageRecord(ledger_->state(), verified->index);
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->operation(), "query");
  EXPECT_THAT((*record)->columns(), ::testing::ElementsAre("age", "income"));
  EXPECT_EQ((*record)->violations_size(), 0);
  const tds::UsageCounters counters = Counters("c-q");
  EXPECT_EQ(counters.calls_total(), 3u);
  EXPECT_EQ(counters.rows_total(), 1u + 1u + batch.size());
  EXPECT_EQ(counters.reserved_open(), 0u);
  // The table was prepared once per column selection, not per query.
  EXPECT_EQ(gateway_->query_tables().prepared(), 2u);
}

TEST_F(GatewayQueryTest, UsageRecordHoldsCountsAndDigestsNeverIdentifiers) {
  SeedContract("c-q", QueryTerms(tds::METERING_BATCHED));
  const std::vector<std::string> ids = {"id-73", "absent-customer-9917", "id-18"};
  auto r = RunQuery(PrepareQuery("c-q", {"income"}, ids.size()), ids);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->answers[0].found);
  EXPECT_FALSE(r->answers[1].found);
  auto txid = HashFromBytes(r->result.usage_txid(), "txid");
  ASSERT_TRUE(txid.ok());
  absl::StatusOr<ledger::TxRecord> tx = WaitForTransaction(*txid);
  ASSERT_TRUE(tx.ok()) << tx.status();
  auto receipt = ledger_->GetReceipt(*txid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  auto record = contracts::ReadUsageRecord(ledger_->state(), receipt->index());
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->measurement().rows_out(), 3u);
  EXPECT_EQ((*record)->measurement().input_digest().size(), 32u);
  // Nowhere in what the ledger holds — the transaction (the consumer's signed request and the
  // measurement), the record in state, the receipt — does an identifier appear.
  const std::string everything =
      absl::StrCat(receipt->SerializeAsString(), (*record)->SerializeAsString(), r->request);
  for (const std::string& id : ids) {
    EXPECT_EQ(everything.find(id), std::string::npos) << id << " is in the usage record";
  }
}

TEST_F(GatewayQueryTest, StrictQueryWhoseRecordIsRefusedAnswersNothing) {
  SeedContract("c-q", QueryTerms(tds::METERING_STRICT));
  filter_ = [this](std::string envelope, ledger::Ledger::Done done) {
    if (TypeOf(envelope) == contracts::kRecordTxType) {
      done(absl::FailedPreconditionError("simulated ledger refusal"));
      return;
    }
    ledger_->Submit(std::move(envelope), std::move(done));
  };
  auto r = RunQuery(PrepareQuery("c-q", {"income"}, 1), {"id-7"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("usage.record: simulated ledger refusal"));
  EXPECT_EQ(Counters("c-q").calls_total(), 0u);
}

TEST_F(GatewayQueryTest, RefusalsNameWhatFailedReadNothingAndMeterNothing) {
  SeedContract("c-q", QueryTerms(tds::METERING_STRICT, 10));
  tds::Terms narrow = QueryTerms(tds::METERING_STRICT);
  narrow.clear_columns();
  narrow.add_columns("id_hash");
  narrow.add_columns("income");
  narrow.set_max_rows_per_call(2);
  SeedContract("c-narrow", narrow);
  SeedContract("c-psi", BaseTerms(tds::METERING_STRICT));  // psi and stats only

  // The consumer requires more anonymity than the contract gives.
  ExpectQueryRefused(PrepareQuery("c-q", {"income"}, 1, /*min_k=*/11), {"id-7"},
                     absl::StatusCode::kFailedPrecondition,
                     "params.min_k: the consumer requires buckets of at least 11 rows; contract "
                     "c-q sets query_k 10",
                     "c-q");
  // A column the contract does not permit.
  ExpectQueryRefused(PrepareQuery("c-narrow", {"income", "age"}, 1), {"id-7"},
                     absl::StatusCode::kPermissionDenied,
                     "terms.columns: 'age' not permitted by contract c-narrow", "c-narrow");
  // An operation the contract does not grant.
  ExpectQueryRefused(PrepareQuery("c-psi", {"income"}, 1), {"id-7"},
                     absl::StatusCode::kPermissionDenied,
                     "terms.operations: 'query' is not permitted by contract c-psi (allowed: "
                     "'psi', 'stats')",
                     "c-psi");
  // More identifiers than the contract allows per call.
  ExpectQueryRefused(PrepareQuery("c-narrow", {"income"}, 3), {"id-1", "id-2", "id-3"},
                     absl::StatusCode::kResourceExhausted,
                     "terms.max_rows_per_call: a query of 3 identifiers exceeds the 2 per call of "
                     "contract c-narrow",
                     "c-narrow");
  // Parameters whose columns differ from the signed request's.
  sdk::PreparedQuery run = PrepareQuery("c-q", {"income"}, 1);
  tds::QueryParams other = run.query;
  other.add_columns("age");
  sdk::PreparedQuery forged =
      sdk::PrepareQuery(*KeyFromByte(kBank.key), kBank.id, "c-q", "credit_risk", other);
  forged.request =
      sdk::BuildUsageRequest(*KeyFromByte(kBank.key), kBank.id, "c-q", "query", "credit_risk",
                             {"income"}, std::string(AsBytes(Sha256(forged.params))), "");
  ExpectQueryRefused(forged, {"id-7"}, absl::StatusCode::kInvalidArgument,
                     "params.columns: [income,age] differ from the request's signed columns "
                     "[income]",
                     "c-q");
  // No identifiers, no columns.
  ExpectQueryRefused(PrepareQuery("c-q", {"income"}, 0), {"id-7"},
                     absl::StatusCode::kInvalidArgument,
                     "params.identifiers: 0; a query asks for at least one", "c-q");
  ExpectQueryRefused(PrepareQuery("c-q", {}, 1), {"id-7"}, absl::StatusCode::kInvalidArgument,
                     "params.columns: name at least one column to return", "c-q");
}

TEST_F(GatewayQueryTest, ABatchLargerThanAnnouncedIsRefusedAndNothingIsRecorded) {
  SeedContract("c-q", QueryTerms(tds::METERING_STRICT));
  // Signed for 1 identifier, sends 2: the provider's protocol refuses the hello.
  auto r = RunQuery(PrepareQuery("c-q", {"income"}, 1), {"id-1", "id-2"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Counters("c-q").calls_total(), 0u);
}

// --- Sources. ---

TEST_F(GatewayTest, ASourceServesItsProductOnlyWhileTheSchemaMatches) {
  ProductSources sources;
  tds::DataSourceConfig config;
  config.set_product("late-product");
  config.set_kind("csv");
  config.set_path(dir_.Sub("features.csv"));
  config.set_id_column("id_hash");
  auto source = OpenDataSource(config);
  ASSERT_TRUE(source.ok()) << source.status();
  sources.Add(config, *std::move(source));

  auto before = sources.Serve(ledger_->state(), "late-product", kProv.id);
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(std::string(before.status().message()),
            "this node does not serve product late-product: it is not published");

  // Published later with a schema the source cannot serve: refused, naming the column.
  tds::Product bad = Product("late-product", 2);
  *bad.add_schema() = Col("phone", "string");
  Seed(contracts::usage_testing::kSeedProductTx, bad.SerializeAsString());
  auto mismatch = sources.Serve(ledger_->state(), "late-product", kProv.id);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(std::string(mismatch.status().message()),
              HasSubstr("this node does not serve product late-product: product \"late-product\" "
                        "does not match its source: column \"phone\" (string) is not in the "
                        "source"));

  // Version 2 fixes it: checked again at first use.
  tds::Product good = Product("late-product", 2);
  good.set_version(2);
  Seed(contracts::usage_testing::kSeedProductTx, good.SerializeAsString());
  auto served = sources.Serve(ledger_->state(), "late-product", kProv.id);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->product.version(), 2u);

  // Never for another member.
  auto other = sources.Serve(ledger_->state(), "late-product", kProv2.id);
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(std::string(other.status().message()),
              HasSubstr("it is provided by 'prov', not by this node's member 'prov2'"));
}

TEST(MeteredLinkTest, ChainsTheDigestOfWhatItSent) {
  auto [a, b] = compute::MemoryLinkPair();
  MeteredLink metered(a.get());
  EXPECT_EQ(metered.sent_digest(), Hash{});
  ASSERT_TRUE(metered.Send("one").ok());
  ASSERT_TRUE(metered.Send("two").ok());
  ASSERT_TRUE(b->Send("back").ok());
  ASSERT_TRUE(metered.Recv().ok());
  EXPECT_EQ(metered.sent(), 6u);
  EXPECT_EQ(metered.received(), 4u);
  EXPECT_EQ(metered.sent_digest(), ChainDigest(ChainDigest(Hash{}, "one"), "two"));
}

}  // namespace
}  // namespace tds::node::gateway
