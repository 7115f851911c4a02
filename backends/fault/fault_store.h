// The fault store: a decorator over any store that fails chosen requests,
// records every request with the moment it became durable, and times the
// device on a virtual clock. Everything it does not change it forwards.
//
// Faults are rules (FaultRule): which requests (kinds, an inode, the Nth
// match, one in N with a seed), at which stage (submit, completion, flush),
// with which errno (EIO, ENOSPC, EDQUOT), once or until cleared. A request
// failed at submit or completion is never applied to the wrapped store, so
// its data is lost after a crash (rule W1); the VFS sees the error through
// its write-back error rules (W1-W6).
//
//   auto memory = vfs::NewMemoryStore();
//   auto faults = vfs::NewFaultStore(memory, {});
//   auto fs = vfs::Filesystem::Mount(faults).value();
//   ...
//   faults->AddRule({.error = EIO, .ino = fs->Stat("/db").value().ino});
//   fs->Fsync(fd);                                   // EIO, once per description
//
// The recording (Recording()) lists every request with event indices: when
// it was submitted, completed and made durable. A crash at event e keeps the
// requests durable by e and may keep any of those submitted by e (rules
// C1-C7); the crash explorer builds its crash states from this. Crash() cuts
// the recording: a request in flight or not yet durable then stays so.
//
// Thread-safety: thread-safe.
#ifndef BACKENDS_FAULT_FAULT_STORE_H_
#define BACKENDS_FAULT_FAULT_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "backends/fault/device_model.h"
#include "vfs/store.h"

namespace vfs {

// Request kinds, as a bit set, to choose which requests a rule matches.
enum RequestKind : uint32_t {
  kKindSuperblock = 1u << 0,
  kKindPage = 1u << 1,
  kKindInode = 1u << 2,
  kKindDirent = 1u << 3,  // PutDirent and DelDirent
  kKindTruncate = 1u << 4,
  kKindFree = 1u << 5,
  kKindAll = (1u << 6) - 1,
};
RequestKind KindOf(const Request& request);
// The inode a request is about (for entries: the directory).
InodeId SubjectOf(const Request& request);

enum class FaultStage {
  kSubmit,      // Submit fails: the writes could not be started
  kCompletion,  // the request completes with the error (a failed page write)
  kFlush,       // Flush fails: completed requests stay volatile
};

// A request matches a rule of its stage when its kind is in `kinds` and, with
// `ino`, it is about that inode (SubjectOf) or is a PutDirent naming it; a
// flush-stage rule ignores both and matches every Flush. Among the matches,
// `nth` and `one_in` choose the ones that fail. A submit-stage failure fails
// the whole Submit call; a completion-stage one fails only the matching
// request, and Wait reports it for the ticket.

struct FaultRule {
  int error = EIO;                            // EIO, ENOSPC or EDQUOT
  FaultStage stage = FaultStage::kCompletion;
  uint32_t kinds = kKindPage;                 // RequestKind bits
  std::optional<InodeId> ino;                 // only requests about this inode
  uint64_t nth = 0;                           // only the Nth match (1-based); 0: every
  uint32_t one_in = 0;                        // only one match in `one_in`, by `seed`
  uint64_t seed = 0;
  bool once = true;                           // removed after its first failure
};

// One request as the fault store saw it. Event indices number the store's
// calls in order: a Submit or a Wait is one event, a Flush two (its start
// and its end, failed or not); 0 means "not (yet)". A flush makes durable
// what had completed by its start, at its end.
struct RecordedRequest {
  uint64_t index = 0;           // position among all requests, from 1
  Ticket ticket = 0;
  Request request;
  uint64_t submitted_at = 0;    // event of its Submit
  uint64_t completed_at = 0;    // event of the Wait that completed it
  uint64_t durable_at = 0;      // completion (no volatile cache) or flush event
  int error = 0;                // the errno it failed with; it was not applied,
                                // and completed_at and durable_at stay 0
};

struct FaultStats {
  uint64_t requests = 0;   // submitted, failed ones included
  uint64_t page_writes = 0;
  uint64_t bytes = 0;      // page bytes submitted
  uint64_t flushes = 0;    // Flush calls
  uint64_t failures = 0;   // rule firings: a request at completion, a call
                           // at submit or flush
  uint64_t events = 0;     // events so far (see RecordedRequest)
  uint64_t virtual_ns = 0; // the device clock
};

struct FaultStoreOptions {
  // Record every request (and keep its page bytes alive) for the explorer.
  bool record = true;
  // The device's timing; none by default (the clock stays at 0). A request
  // refused at submit costs nothing; one failed at completion costs as any.
  std::optional<DeviceModel> device;
};

class FaultStore : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  // Installs a rule; returns its id for ClearRule. Rules are checked in the
  // order they were added; the first that matches a request decides.
  virtual uint64_t AddRule(const FaultRule& rule) = 0;
  virtual void ClearRule(uint64_t id) = 0;
  virtual void ClearRules() = 0;

  // Every request so far (empty without `record`).
  virtual std::vector<RecordedRequest> Recording() const = 0;
  virtual FaultStats Faults() const = 0;
  // The device clock, in virtual nanoseconds.
  virtual uint64_t VirtualNanos() const = 0;
};

std::shared_ptr<FaultStore> NewFaultStore(std::shared_ptr<Store> base, FaultStoreOptions options);

}  // namespace vfs

#endif  // BACKENDS_FAULT_FAULT_STORE_H_
