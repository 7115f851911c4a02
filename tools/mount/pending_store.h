// PendingStore: a decorator that remembers the requests a crash could still
// keep, so `vfs mount` can crash under a profile of docs/crash-testing.md.
//
// A request is pending from its Submit until it is durable (store.h): until
// its Wait on a store without a volatile cache, or until a Flush that started
// after it completed. A request whose ticket reported an error is forgotten:
// the store may not have written it, so no crash may bring it back. Only
// pending requests are held, so memory stays bounded by what is in flight.
//
// ChooseSurvivors picks, with a seed, a subset of pending requests that a
// profile allows to survive a power cut:
//   durable   - none (what Store::Crash keeps: only durable requests);
//   strict    - all of them;
//   writeback - metadata as a prefix in submission order, pages any subset;
//   ordered   - as writeback, and a kept inode record keeps every earlier
//               page of its inode (ext4 data=ordered);
//   weakest   - any subset; pages are not torn (the crash explorer tears
//               them, the mount does not).
//
// Thread-safety: thread-safe.
#ifndef TOOLS_MOUNT_PENDING_STORE_H_
#define TOOLS_MOUNT_PENDING_STORE_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "vfs/internal/mutex.h"
#include "vfs/result.h"
#include "vfs/store.h"

namespace vfs {

enum class MountCrashProfile { kDurable, kStrict, kOrdered, kWriteback, kWeakest };
const char* MountCrashProfileName(MountCrashProfile profile);
Result<MountCrashProfile> ParseMountCrashProfile(std::string_view name);

class PendingStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  Result<Ticket> Submit(std::vector<Request> requests) override;
  Result<void> Wait(Ticket ticket) override;
  Result<void> Flush() override;
  // Forgets every pending request, then crashes the wrapped store.
  void Crash() override;

  // The requests not yet durable, in submission order.
  std::vector<Request> Pending() const;

 private:
  struct Entry {
    Ticket ticket = 0;
    Request request;
    bool completed = false;
  };
  mutable Mutex mu_;
  std::vector<Entry> pending_ ABSL_GUARDED_BY(mu_);
};

// The subset of `pending` (in submission order) that survives a crash under
// `profile`, drawn with `seed`.
std::vector<Request> ChooseSurvivors(const std::vector<Request>& pending,
                                     MountCrashProfile profile, uint64_t seed);

}  // namespace vfs

#endif  // TOOLS_MOUNT_PENDING_STORE_H_
