// FailingStore: a test store that fails chosen page writes, for the error
// paths of the durability calls (docs/semantics.md E1.3, E1.5, D8, S1, S3,
// S5, W1, W5, O1, E7).
//
// It forwards every call to another store, except that it can be told to fail
// the next N submissions that carry a PutPage with an errno (EIO, ENOSPC,
// EDQUOT), in one of two ways:
//  - FailAt::kSubmit: Submit() answers the errno and forwards nothing, as a
//    device that refuses to start the writes (Store::Submit's contract: none
//    of the requests is accepted).
//  - FailAt::kWait: Submit() forwards an empty batch instead of the requests,
//    so the ticket exists and orders like a real one but the base store
//    writes nothing; Wait() on that ticket answers the errno, every time.
// Either way a failed request is never applied, so after a crash the store
// holds exactly what it held before the failed batch.
//
// A hook can run at the start of every Wait(), so a test can act while a sync
// call is blocked on the store (rule D4: a steady writer during fsync).
//
//   auto failing = std::make_shared<FailingStore>(NewMemoryStore());
//   failing->FailPageWrites(EIO);          // the next page batch fails at Wait
//   fs->Fsync(fd);                         // EIO (rule E1.3)
//
// Thread-safety: thread-safe. The hook runs without the store's lock held.
#ifndef TESTS_FAILING_STORE_H_
#define TESTS_FAILING_STORE_H_

#include <functional>
#include <memory>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "backends/store.h"
#include "vfs/internal/mutex.h"

namespace vfs::testing {

// When an injected page-write failure is reported.
enum class FailAt {
  kSubmit,  // Submit() fails: the writes could not be started
  kWait,    // Submit() succeeds, Wait() on the ticket fails
};

class FailingStore final : public ForwardingStore {
 public:
  explicit FailingStore(std::shared_ptr<Store> base) : ForwardingStore(std::move(base)) {}

  // Fails the next `count` submissions that contain a PutPage with `err`,
  // reported as `at` says. Replaces any failures still armed.
  void FailPageWrites(int err, int count = 1, FailAt at = FailAt::kWait) {
    MutexLock lock(&mu_);
    err_ = err;
    remaining_ = count;
    at_ = at;
  }

  // Runs `hook` at the start of every Wait() (an empty function removes it).
  void SetWaitHook(std::function<void()> hook) {
    MutexLock lock(&mu_);
    hook_ = std::move(hook);
  }

  // Page batches failed so far.
  int failures() const {
    MutexLock lock(&mu_);
    return failures_;
  }
  // Wait() calls so far.
  int waits() const {
    MutexLock lock(&mu_);
    return waits_;
  }
  // Submissions still to fail.
  int armed() const {
    MutexLock lock(&mu_);
    return remaining_;
  }

  Result<Ticket> Submit(std::vector<Request> requests) override {
    int err = 0;
    FailAt at = FailAt::kWait;
    {
      MutexLock lock(&mu_);
      if (remaining_ > 0 && HasPageWrite(requests)) {
        --remaining_;
        ++failures_;
        err = err_;
        at = at_;
      }
    }
    if (err == 0) return ForwardingStore::Submit(std::move(requests));
    if (at == FailAt::kSubmit) return Error(err);
    // The failed batch reaches the base store as nothing at all.
    auto ticket = ForwardingStore::Submit({});
    if (!ticket.ok()) return ticket;
    MutexLock lock(&mu_);
    failed_.emplace(*ticket, err);
    return ticket;
  }

  Result<void> Wait(Ticket ticket) override {
    std::function<void()> hook;
    {
      MutexLock lock(&mu_);
      ++waits_;
      hook = hook_;
    }
    if (hook) hook();
    auto done = ForwardingStore::Wait(ticket);
    if (!done.ok()) return done;
    MutexLock lock(&mu_);
    auto it = failed_.find(ticket);
    if (it != failed_.end()) return Error(it->second);
    return Ok();
  }

 private:
  static bool HasPageWrite(const std::vector<Request>& requests) {
    for (const Request& r : requests) {
      if (std::holds_alternative<PutPage>(r)) return true;
    }
    return false;
  }

  mutable Mutex mu_;
  int err_ ABSL_GUARDED_BY(mu_) = 0;
  int remaining_ ABSL_GUARDED_BY(mu_) = 0;
  FailAt at_ ABSL_GUARDED_BY(mu_) = FailAt::kWait;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  int waits_ ABSL_GUARDED_BY(mu_) = 0;
  // Tickets standing for failed batches, and the errno each answers.
  absl::flat_hash_map<Ticket, int> failed_ ABSL_GUARDED_BY(mu_);
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vfs::testing

#endif  // TESTS_FAILING_STORE_H_
