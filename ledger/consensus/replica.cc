#include "ledger/consensus/replica.h"

#include <spdlog/spdlog.h>

#include "common/file.h"

namespace tds::consensus {

Replica::Replica(const ValidatorSet* set, size_t self, const SigningKey* key, BlockApp* app,
                 SafetyStore store, bool sync, ReplicaHooks hooks, CoreOptions options)
    : set_(*set),
      self_(self),
      store_(std::move(store)),
      sync_(sync),
      hooks_(std::move(hooks)),
      core_(set, self, key, app, options) {}

Replica::~Replica() { Stop(); }

absl::Status Replica::Start(const Root& root) {
  auto safety = store_.Load();
  if (!safety.ok()) return safety.status();
  Actions first = core_.Start(*safety, root);
  {
    std::lock_guard<std::mutex> l(mu_);
    status_ = core_.status();
  }
  thread_ = std::thread([this, first = std::move(first)]() mutable {
    Execute(std::move(first));
    Run();
  });
  return absl::OkStatus();
}

void Replica::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Replica::Deliver(size_t from, tds::ConsensusMessage msg) {
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

absl::Status Replica::last_refusal() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_refusal_;
}

void Replica::Run() {
  for (;;) {
    std::deque<std::pair<size_t, tds::ConsensusMessage>> inbox;
    bool work = false;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_until(l, timer_at_, [&] { return stop_ || work_ || !inbox_.empty(); });
      if (stop_) return;
      inbox.swap(inbox_);
      std::swap(work, work_);
    }
    for (auto& [from, msg] : inbox) {
      Execute(core_.OnMessage(from, msg));
      if (!core_.last_refusal().ok()) {
        spdlog::debug("consensus: refused a message: {}",
                      std::string(core_.last_refusal().message()));
        std::lock_guard<std::mutex> l(mu_);
        last_refusal_ = core_.last_refusal();
      }
    }
    if (work) Execute(core_.OnWork());
    if (std::chrono::steady_clock::now() >= timer_at_) {
      timer_at_ = std::chrono::steady_clock::time_point::max();
      Execute(core_.OnTimer(timer_view_));
    }
    const CoreStatus s = core_.status();
    if (s.view != status_.view) {
      spdlog::info("consensus: view {} led by {} (round {}, committed round {})", s.view,
                   set_.id(set_.LeaderOf(s.view)), s.round, s.committed_round);
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
    } else if (auto* c = std::get_if<CommitAction>(&a)) {
      spdlog::debug("consensus: commit round {} ({} entries)", c->block.block().round(),
                    c->block.entries_size());
      hooks_.commit(*c);
    } else if (auto* snd = std::get_if<SendAction>(&a)) {
      spdlog::debug("consensus: {} sends kind {} to {}", set_.id(self_),
                    static_cast<int>(snd->msg.kind_case()), snd->to);
      if (hooks_.send) hooks_.send(snd->to, snd->msg);
    } else if (auto* t = std::get_if<TimerAction>(&a)) {
      timer_view_ = t->view;
      timer_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(t->after_ms);
    }
  }
}

}  // namespace tds::consensus
