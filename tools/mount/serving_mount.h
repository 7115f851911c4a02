// ServingMount: a FUSE mount that serves whichever Filesystem it is given,
// swappable at any time, and tells an observer about each operation.
//
// `vfs crash --run` needs two things of a mount that `vfs mount` does not:
// to record which program call caused which store request (the observer),
// and to show thousands of crash states in turn without a kernel mount per
// state (Serve swaps the Filesystem under the mount). Every operation
// resolves its path in the Filesystem served at that moment; entry and
// attribute timeouts are 0 and the page cache is dropped at each open, so
// the kernel caches nothing across a swap (docs/mount.md, "FUSE options").
// Open handles carry the generation of the Filesystem they were opened on;
// a handle from before a swap answers EIO, and its late release is ignored.
//
//   std::string why;
//   auto mount = vfs::ServingMount::Create({.mountpoint = dir}, &why);
//   (*mount)->Serve(&fs);          // programs on `dir` now see `fs`
//   ... run a program ...
//   (*mount)->Serve(nullptr);      // every call answers EIO
//   (*mount)->Stop();
//
// Thread-safety: Serve and the observer's calls may come from any thread;
// Create and Stop from one.
#ifndef TOOLS_MOUNT_SERVING_MOUNT_H_
#define TOOLS_MOUNT_SERVING_MOUNT_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "vfs/filesystem.h"
#include "vfs/internal/mutex.h"
#include "vfs/result.h"

struct fuse;

namespace vfs {

// One operation a program made through the mount.
struct MountedOp {
  const char* name = "";  // "write", "rename", "fsync", ...
  std::string path;       // relative to the mount's root ("data/x")
  std::string to;         // rename and link: the new name
  uint64_t ino = 0;       // the file it acted on, when known
  pid_t pid = 0;          // the calling process
  bool replaced = false;  // rename and link: `to` named a file before
};

// Told of each operation that may change the filesystem (not of lookups,
// reads or listings). Before() runs before the operation's VFS call, After()
// after it, on the same thread. With `serialize` set (ServingMountOptions),
// operations run one at a time, so whatever happens between Before and After
// was caused by that operation.
class MountObserver {
 public:
  virtual ~MountObserver() = default;
  virtual void Before() = 0;
  virtual void After(const MountedOp& op, int result) = 0;
};

struct ServingMountOptions {
  std::string mountpoint;
  MountObserver* observer = nullptr;  // not owned; may be null
  // One FUSE request at a time (a single-threaded loop).
  bool serialize = false;
};

class ServingMount {
 public:
  // Mounts an empty mount (every call EIO until Serve). Errors as
  // FuseMount::Create, with `*why` set to one line.
  static Result<std::unique_ptr<ServingMount>> Create(const ServingMountOptions& options,
                                                      std::string* why);
  ~ServingMount();

  // Serves `fs` (not owned; null: nothing) from now on. Waits for the
  // operations running on the previous one to finish.
  void Serve(Filesystem* fs);
  // Unmounts from the kernel and ends the loop. Idempotent.
  void Stop();

  const std::string& mountpoint() const { return mountpoint_; }
  // For the observer: the path `handle` was opened by.
  void Opened(uint64_t handle, const char* path);
  void Released(uint64_t handle);
  std::string PathOf(uint64_t handle);
  MountObserver* observer() const { return observer_; }

  // For the FUSE operations (serving_mount.cc).
  struct Hold;

 private:
  ServingMount() = default;
  friend struct Hold;

  std::string mountpoint_;
  MountObserver* observer_ = nullptr;
  struct fuse* fuse_ = nullptr;
  bool serialize_ = false;
  std::thread loop_;
  Mutex loop_mu_;
  bool loop_done_ ABSL_GUARDED_BY(loop_mu_) = false;

  // The path each open handle was opened by, for the observer: libfuse
  // passes no path to operations on an open file (nullpath_ok).
  Mutex paths_mu_;
  std::map<uint64_t, std::string> open_paths_ ABSL_GUARDED_BY(paths_mu_);

  SharedMutex mu_;
  Filesystem* fs_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint32_t generation_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace vfs

#endif  // TOOLS_MOUNT_SERVING_MOUNT_H_
