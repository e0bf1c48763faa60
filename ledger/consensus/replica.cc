#include "ledger/consensus/replica.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tds::consensus {
namespace {

// A replica behind by an epoch asks at most this often (messages of the later epoch keep
// coming while it catches up).
constexpr auto kCatchUpInterval = std::chrono::milliseconds(200);
constexpr size_t kMaxOtherPeers = 1024;

}  // namespace

Replica::Replica(const SigningKey* key, BlockApp* app, SafetyStore store, bool sync,
                 ReplicaHooks hooks, CoreOptions options)
    : key_(key),
      app_(app),
      store_(std::move(store)),
      sync_(sync),
      hooks_(std::move(hooks)),
      options_(options) {}

Replica::~Replica() { Stop(); }

absl::Status Replica::Start(const ValidatorSet* set, size_t self, const Root& root) {
  auto safety = store_.Load();
  if (!safety.ok()) return safety.status();
  if (safety->epoch() != set->epoch()) {
    // Written in an earlier epoch: nothing in it binds this one (other bodies are signed).
    *safety = tds::SafetyState();
    safety->set_epoch(set->epoch());
  }
  set_ = set;
  self_ = self;
  core_ = std::make_unique<Core>(set, self, key_, app_, options_);
  Actions first = core_->Start(*safety, root);
  {
    std::lock_guard<std::mutex> l(mu_);
    status_ = core_->status();
    epoch_ = set->epoch();
  }
  thread_ = std::thread([this, first = std::move(first)]() mutable {
    Execute(std::move(first));
    Run();
  });
  return absl::OkStatus();
}

void Replica::StartCore(const ValidatorSet* set, size_t self, const Root& root,
                        const tds::SafetyState& safety) {
  set_ = set;
  self_ = self;
  others_.clear();
  core_ = std::make_unique<Core>(set, self, key_, app_, options_);
  {
    std::lock_guard<std::mutex> l(mu_);
    epoch_ = set->epoch();
  }
  Execute(core_->Start(safety, root));
}

void Replica::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Replica::BeginEpoch(const ValidatorSet* set, size_t self, Root root) {
  next_ = Pending{set, self, std::move(root)};
}

void Replica::Deliver(const std::string& from, tds::ConsensusMessage msg) {
  {
    std::lock_guard<std::mutex> l(mu_);
    inbox_.emplace_back(from, std::move(msg));
  }
  cv_.notify_one();
}

void Replica::NotifyWork() {
  {
    std::lock_guard<std::mutex> l(mu_);
    work_ = true;
  }
  cv_.notify_one();
}

CoreStatus Replica::status() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

uint64_t Replica::epoch() const {
  std::lock_guard<std::mutex> l(mu_);
  return epoch_;
}

absl::Status Replica::last_refusal() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_refusal_;
}

size_t Replica::PeerIndex(const std::string& id) {
  const int i = set_->IndexOf(id);
  if (i >= 0) return static_cast<size_t>(i);
  auto it = std::find(others_.begin(), others_.end(), id);
  if (it == others_.end()) {
    if (others_.size() >= kMaxOtherPeers) others_.erase(others_.begin());
    others_.push_back(id);
    it = others_.end() - 1;
  }
  return set_->size() + static_cast<size_t>(it - others_.begin());
}

std::string Replica::PeerId(int index) const {
  if (index < 0) return "";
  const size_t i = static_cast<size_t>(index);
  if (i < set_->size()) return set_->id(i);
  if (i - set_->size() < others_.size()) return others_[i - set_->size()];
  return "";
}

void Replica::Send(const std::string& to, tds::ConsensusMessage msg, uint64_t epoch) {
  msg.set_epoch(epoch);
  if (hooks_.send) hooks_.send(to, msg);
}

