#include "backends/fault/fault_store.h"

#include <cerrno>
#include <deque>

#include "absl/container/btree_map.h"
#include "vfs/internal/mutex.h"

namespace vfs {

RequestKind KindOf(const Request& request) {
  switch (request.index()) {
    case 0: return kKindSuperblock;
    case 1: return kKindPage;
    case 2: return kKindInode;
    case 3:
    case 4: return kKindDirent;
    case 5: return kKindTruncate;
    default: return kKindFree;
  }
}

InodeId SubjectOf(const Request& request) {
  struct Visitor {
    InodeId operator()(const PutSuperblock&) const { return InodeId(0); }
    InodeId operator()(const PutPage& r) const { return r.ino; }
    InodeId operator()(const PutInode& r) const { return r.record.ino; }
    InodeId operator()(const PutDirent& r) const { return r.dir; }
    InodeId operator()(const DelDirent& r) const { return r.dir; }
    InodeId operator()(const Truncate& r) const { return r.ino; }
    InodeId operator()(const FreeInode& r) const { return r.ino; }
  };
  return std::visit(Visitor{}, request);
}

namespace {

// splitmix64: a fixed, portable mix, so "one in N with a seed" picks the same
// requests on every machine.
uint64_t Mix(uint64_t seed, uint64_t n) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (n + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool About(const Request& request, InodeId ino) {
  if (SubjectOf(request) == ino) return true;
  if (const auto* entry = std::get_if<PutDirent>(&request)) return entry->ino == ino;
  return false;
}

class FaultStoreImpl final : public FaultStore {
 public:
  FaultStoreImpl(std::shared_ptr<Store> base, FaultStoreOptions options)
      : FaultStore(std::move(base)),
        options_(std::move(options)),
        clock_(options_.device.value_or(DeviceModel{"none", 0, 0, 0, 1})) {}

  uint64_t AddRule(const FaultRule& rule) override {
    MutexLock lock(&mu_);
    rules_.push_back({++last_rule_id_, rule, 0});
    return last_rule_id_;
  }

  void ClearRule(uint64_t id) override {
    MutexLock lock(&mu_);
    std::erase_if(rules_, [id](const ActiveRule& r) { return r.id == id; });
  }

  void ClearRules() override {
    MutexLock lock(&mu_);
    rules_.clear();
  }

  std::vector<RecordedRequest> Recording() const override {
    MutexLock lock(&mu_);
    return std::vector<RecordedRequest>(recording_.begin(), recording_.end());
  }

  FaultStats Faults() const override {
    MutexLock lock(&mu_);
    FaultStats stats = stats_;
    stats.events = event_;
    stats.virtual_ns = clock_.now_ns();
    return stats;
  }

  uint64_t VirtualNanos() const override {
    MutexLock lock(&mu_);
    return clock_.now_ns();
  }

  Result<Ticket> Submit(std::vector<Request> requests) override {
    MutexLock lock(&mu_);
    const uint64_t event = ++event_;
    stats_.requests += requests.size();
    for (const Request& r : requests) {
      stats_.page_writes += std::holds_alternative<PutPage>(r) ? 1 : 0;
      stats_.bytes += PayloadBytes(r);
    }
    // A submit-stage fault refuses the whole batch: nothing is started.
    for (const Request& r : requests) {
      if (const int err = MatchLocked(&r, FaultStage::kSubmit); err != 0) {
        // Recorded with ticket 0: failed, never applied (the cursors pass them).
        for (Request& failed : requests) Record(std::move(failed), 0, event, err);
        return Error(err);
      }
    }
    // A completion-stage fault: the request is not forwarded, so it is never
    // applied, and Wait reports the error for its ticket. The rules are
    // matched before the base store answers; if it refuses the batch, no
    // rule has failed anything, so their state is put back.
    const std::vector<ActiveRule> rules_before = rules_;
    const uint64_t failures_before = stats_.failures;
    std::vector<int> errors(requests.size(), 0);
    std::vector<Request> forward;
    forward.reserve(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      errors[i] = MatchLocked(&requests[i], FaultStage::kCompletion);
      if (errors[i] == 0) forward.push_back(requests[i]);
    }
    // Forwarded under the lock, so tickets and the recording agree on order.
    auto ticket = base().Submit(std::move(forward));
    if (!ticket.ok()) {
      rules_ = rules_before;
      stats_.failures = failures_before;
      for (Request& r : requests) Record(std::move(r), 0, event, ticket.error());
      return ticket;
    }
    // The device runs every request it was given, failed ones too; a batch
    // completes with its last request.
    uint64_t done_at = clock_.now_ns();
    int first_error = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
      done_at = std::max(done_at, clock_.Submit(PayloadBytes(requests[i])));
      if (first_error == 0) first_error = errors[i];
      Record(std::move(requests[i]), *ticket, event, errors[i]);
    }
    pending_.push_back({*ticket, done_at, first_error});
    return ticket;
  }

  Result<void> Wait(Ticket ticket) override {
    auto waited = base().Wait(ticket);  // without our lock: it may block
    MutexLock lock(&mu_);
    const uint64_t event = ++event_;
    // Every ticket up to `ticket` is complete now (the Store contract).
    while (!pending_.empty() && pending_.front().ticket <= ticket) {
      const Pending& done = pending_.front();
      clock_.WaitUntil(done.done_at);
      if (done.error != 0) failed_tickets_[done.ticket] = done.error;
      pending_.pop_front();
    }
    // Completion is in submission order, so a cursor finds what completed.
    while (completed_upto_ < recording_.size() && recording_[completed_upto_].ticket <= ticket) {
      RecordedRequest& r = recording_[completed_upto_++];
      if (r.error != 0) continue;  // failed: never applied
      r.completed_at = event;
      if (!has_volatile_cache()) r.durable_at = event;
    }
    auto failed = failed_tickets_.find(ticket);
    if (failed != failed_tickets_.end()) return Error(failed->second);
    return waited;
  }

  Result<void> Flush() override {
    uint64_t started = 0;
    {
      MutexLock lock(&mu_);
      started = ++event_;
      ++stats_.flushes;
      if (const int err = MatchLocked(nullptr, FaultStage::kFlush); err != 0) {
        ++event_;  // a flush is two events, failed or not: its start and its end
        return Error(err);
      }
    }
    auto flushed = base().Flush();
    MutexLock lock(&mu_);
    const uint64_t ended = ++event_;
    if (!flushed.ok()) return flushed;
    clock_.Flush();
    // What had completed when the flush began is durable now.
    while (durable_upto_ < completed_upto_) {
      RecordedRequest& r = recording_[durable_upto_];
      if (r.error == 0) {
        if (r.completed_at >= started) break;
        if (r.durable_at == 0) r.durable_at = ended;
      }
      ++durable_upto_;
    }
    return flushed;
  }

  void Crash() override {
    MutexLock lock(&mu_);
    base().Crash();
    // Power cut: what was in flight never completes and what was not durable
    // never becomes so, whatever a later Wait or Flush does; the device's
    // queue is empty.
    completed_upto_ = recording_.size();
    durable_upto_ = recording_.size();
    pending_.clear();
    clock_.PowerCut();
  }

 private:
  struct ActiveRule {
    uint64_t id;
    FaultRule rule;
    uint64_t matches;
  };
  struct Pending {
    Ticket ticket;
    uint64_t done_at;  // virtual completion time of its last request
    int error;         // the first completion-stage fault of the batch
  };

  // The errno of the first rule of `stage` matching `request` (a flush when
  // null), or 0. A `once` rule that fires is removed.
  int MatchLocked(const Request* request, FaultStage stage) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (size_t i = 0; i < rules_.size(); ++i) {
      ActiveRule& active = rules_[i];
      const FaultRule& rule = active.rule;
      if (rule.stage != stage) continue;
      if (request != nullptr) {
        if (!(rule.kinds & KindOf(*request))) continue;
        if (rule.ino && !About(*request, *rule.ino)) continue;
      }
      const uint64_t n = ++active.matches;
      if (rule.nth != 0 && n != rule.nth) continue;
      if (rule.one_in != 0 && Mix(rule.seed, n) % rule.one_in != 0) continue;
      const int err = rule.error;
      ++stats_.failures;
      if (rule.once) rules_.erase(rules_.begin() + static_cast<std::ptrdiff_t>(i));
      return err;
    }
    return 0;
  }

