// LowlevelFs: the MountedFs served through libfuse3's low-level API
// (fuse_lowlevel_ops), inode by inode (docs/mount.md, "Design").
//
// Every kernel node id names a VFS inode through an O_PATH descriptor
// (InodeTable); operations address those descriptors with the core's *at
// calls and AT_EMPTY_PATH, never a path, so hard links are one kernel inode,
// an unlinked open file keeps working, and no path length limit applies but
// the VFS's own per name. Each request runs as its caller (fuse_req_ctx and
// fuse_req_getgroups in a ScopedCredentials, rule X1).
//
// The kernel caches entries and attributes with timeouts and keeps clean
// pages across opens, since the kernel is the only writer of the VFS between
// crashes; a crash invalidates all of it (InvalidateAll) before new
// operations can see the remounted state through the caches.
//
//   LowlevelFs server(&mounted_fs, {});
//   fuse_session* se = fuse_session_new(&args, &LowlevelFs::Ops(), sizeof(fuse_lowlevel_ops), &server);
//   server.Attach(se);
//
// Thread-safety: the operations run on any number of libfuse worker threads.
#ifndef TOOLS_MOUNT_LOWLEVEL_OPS_H_
#define TOOLS_MOUNT_LOWLEVEL_OPS_H_

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#include "tools/mount/fuse_uring.h"
#include "tools/mount/inode_table.h"
#include "tools/mount/mounted_fs.h"
#include "vfs/internal/mutex.h"
#include "vfs/result.h"

namespace vfs {

struct LowlevelOptions {
  // Seconds the kernel may keep a name, an attribute set, or the absence of
  // a name without asking. Nothing but the kernel changes them between
  // crashes, and a crash invalidates them explicitly.
  double entry_timeout = 3600;
  double attr_timeout = 3600;
  double negative_timeout = 3600;
  // Ask for the kernel's write-back cache (docs/mount.md, "How the
  // kernel's caches are kept from hiding the semantics").
  bool writeback_cache = false;
  // Serve requests through io_uring when the kernel offers it
  // (fuse_uring.h), with this many threads per CPU queue. Not with the
  // write-back cache.
  bool io_uring = false;
  unsigned uring_threads_per_queue = 2;
};

struct DirHandle;  // an open directory of the kernel's (lowlevel_ops.cc)

class LowlevelFs {
 public:
  LowlevelFs(MountedFs* fs, LowlevelOptions options);
  ~LowlevelFs();
  LowlevelFs(const LowlevelFs&) = delete;
  LowlevelFs& operator=(const LowlevelFs&) = delete;

  // Opens the root's descriptor and installs the crash hooks. EIO if the
  // filesystem is not mounted.
  Result<void> Start();
  // The session the invalidations go to (null: none, as before mounting).
  void Attach(fuse_session* session) { session_.store(session); }
  // Stops the io_uring threads, if any (FuseUring::Stop): after the kernel
  // unmounted, before the session is destroyed.
  void StopUring();
  // Requests served through io_uring so far; 0 when it is not in use.
  uint64_t uring_requests() const;
  bool uring_active() const { return uring_active_.load(); }
  // Waits until the io_uring threads serve (true), or their start failed
  // or `timeout` passed (false). They start once the kernel has taken the
  // INIT reply, which may come after the mount is created.
  bool WaitForUring(absl::Duration timeout) {
    return uring_started_.WaitForNotificationWithTimeout(timeout) && uring_active();
  }

  static const fuse_lowlevel_ops& Ops();
  // The device I/O of the session (fuse_session_custom_io): plain read and
  // writev, except that the INIT reply also asks for
  // FUSE_HANDLE_KILLPRIV_V2, which libfuse 3.14 cannot ask for. With it the
  // kernel stops asking for security.capability before every write
  // (SB_NOSEC), and leaves clearing the set-id bits on write and truncate
  // to the file system, which the core does (rule X1).
  static const fuse_custom_io& Io();

  MountedFs& fs() { return *fs_; }
  InodeTable& nodes() { return nodes_; }
  const LowlevelOptions& options() const { return options_; }

  // Tells the kernel to drop every name, attribute and page it caches of
  // this file system (after a crash).
  void InvalidateAll();
  // Makes the kernel write back the dirty pages it holds of `node` (with
  // the write-back cache), and waits for those writes. Call without holding
  // a MountedFs::Guard: the writes are served by other workers.
  void WriteBackKernelPages(uint64_t node);
  // The same for every node: after it, the VFS has every write the kernel
  // held (for `vfs ctl sync`). syncfs(2) would not do: since Linux 6.18 or
  // so it does not wait for a FUSE file system's write-back to complete,
  // so the VFS's sync could run before the writes arrive. Clean pages are
  // dropped too, and read again when needed.
  void WriteBackAllKernelPages();

  // Open directories, from OPENDIR to RELEASEDIR. The kernel may end the
  // session with some never released (a RELEASEDIR still queued at
  // unmount); they go with this object instead of leaking.
  DirHandle* AddDir(std::unique_ptr<DirHandle> dir);
  void DropDir(DirHandle* dir);

 private:
  MountedFs* const fs_;
  Mutex dirs_mu_;
  absl::flat_hash_map<DirHandle*, std::unique_ptr<DirHandle>> dirs_ ABSL_GUARDED_BY(dirs_mu_);
  const LowlevelOptions options_;
  InodeTable nodes_;
  std::atomic<fuse_session*> session_{nullptr};
  // The `unique` of the kernel's INIT request, whose reply Io() amends.
  std::atomic<uint64_t> init_unique_{~uint64_t{0}};
  // Whether the INIT request offered FUSE_OVER_IO_URING.
  std::atomic<bool> kernel_offers_uring_{false};
  // Started by Io() once the kernel took an INIT reply asking for it.
  void StartUring(int fd, size_t payload_bytes);
  void RunUring(int fd, size_t payload_bytes);
  mutable Mutex uring_mu_;
  std::unique_ptr<FuseUring> uring_ ABSL_GUARDED_BY(uring_mu_);
  std::thread uring_starter_ ABSL_GUARDED_BY(uring_mu_);
  bool uring_stopped_ ABSL_GUARDED_BY(uring_mu_) = false;
  absl::Notification uring_started_;  // RunUring is done, rings or not
  std::atomic<bool> uring_active_{false};
  friend struct DeviceIo;
};

}  // namespace vfs

#endif  // TOOLS_MOUNT_LOWLEVEL_OPS_H_
