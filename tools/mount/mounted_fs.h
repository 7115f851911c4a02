// MountedFs: the Filesystem behind `vfs mount`, with the state the control
// channel acts on: the store chain, the crash-and-remount step, fault rules,
// counters and the dirty report. It knows nothing of FUSE, so its commands
// can be tested without a kernel mount.
//
// The store chain, bottom up: the backend (memory, memory:volatile, disk:DIR,
// or a memory store under fault:PRESET), a FaultStore (rules can be injected
// on every backend; fault:PRESET also times a device on its virtual clock),
// and a PendingStore that remembers what a crash under a profile may keep.
//
// Every operation holds a Guard (a shared lock) for its duration; Crash()
// takes it exclusively, so a crash never cuts a call in half. A crash
// replaces the Filesystem: descriptors of the old one are stamped with a
// generation and answer EIO afterwards, as a process holding a file open
// across a power cut would never see it again.
//
//   std::string why;
//   auto fs = vfs::MountedFs::Open({.backend = "memory"}, &why);
//   {
//     vfs::MountedFs::Guard guard(fs->get());
//     guard.fs().Open("/a", O_CREAT | O_WRONLY, 0644);
//   }
//   std::string reply = (*fs)->Control("crash");   // "ok crash: ..."
//
// Thread-safety: thread-safe.
#ifndef TOOLS_MOUNT_MOUNTED_FS_H_
#define TOOLS_MOUNT_MOUNTED_FS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backends/fault/fault_store.h"
#include "tools/mount/pending_store.h"
#include "vfs/filesystem.h"
#include "vfs/internal/mutex.h"

namespace vfs {

struct MountedFsOptions {
  // memory | memory:volatile | disk:DIR | fault:PRESET (tools/bench/job.h).
  std::string backend = "memory";
  // What "crash" keeps of the requests not yet durable (pending_store.h).
  MountCrashProfile profile = MountCrashProfile::kDurable;
  // The seed of the first crash; each crash uses the next one.
  uint64_t seed = 1;
  Options fs_options;
};

// The FUSE operations counted for the "stats" command.
enum class MountOp {
  kGetattr, kSetattr, kCreate, kOpen, kRead, kWrite, kFlush, kRelease,
  kFsync, kFdatasync, kOpendir, kReaddir, kFsyncdir, kMkdir, kRmdir, kUnlink,
  kRename, kLink, kSymlink, kReadlink, kStatfs, kMknod, kLookup, kForget,
  kXattr, kFallocate, kLseek, kCopyFileRange, kIoctl, kCount
};

class MountedFs {
 public:
  // Builds the store chain and mounts it. On failure returns the errno and
  // sets `*why` to a one-line reason (bad backend spec: EINVAL; the disk
  // store's own reasons).
  static Result<std::unique_ptr<MountedFs>> Open(const MountedFsOptions& options,
                                                 std::string* why);
  // Unmounts (everything made durable) unless Shutdown() came first.
  ~MountedFs();

  // A shared hold on the current Filesystem for one operation.
  class ABSL_SCOPED_LOCKABLE Guard {
   public:
    explicit Guard(MountedFs* owner) ABSL_SHARED_LOCK_FUNCTION(owner->mu_);
    ~Guard() ABSL_UNLOCK_FUNCTION();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    // False after a failed remount or a shutdown: every call answers EIO.
    bool alive() const { return fs_ != nullptr; }
    Filesystem& fs() { return *fs_; }
    // A FUSE file handle for `fd` of the current Filesystem, and back. A
    // handle of an earlier generation gives nullopt.
    uint64_t Handle(Fd fd) const;
    std::optional<Fd> FdOf(uint64_t handle) const;
    // The generation of the Filesystem this guard holds (one per crash).
    uint32_t generation() const { return generation_; }

   private:
    MountedFs* owner_;
    Filesystem* fs_;
    uint32_t generation_;
  };

  void Count(MountOp op) { ops_[static_cast<size_t>(op)].fetch_add(1, std::memory_order_relaxed); }

  // Runs one control command (docs/mount.md) and returns its reply: a first
  // line "ok ..." or "error: ...", maybe followed by more lines.
  std::string Control(std::string_view command);

  // Power cut and remount: the store drops everything not durable except
  // what the profile keeps (drawn with the next seed), and a new Filesystem
  // mounts the durable state. Returns the reply line.
  std::string Crash();
  // Called by Crash(): `remounted` with the new Filesystem and its
  // generation while the exclusive lock is still held (no operation runs; it
  // must not wait for one), then `after` once the lock is released (it may
  // call into the kernel, which may wait for operations in flight). The FUSE
  // mount rebinds its root and invalidates the kernel's caches here.
  struct CrashHooks {
    std::function<void(Filesystem& fs, uint32_t generation)> remounted;
    std::function<void()> after;
  };
  void SetCrashHooks(CrashHooks hooks);
  // Called by the `sync` command before it syncs the VFS, with no lock
  // held: the FUSE mount has the kernel write back the dirty pages of its
  // write-back cache (syncfs), so `sync` makes them durable too.
  void SetBeforeSync(std::function<void()> hook);
  // The current generation (for a mount's first root binding).
  uint32_t generation();

  // Unmounts the Filesystem, making everything durable (as umount does).
  // Later operations answer EIO. Returns the unmount's result.
  Result<void> Shutdown();

 private:
  MountedFs(const MountedFsOptions& options, std::shared_ptr<Store> backend,
            std::shared_ptr<FaultStore> faults, std::shared_ptr<PendingStore> pending);

  // Crash() under the exclusive lock; `*after` gets the hook to run once it
  // is released.
  std::string CrashLocked(std::function<void()>* after);
  std::string FaultCommand(const std::string& args);
  std::string StatsCommand();
  std::string DirtyCommand();

  const MountedFsOptions options_;
  const std::shared_ptr<Store> backend_;
  const std::shared_ptr<FaultStore> faults_;
  const std::shared_ptr<PendingStore> pending_;

  // Guards the current Filesystem. Operations hold it shared; Crash and
  // Shutdown exclusive. Outermost lock: the Filesystem's own locks are taken
  // inside it.
  SharedMutex mu_;
  std::unique_ptr<Filesystem> fs_ ABSL_GUARDED_BY(mu_);
  uint32_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_seed_ ABSL_GUARDED_BY(mu_);
  uint64_t crashes_ ABSL_GUARDED_BY(mu_) = 0;

  std::array<std::atomic<uint64_t>, static_cast<size_t>(MountOp::kCount)> ops_{};
  CrashHooks hooks_ ABSL_GUARDED_BY(mu_);
  // Set once, before the control socket serves commands.
  std::function<void()> before_sync_;
};

}  // namespace vfs

#endif  // TOOLS_MOUNT_MOUNTED_FS_H_