  void Record(Request request, Ticket ticket, uint64_t event, int error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!options_.record) return;
    RecordedRequest r;
    r.index = recording_.size() + 1;
    r.ticket = ticket;
    r.request = std::move(request);
    r.submitted_at = event;
    r.error = error;
    recording_.push_back(std::move(r));
  }

  const FaultStoreOptions options_;
  mutable Mutex mu_;
  std::vector<ActiveRule> rules_ ABSL_GUARDED_BY(mu_);
  uint64_t last_rule_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<RecordedRequest> recording_ ABSL_GUARDED_BY(mu_);
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<Ticket, int> failed_tickets_ ABSL_GUARDED_BY(mu_);
  uint64_t event_ ABSL_GUARDED_BY(mu_) = 0;
  // Recording positions: every request before `completed_upto_` has
  // completed (or failed); before `durable_upto_`, been made durable.
  size_t completed_upto_ ABSL_GUARDED_BY(mu_) = 0;
  size_t durable_upto_ ABSL_GUARDED_BY(mu_) = 0;
  FaultStats stats_ ABSL_GUARDED_BY(mu_);
  DeviceClock clock_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<FaultStore> NewFaultStore(std::shared_ptr<Store> base, FaultStoreOptions options) {
  return std::make_shared<FaultStoreImpl>(std::move(base), std::move(options));
}

}  // namespace vfs
