// The disk store: a Store whose durable image lives in a directory on the
// host, so a program embedding the VFS keeps its data across process crashes
// and restarts. The format (an append-only log of checksummed frames plus
// checkpoints) is docs/formats.md.
//
// Durability levels on this store (store.h):
//  - Submit() keeps the requests in memory.
//  - Wait(t) writes the frames of every ticket up to t to the log with
//    pwrite(2): completed requests survive a crash of the process (they are in
//    the host's page cache), not a power cut.
//  - Flush() makes them durable against power loss: it waits for the next
//    fdatasync(2) of the log that starts after its frames were written; one
//    leader runs it for every caller that has appended meanwhile (group
//    commit), and a few may run at once (max_concurrent_syncs). A failed one
//    answers its error to every caller it covered.
//  - has_volatile_cache() is true.
// Crash() simulates a power cut: the log is cut back to what the last
// successful Flush covered, the directory lock is released, and the next
// Load() reads the directory again, so a test's crash and remount exercise
// the real recovery. Pages are read back lazily with one pread each.
//
// With background_work (the default) the store runs one thread of its own,
// for compaction and for zero-filling the log ahead of the writes; the
// store's destructor joins it.
//
// Only one process may open a store (an advisory lock on its LOCK file).
// Nothing the VFS names becomes a host path: the store names its own files.
//
//   vfs::DiskStoreOptions options;
//   std::string why;
//   auto store = vfs::OpenDiskStore("/var/lib/app/vfs", options, &why);
//   if (!store.ok()) { fprintf(stderr, "%s\n", why.c_str()); ... }
//   auto fs = vfs::Filesystem::Mount(*store).value();
//
// Thread-safety: every method of the returned Store is thread-safe.
#ifndef BACKENDS_DISK_DISK_STORE_H_
#define BACKENDS_DISK_DISK_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vfs/result.h"
#include "vfs/store.h"

namespace vfs {

// Host calls the store makes, for DiskStoreOptions::inject_host_error.
enum class DiskHostOp {
  kWrite,      // pwrite of frames or of a checkpoint
  kSync,       // fdatasync of a log or checkpoint
  kExtend,     // zero-filling new log space (its pwrite and its fdatasync)
  kSyncDir,    // fsync of the store's directory
  kRead,       // pread
  kCreate,     // open(O_CREAT) of a new file
  kRename,
  kTruncate,
};

// The steps of a compaction (docs/formats.md "Compaction"), for
// DiskStoreOptions::compaction_hook.
enum class DiskCompactionStep {
  kLogSwitched,          // the new log exists and takes the writes
  kCheckpointWritten,    // checkpoint-N.tmp is written and fdatasynced
  kCheckpointInstalled,  // renamed to checkpoint-N, directory fsynced
  kOldFilesRemoved,      // the logs and checkpoint it replaces are gone
};

// Counts of host calls, for benchmarks and tests (group commit shows as
// log_syncs < flush calls).
struct DiskStoreCounters {
  std::atomic<uint64_t> log_writes{0};   // pwrite calls to the log
  std::atomic<uint64_t> log_bytes{0};    // bytes of frames those calls wrote
  std::atomic<uint64_t> log_syncs{0};    // fdatasync calls on the log, all kinds
  std::atomic<uint64_t> commit_syncs{0};    // those a Flush leader ran (group commits)
  std::atomic<uint64_t> commit_joins{0};    // Flush calls that joined a group commit
  std::atomic<uint64_t> commit_callers{0};  // Flush calls a group commit answered
  std::atomic<uint64_t> extends{0};          // zero-filled steps added to the log
  std::atomic<uint64_t> extends_in_caller{0};  // those a writer had to add itself
  std::atomic<uint64_t> recycled_logs{0};    // new logs written into a replaced one
  std::atomic<uint64_t> dir_syncs{0};    // fsync calls on the directory
  std::atomic<uint64_t> page_reads{0};   // preads serving ReadPage
  std::atomic<uint64_t> compactions{0};  // compactions completed
};

struct DiskStoreOptions {
  // Create the store when the directory is missing or empty. Otherwise such a
  // directory is refused with ENOENT.
  bool create_if_missing = true;
  // Compact when the logs hold more than compaction_ratio times the live data
  // and more than compaction_min_log_bytes. 0 turns compaction off.
  uint32_t compaction_ratio = 4;
  uint64_t compaction_min_log_bytes = 64ull << 20;
  // The log grows in zero-filled steps of this size, so that a write to the
  // log is an overwrite and fdatasync writes no file-size metadata.
  uint64_t log_extend_bytes = 4ull << 20;
  // Completed but unflushed bytes the store keeps in memory (to write them
  // again after a failed fdatasync) before it flushes on its own.
  uint64_t max_unflushed_bytes = 64ull << 20;
  // Log fdatasyncs that may run at once, each on its own descriptor of the
  // log and each serving every caller whose frames were written when it
  // started (group commit). Devices that serve concurrent flushes faster
  // than a serial stream of them gain from more than 1; more rounds at once
  // means fewer callers in each (disk_bench, docs/benchmarks.md: 2 did best
  // of 1 to 4 and 8 at 8 threads), so a round starts beside running ones
  // only once it has as many callers as each of them. 0 counts as 1.
  uint32_t max_concurrent_syncs = 2;
  // End each commit's frames on a 4 KiB boundary (padding with no-op
  // records), so no fdatasync ever rewrites a block holding frames an
  // earlier one made durable, and concurrent fdatasyncs never wait for each
  // other's writeback of a shared page. Costs up to a block of log per
  // commit: a one-page commit takes 8 KiB of log instead of 4,168 bytes, so
  // compactions come twice as often.
  bool align_commits = false;
  // Compaction and the zero-filling of the log ahead of the writes run on a
  // thread of the store, off the path of the callers' Wait and Flush. When
  // false they run in the caller whose Flush or write found them due (tests
  // that inspect the files after a compaction use this).
  bool background_work = true;
  // Every error the store meets, as one line naming the file and offset
  // concerned. Empty: lines go to stderr.
  std::function<void(const std::string&)> error_log;

  // ---- For tests ----
  // Called before each host call; a nonzero return fails the call with that
  // errno (EIO, ENOSPC, EDQUOT) as if the host had.
  std::function<int(DiskHostOp op, const std::string& file)> inject_host_error;
  // Called after each compaction step; returning false stops the compaction
  // there, as if the process had died (the files stay as they are). A test
  // then calls Crash() and mounts again.
  std::function<bool(DiskCompactionStep step)> compaction_hook;
  // Filled in as the store runs, if set.
  std::shared_ptr<DiskStoreCounters> counters;
};

// Opens the store in directory `dir`, creating it if options allow, and
// replays its durable state. Errors, each with a one-line explanation in
// `*error_message` (if not null) and in options.error_log:
//  - ENOENT: `dir` is missing or empty and create_if_missing is false;
//  - ENOTDIR: `dir` is not a directory;
//  - EINVAL: `dir` holds files but is not a disk store;
//  - ENOTSUP: the store has a format version this build does not read;
//  - EBUSY: another process (or another open in this one) holds the store;
//  - EIO: corruption (the message names the file and the offset);
//  - the host's errno for a failed host call.
// A failed open changes nothing in the directory.
Result<std::shared_ptr<Store>> OpenDiskStore(const std::string& dir, DiskStoreOptions options = {},
                                             std::string* error_message = nullptr);

}  // namespace vfs

#endif  // BACKENDS_DISK_DISK_STORE_H_