void Replica::Handle(const std::string& from, const tds::ConsensusMessage& msg) {
  const uint64_t epoch = set_->epoch();
  if (msg.epoch() < epoch) {
    // A replica behind: it can only use the rest of its own epoch, which the core does not
    // hold any more.
    if (msg.kind_case() == tds::ConsensusMessage::kBlockRequest && hooks_.serve_earlier) {
      if (auto r = hooks_.serve_earlier(msg.epoch(), msg.block_request())) {
        tds::ConsensusMessage m;
        *m.mutable_block_response() = std::move(*r);
        Send(from, std::move(m), msg.epoch());
      }
      return;
    }
    // Anything else from an earlier epoch: its sender missed the end of that epoch (an idle
    // new epoch sends nothing it would notice). A message of this epoch makes it catch up.
    const auto now = std::chrono::steady_clock::now();
    auto& last = last_nudge_[from];
    if (now - last >= kCatchUpInterval && last_nudge_.size() <= kMaxOtherPeers) {
      last = now;
      tds::ConsensusMessage nudge;
      nudge.mutable_block_response();
      Send(from, std::move(nudge), epoch);
    }
    return;
  }
  if (msg.epoch() > epoch) {
    // The sender is ahead: the end of this epoch committed without this replica seeing it.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_catch_up_ >= kCatchUpInterval) {
      last_catch_up_ = now;
      Execute(core_->CatchUp(PeerIndex(from)));
    }
    return;
  }
  Execute(core_->OnMessage(PeerIndex(from), msg));
  if (!core_->last_refusal().ok()) {
    spdlog::debug("consensus: refused a message: {}", std::string(core_->last_refusal().message()));
    std::lock_guard<std::mutex> l(mu_);
    last_refusal_ = core_->last_refusal();
  }
}

void Replica::Run() {
  for (;;) {
    std::deque<std::pair<std::string, tds::ConsensusMessage>> inbox;
    bool work = false;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_until(l, timer_at_, [&] { return stop_ || work_ || !inbox_.empty(); });
      if (stop_) return;
      inbox.swap(inbox_);
      std::swap(work, work_);
    }
    for (auto& [from, msg] : inbox) Handle(from, msg);
    if (work) Execute(core_->OnWork());
    if (std::chrono::steady_clock::now() >= timer_at_) {
      timer_at_ = std::chrono::steady_clock::time_point::max();
      Execute(core_->OnTimer(timer_view_));
    }
    const CoreStatus s = core_->status();
    if (s.view != status_.view) {
      spdlog::info("consensus: view {} led by {} (round {}, committed round {})", s.view,
                   set_->id(set_->LeaderOf(s.view)), s.round, s.committed_round);
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      status_ = s;
    }
    if (hooks_.after_event) hooks_.after_event(s);
  }
}

void Replica::Execute(Actions actions) {
  for (Action& a : actions) {
    if (auto* c = std::get_if<CommitAction>(&a)) {
      spdlog::debug("consensus: commit round {} ({} entries)", c->block.block().round(),
                    c->block.entries_size());
      hooks_.commit(*c);
      continue;
    }
    // Once the epoch has ended, only the commits of this event still count.
    if (next_.has_value()) continue;
    if (auto* p = std::get_if<PersistAction>(&a)) {
      // Nothing after this action may happen unless the record is durable: a validator that
      // cannot remember its votes must stop voting.
      absl::Status s = sync_ ? store_.Save(p->state) : absl::OkStatus();
      if (!s.ok()) {
        spdlog::critical("consensus: cannot save the safety record ({}); stopping this replica",
                         std::string(s.message()));
        std::lock_guard<std::mutex> l(mu_);
        stop_ = true;
        return;
      }
    } else if (auto* snd = std::get_if<SendAction>(&a)) {
      const std::string to = PeerId(snd->to);
      if (snd->to >= 0 && to.empty()) continue;  // a peer forgotten since (kMaxOtherPeers)
      Send(to, std::move(snd->msg), set_->epoch());
    } else if (auto* t = std::get_if<TimerAction>(&a)) {
      timer_view_ = t->view;
      timer_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(t->after_ms);
    }
  }
  if (next_.has_value()) {
    Pending next = std::move(*next_);
    next_.reset();
    spdlog::info("consensus: epoch {} begins with {} validators{}", next.set->epoch(),
                 next.set->size(), next.self < next.set->size() ? "" : " (this node follows)");
    if (hooks_.epoch_started) hooks_.epoch_started(next.set->epoch());
    tds::SafetyState fresh;
    fresh.set_epoch(next.set->epoch());
    StartCore(next.set, next.self, next.root, fresh);
  }
}

}  // namespace tds::consensus
