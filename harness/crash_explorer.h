// CrashExplorer: runs a workload, crashes it at every point, and checks what
// survives in every crash state a profile allows.
//
// The workload runs once on a fault store that records every request with
// the event at which it was submitted, completed and made durable. A crash
// at event e keeps every request durable by e (rule C1) and, of the requests
// submitted by e but not yet durable, the subsets the profile allows
// (docs/crash-testing.md):
//   strict    - all of them (a baseline);
//   ordered   - metadata as a prefix in submission order; data pages any
//               subset, but a kept record forces the earlier pages of its
//               inode (ext4 data=ordered, rule C4);
//   writeback - metadata as a prefix, data pages any subset (rule C5);
//   weakest   - any subset of everything, page writes torn at the sector
//               size (rules C2, C3, C6).
// Each state is a memory store seeded with the image of everything durable
// at the crash point (built once per point, incrementally, and shared) plus
// the pending requests it keeps; it is mounted and handed to the checker
// with the acknowledgements the workload made before the crash point. A failure is reported by a name that replays it alone, shrunk to a
// smallest set of lost requests that still fails, and attributed to the
// sync call that would have protected each lost request.
//
//   vfs::CrashExplorer explorer(options);
//   auto report = explorer.Run(
//       [](vfs::WorkloadContext& ctx) {          // the application's writes
//         vfs::Filesystem& fs = ctx.fs();
//         ...
//         ctx.Ack("/db", "committed 1");        // what it told its user
//       },
//       [](vfs::Filesystem& fs, const vfs::Acks& acks) -> std::string {
//         return "";                             // "" = passes, else why not
//       });
//
// Thread-safety: one explorer runs one exploration at a time; the workload
// must be deterministic (same calls, same data) for names to replay.
#ifndef HARNESS_CRASH_EXPLORER_H_
#define HARNESS_CRASH_EXPLORER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/fault/fault_store.h"
#include "vfs/filesystem.h"

namespace vfs {

enum class CrashProfile { kStrict, kOrdered, kWriteback, kWeakest };
const char* CrashProfileName(CrashProfile profile);
Result<CrashProfile> ParseCrashProfile(std::string_view name);

// Where crashes happen.
enum class CrashPoints {
  kStoreRequest,  // after every store event (submit, completion, flush)
  kSyncCalls,     // after every durability call the workload makes
  kSyscalls,      // after every call of the Filesystem API the workload makes
  kMarked,        // only where the workload called WorkloadContext::Mark()
};

// One acknowledgement: what the workload promised its user, and when.
struct Ack {
  uint64_t event = 0;  // the store event count when it was made
  std::string key;
  std::string value;
  // What was not yet handed to the store when the ack was made, as the sync
  // call that would hand it over ("fsync of the directory /d", ...).
  std::vector<std::string> unsynced;
};
using Acks = std::vector<Ack>;

class WorkloadContext {
 public:
  WorkloadContext(Filesystem& fs, FaultStore& store) : fs_(fs), store_(store) {}
  Filesystem& fs() { return fs_; }
  // Records that the workload acknowledged `value` for `key` (a commit, a
  // file's contents): every crash state after this point must honour it.
  void Ack(std::string key, std::string value);
  // A crash point here (for CrashPoints::kMarked).
  void Mark();
  // Crash points from this moment on only: what the workload did so far (a set
  // up, such as `vfs crash --run --init DIR` copying a tree in and syncing
  // it) is the durable starting state, not part of what is tested.
  void BeginCrashPoints() { begin_ = store_.Faults().events; }
  // The store events so far: each request's submission, completion and
  // flush count one. A caller that records its own operations (the FUSE
  // mount of `vfs crash --run`) brackets each with this to learn which
  // requests it caused.
  uint64_t events() const { return store_.Faults().events; }
  const Acks& acks() const { return acks_; }
  const std::vector<uint64_t>& marks() const { return marks_; }

 private:
  friend class CrashExplorer;
  // A crash point after one of the workload's own calls (CrashPoints::
  // kSyscalls, kSyncCalls); the calls Ack makes to list what is unsynced are
  // the harness's, not the workload's, and make none.
  void CallReturned() {
    if (!listing_) Mark();
  }

