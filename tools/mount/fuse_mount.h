// FuseMount: a MountedFs served to the kernel through libfuse3, so any
// program can use the VFS through a mount point (docs/mount.md).
//
// The mount uses libfuse's low-level API on a multi-threaded loop
// (lowlevel_ops.h): one kernel node per VFS inode, held as an O_PATH
// descriptor, and every request run as its caller. The kernel options that
// keep the VFS's durability semantics visible (no write-back cache; cached
// names, attributes and pages invalidated at a crash) are explained in
// docs/mount.md.
//
//   std::string why;
//   auto mount = vfs::FuseMount::Create({.mountpoint = "/mnt/v"}, &why);
//   if (!mount.ok()) { fprintf(stderr, "%s\n", why.c_str()); return 1; }
//   (*mount)->Start();                          // serve on a thread
//   ... run programs on /mnt/v, (*mount)->fs().Control("crash") ...
//   (*mount)->Stop();                           // unmount, VFS made durable
//
// Thread-safety: Create, Start/Run and Stop from one thread; fs() and the
// control channel from any.
#ifndef TOOLS_MOUNT_FUSE_MOUNT_H_
#define TOOLS_MOUNT_FUSE_MOUNT_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "tools/mount/control.h"
#include "tools/mount/memory_trimmer.h"
#include "tools/mount/mounted_fs.h"
#include "vfs/result.h"

struct fuse_session;

namespace vfs {

class LowlevelFs;

struct FuseMountOptions {
  std::string mountpoint;
  MountedFsOptions fs;
  // A Unix socket for `vfs ctl`; empty: no control channel.
  std::string control_socket;
  // Worker threads of the FUSE loop.
  unsigned max_threads = 4;
  // Print every FUSE request (libfuse's -d).
  bool debug = false;
  // Let every user, not only the mounter, use the mount (FUSE's
  // allow_other). nullopt: on when running as root or when /etc/fuse.conf
  // has user_allow_other.
  std::optional<bool> allow_other;
  // The kernel's write-back cache (FUSE_CAP_WRITEBACK_CACHE): write(2)
  // fills the kernel's page cache and the pages reach the VFS at fsync,
  // close or the kernel's write-back; a crash drops what the kernel still
  // holds (docs/mount.md). Off: every write(2) is a request.
  bool writeback_cache = true;
  // FUSE requests over io_uring, one queue per CPU, when the kernel offers
  // it (Linux 6.14+ with the fuse module's enable_uring on; fuse_uring.h).
  // Needs writeback_cache off (Create: EINVAL). Off, or not offered:
  // read(2) and writev(2) on /dev/fuse.
  bool io_uring = false;
};

class FuseMount {
 public:
  // Checks /dev/fuse and the mount point, mounts the VFS store and the FUSE
  // file system, and opens the control socket. Errors, with `*why` set to one
  // line: ENODEV / EACCES (no usable /dev/fuse: "FUSE is not available"),
  // EINVAL (io_uring with the write-back cache),
  // ENOENT / ENOTDIR (bad mount point), EINVAL (bad backend), EADDRINUSE (the
  // control socket is served by another mount), EPERM or EIO (the kernel
  // refused the mount; libfuse prints its reason to stderr).
  static Result<std::unique_ptr<FuseMount>> Create(const FuseMountOptions& options,
                                                   std::string* why);
  // Unmounts if still mounted (Stop()).
  ~FuseMount();

  // Makes SIGINT, SIGTERM and SIGHUP end Run() (libfuse's handlers). Call
  // before announcing the mount, so a signal sent at once is not lost.
  // Returns false if they could not be installed.
  bool HandleSignals();
  // Serves requests on the calling thread until the file system is
  // unmounted (umount, fusermount3 -u) or, after HandleSignals(), a signal
  // arrives. Then unmounts it from the kernel and unmounts the VFS, which
  // makes everything durable. Returns 0, or 1 if the VFS unmount reported an
  // error.
  int Run();
  // Serves requests on a background thread.
  void Start();
  // Unmounts from the kernel (lazily if busy), waits for the loop, closes
  // the control socket and unmounts the VFS. Idempotent.
  Result<void> Stop();

  MountedFs& fs() { return *fs_; }
  // Kernel nodes the mount holds (looked up and not yet forgotten, the root
  // included).
  size_t kernel_nodes() const;
  // Requests served through io_uring so far (0 without it).
  uint64_t uring_requests() const;
  // With FuseMountOptions::io_uring: waits until the rings serve, which
  // happens once the kernel has taken the INIT reply. False if they did
  // not start within `timeout` (not offered, refused, or not yet).
  bool WaitForIoUring(absl::Duration timeout);
  const std::string& mountpoint() const { return mountpoint_; }

 private:
  FuseMount() = default;
  Result<void> Finish();

  std::string mountpoint_;
  std::unique_ptr<MountedFs> fs_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<LowlevelFs> server_;
  // Returns what the workers freed to the system (memory_trimmer.h).
  std::unique_ptr<MemoryTrimmer> trimmer_;
  struct fuse_session* session_ = nullptr;
  unsigned max_threads_ = 4;
  bool mounted_ = false;
  bool signals_ = false;
  std::thread loop_;
};

}  // namespace vfs

#endif  // TOOLS_MOUNT_FUSE_MOUNT_H_
