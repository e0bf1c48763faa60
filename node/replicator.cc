#include "node/replicator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace tds::node {
namespace {

absl::Status FromGrpc(const grpc::Status& s, std::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(std::string(what), ": ", s.error_message()));
}

}  // namespace

std::vector<std::unique_ptr<tds::Ledger::Stub>> Stubs(
    std::vector<std::shared_ptr<grpc::Channel>> validators) {
  std::vector<std::unique_ptr<tds::Ledger::Stub>> stubs;
  for (auto& channel : validators) stubs.push_back(tds::Ledger::NewStub(std::move(channel)));
  return stubs;
}

Replicator::Replicator(ledger::Ledger* ledger,
                       std::vector<std::shared_ptr<grpc::Channel>> validators)
    : ledger_(ledger), stubs_(Stubs(std::move(validators))) {}

Replicator::~Replicator() { Stop(); }

void Replicator::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Replicator::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ReplicatorStatus Replicator::status() const {
  std::lock_guard<std::mutex> l(mu_);
  ReplicatorStatus s = status_;
  s.applied_height = ledger_->Status().height;
  return s;
}

void Replicator::Run() {
  int64_t backoff_ms = 100;
  for (;;) {
    absl::Status why = Session();
    std::unique_lock<std::mutex> l(mu_);
    status_.connected = false;
    if (stop_) return;
    status_.last_error = why;
    if (why.code() == absl::StatusCode::kDataLoss) {
      status_.halted = true;
      spdlog::critical("replication halted: {}", std::string(why.message()));
      return;
    }
    if (stubs_.size() > 1) current_ = (current_ + 1) % stubs_.size();
    spdlog::warn("replication stream ended ({}); retrying in {} ms{}", std::string(why.message()),
                 backoff_ms, stubs_.size() > 1 ? " with the next validator" : "");
    cv_.wait_for(l, std::chrono::milliseconds(backoff_ms), [&] { return stop_; });
    if (stop_) return;
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 5000);
  }
}

absl::Status Replicator::Session() {
  grpc::ClientContext ctx;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return absl::CancelledError("stopping");
    active_ = &ctx;
  }
  tds::StreamBlocksRequest req;
  req.set_from_height(ledger_->Status().height + 1);
  auto reader = stubs_[current_]->StreamBlocks(&ctx, req);
  absl::Status result;
  tds::Block block;
  while (reader->Read(&block)) {
    tds::BlockHeader header;
    header.ParseFromString(block.header());
    {
      std::lock_guard<std::mutex> l(mu_);
      status_.connected = true;
      status_.validator_height = std::max(status_.validator_height, header.height());
    }
    absl::Status applied = ledger_->ApplyBlock(block);
    if (!applied.ok()) {
      result = applied;
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status finished = reader->Finish();
  {
    std::lock_guard<std::mutex> l(mu_);
    active_ = nullptr;
  }
  if (!result.ok()) return result;
  return finished.ok() ? absl::UnavailableError("validator closed the block stream")
                       : FromGrpc(finished, "block stream");
}

Forwarder::Forwarder(ledger::Ledger* ledger, std::vector<std::shared_ptr<grpc::Channel>> validators,
                     int64_t timeout_ms)
    : ledger_(ledger), stubs_(Stubs(std::move(validators))), timeout_ms_(timeout_ms) {
  ledger_->Observe(
      [this](const ledger::StateReader&) {
        std::lock_guard<std::mutex> l(mu_);
        applied_ = ledger_->Status().height;
      },
      [this](uint64_t height, int64_t, const ledger::Ledger::StateWrites&) { OnCommit(height); });
  sweeper_ = std::thread([this] { Sweep(); });
}

void Forwarder::Submit(std::string envelope, ledger::Ledger::Done done) {
  Send(std::move(envelope), std::move(done), 0);
}

void Forwarder::Send(std::string envelope, ledger::Ledger::Done done, size_t attempt) {
  struct Call {
    grpc::ClientContext ctx;
    tds::SubmitRequest req;
    tds::SubmitResponse resp;
  };
  auto call = std::make_shared<Call>();
  call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_));
  call->req.set_envelope(std::move(envelope));
  const size_t via = current_.load() % stubs_.size();
  stubs_[via]->async()->Submit(
      &call->ctx, &call->req, &call->resp,
      [this, call, via, attempt, done = std::move(done)](grpc::Status s) mutable {
        if (s.error_code() == grpc::StatusCode::UNAVAILABLE && attempt + 1 < stubs_.size()) {
          // Unreachable: the envelope never got there. Use the next validator from now on.
          size_t expected = via;
          current_.compare_exchange_strong(expected, (via + 1) % stubs_.size());
          Send(std::move(*call->req.mutable_envelope()), std::move(done), attempt + 1);
          return;
        }
        if (!s.ok()) {
          done(FromGrpc(s, "validator"));
          return;
        }
        ledger::SubmitAck ack;
        auto txid = HashFromBytes(call->resp.txid(), "txid");
        if (!txid.ok()) {
          done(txid.status());
          return;
        }
        ack.txid = *txid;
        ack.index = call->resp.index();
        ack.height = call->resp.height();
        ack.result = call->resp.result();
        auto fire = [done = std::move(done), ack]() mutable { done(std::move(ack)); };
        std::unique_lock<std::mutex> l(mu_);
        if (applied_ >= ack.height) {
          l.unlock();
          fire();
          return;
        }
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
        waiting_.emplace(ack.height, Waiter{deadline, std::move(fire)});
      });
}

void Forwarder::Sweep() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    sweep_cv_.wait_for(l, std::chrono::milliseconds(200));
    // The transaction is committed at the validator; this node is merely behind. Answer
    // anyway rather than hold the caller forever.
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::function<void()>> late;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (stop_ || it->second.deadline <= now) {
        late.push_back(std::move(it->second.fire));
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    }
    l.unlock();
    for (auto& f : late) f();
    l.lock();
  }
}

Forwarder::~Forwarder() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void Forwarder::OnCommit(uint64_t height) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard<std::mutex> l(mu_);
    applied_ = height;
    auto end = waiting_.upper_bound(height);
    for (auto it = waiting_.begin(); it != end; ++it) ready.push_back(std::move(it->second.fire));
    waiting_.erase(waiting_.begin(), end);
  }
  for (auto& f : ready) f();
}

}  // namespace tds::node