  Filesystem& fs_;
  FaultStore& store_;
  Acks acks_;
  std::vector<uint64_t> marks_;
  uint64_t begin_ = 0;
  bool listing_ = false;
};

using Workload = std::function<void(WorkloadContext&)>;
// Returns "" if the recovered tree is acceptable, else what is wrong.
using Checker = std::function<std::string(Filesystem&, const Acks&)>;

struct CrashExplorerOptions {
  CrashProfile profile = CrashProfile::kOrdered;
  CrashPoints points = CrashPoints::kStoreRequest;
  uint32_t sector_size = 512;        // tearing unit of the weakest profile
  uint64_t exhaustive_limit = 4096;  // states per point enumerated in full
  uint64_t samples = 256;            // states per point sampled beyond it
  uint64_t seed = 1;
  uint32_t shard = 0;                // this shard ...
  uint32_t shards = 1;               // ... of this many
  bool volatile_cache = true;        // the device loses unflushed writes
  bool shrink = true;
  uint32_t max_failures = 20;        // stop after this many
  Options fs_options;                // for the workload's and each state's mount
  // How a crash state's store is built. false (the default): a copy of the
  // image of everything durable at the crash point, built once per point and
  // sharing its pages, plus the pending requests the state keeps. true: every
  // request the state keeps replayed into a fresh store, the slower reference
  // the tests compare the default against. Both give the same states.
  bool replay_states = false;
  // Checkers run at once: with more than one, the checker is called from
  // that many threads at a time (it must be thread-safe), on states built
  // one after another. Verdicts are taken in state order, so the report is
  // the same as with one.
  uint32_t check_threads = 1;
};

// A recorded run of a workload: everything an exploration needs, so that a
// workload that cannot run twice the same way (a real program) is recorded
// once, saved, and explored or replayed from the recording.
struct CrashTrace {
  std::vector<RecordedRequest> recording;
  uint64_t first_point = 0;  // the first crash point (event)
  uint64_t last_point = 0;   // the last event of the workload
  Acks acks;
  std::vector<uint64_t> marks;
  std::vector<std::pair<uint64_t, std::string>> paths;  // inode number, a path of it
  std::vector<std::string> unsynced_at_end;
  uint32_t page_size = 0;
};

// A crash state, by name: "v1-<seed>-<point>-<profile>-<choice>", where
// <choice> is the hex bit set of the pending requests kept (and, for the
// weakest profile, of their sectors written).
struct CrashStateName {
  uint64_t seed = 0;
  uint64_t point = 0;
  CrashProfile profile = CrashProfile::kOrdered;
  std::vector<bool> choice;
  std::string ToString() const;
  static Result<CrashStateName> Parse(std::string_view name);
};

struct CrashFailure {
  std::string name;                 // replays it: CrashExplorer::Replay
  std::string message;              // the checker's words
  std::vector<std::string> lost;    // the shrunk set of lost requests
  std::vector<std::string> advice;  // the sync that would have kept each
  uint64_t more_states = 0;         // other failing states with the same cause
};

struct CrashReport {
  uint64_t points = 0;
  uint64_t states = 0;
  uint64_t exhaustive_points = 0;
  uint64_t sampled_points = 0;
  std::vector<CrashFailure> failures;
  std::string ToJson() const;
};

class CrashExplorer {
 public:
  explicit CrashExplorer(CrashExplorerOptions options) : options_(std::move(options)) {}

  // Runs `workload` once, then checks every crash state of this shard.
  Result<CrashReport> Run(const Workload& workload, const Checker& checker);
  // The two halves of Run: run the workload once and keep what it did; check
  // every crash state of this shard of a recorded run.
  Result<CrashTrace> Record(const Workload& workload);
  Result<CrashReport> Explore(const CrashTrace& trace, const Checker& checker);
  // Replay of a named state of a recorded run (EINVAL for a bad name).
  Result<std::string> Replay(const CrashTrace& trace, const Checker& checker,
                             std::string_view name);
  // Rebuilds the named state and runs the checker on it alone: "" if it
  // passes, else the checker's message. EINVAL for a bad name.
  Result<std::string> Replay(const Workload& workload, const Checker& checker,
                             std::string_view name);
  // The crash points of `workload`, and the names of the states the profile
  // gives at one of them (all of them, or the samples beyond the limit).
  // With the recorded requests, for tests and tools that inspect states.
  struct PointStates {
    std::vector<RecordedRequest> durable;
    std::vector<RecordedRequest> pending;
    std::vector<std::string> names;
    bool exhaustive = true;
  };
  Result<std::vector<uint64_t>> CrashPointsOf(const Workload& workload);
  Result<PointStates> StatesAt(const Workload& workload, uint64_t point);

  // The name of the crash state the calling thread's checker is checking
  // (empty outside a checker): for a checker that shows it, such as the
  // program's checker of `vfs crash --run` ($VFS_CRASH_STATE).
  static const std::string& CurrentState();

  // Progress: called after each crash point with (points done, points in
  // all, states so far, failures so far).
  void set_progress(std::function<void(uint64_t, uint64_t, uint64_t, uint64_t)> progress) {
    progress_ = std::move(progress);
  }

 private:
  struct Exploration;
  CrashExplorerOptions options_;
  std::function<void(uint64_t, uint64_t, uint64_t, uint64_t)> progress_;
};

}  // namespace vfs

#endif  // HARNESS_CRASH_EXPLORER_H_
