// FuseMount: the kernel mount, its session loop and its shutdown. The
// operations are in lowlevel_ops.cc (libfuse's low-level API, one kernel
// node per VFS inode); the options that keep the VFS's semantics visible
// through the kernel's caches are explained in docs/mount.md.
#include "tools/mount/fuse_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/mount/lowlevel_ops.h"

namespace vfs {
namespace {

// allow_other is for root, or for anyone when /etc/fuse.conf says
// user_allow_other (fusermount3 refuses it otherwise).
bool MayAllowOther() {
  if (::geteuid() == 0) return true;
  std::ifstream conf("/etc/fuse.conf");
  std::string line;
  while (std::getline(conf, line)) {
    const size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line.compare(first, 16, "user_allow_other") == 0) return true;
  }
  return false;
}

// Unmounts `mountpoint` from the kernel: directly as root, else through
// fusermount3. A busy mount is detached lazily (it goes when the last user
// leaves; the FUSE loop ends at once either way).
void KernelUnmount(const std::string& mountpoint) {
  if (::umount2(mountpoint.c_str(), 0) == 0) return;
  if (errno == EBUSY && ::umount2(mountpoint.c_str(), MNT_DETACH) == 0) return;
  if (errno != EPERM) return;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("fusermount3", "fusermount3", "-u", "-z", "-q", mountpoint.c_str(), nullptr);
    ::_exit(127);
  }
  if (pid > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace

Result<std::unique_ptr<FuseMount>> FuseMount::Create(const FuseMountOptions& options,
                                                     std::string* why) {
  const int dev = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (dev < 0) {
    const int err = errno;
    *why = absl::StrCat("FUSE is not available: /dev/fuse: ", std::strerror(err),
                        " (install fuse3 and load the fuse module)");
    return Error(err == ENOENT ? ENODEV : err);
  }
  ::close(dev);
  struct stat st;
  if (options.mountpoint.empty() || ::stat(options.mountpoint.c_str(), &st) != 0) {
    const int err = options.mountpoint.empty() ? ENOENT : errno;
    *why = absl::StrCat("mount point '", options.mountpoint, "': ", std::strerror(err));
    return Error(err);
  }
  if (!S_ISDIR(st.st_mode)) {
    *why = absl::StrCat("mount point '", options.mountpoint, "' is not a directory");
    return Error(ENOTDIR);
  }
  char resolved[PATH_MAX];
  if (::realpath(options.mountpoint.c_str(), resolved) == nullptr) {
    const int err = errno;
    *why = absl::StrCat("mount point '", options.mountpoint, "': ", std::strerror(err));
    return Error(err);
  }

  if (options.io_uring && options.writeback_cache) {
    *why = "--io-uring needs --no-writeback-cache (docs/mount.md, \"FUSE over io_uring\")";
    return Error(EINVAL);
  }
  std::unique_ptr<FuseMount> mount(new FuseMount());
  mount->mountpoint_ = resolved;
  // With the write-back cache a worker may wait for the kernel's write-back,
  // which another worker serves (LowlevelFs::WriteBackKernelPages), so at
  // least two.
  mount->max_threads_ = options.writeback_cache ? std::max(options.max_threads, 2u)
                                                : options.max_threads;
  // Every node the kernel holds is an O_PATH descriptor of the VFS
  // (lowlevel_ops.h), so the descriptor limit must cover the kernel's inode
  // cache, not a process's open files.
  MountedFsOptions fs_options = options.fs;
  fs_options.fs_options.max_open_fds = std::max<uint32_t>(fs_options.fs_options.max_open_fds, 1u << 30);
  auto fs = MountedFs::Open(fs_options, why);
  if (!fs.ok()) return Error(fs.error());
  mount->fs_ = std::move(fs).value();
  LowlevelOptions lowlevel;
  lowlevel.writeback_cache = options.writeback_cache;
  lowlevel.io_uring = options.io_uring;
  mount->server_ = std::make_unique<LowlevelFs>(mount->fs_.get(), lowlevel);
  if (auto started = mount->server_->Start(); !started.ok()) {
    *why = absl::StrCat("cannot open the VFS root: ", std::strerror(started.error()));
    return Error(started.error());
  }

  // default_permissions: the kernel checks permissions against the
  // attributes it caches, on every path walk, including the walks that
  // never reach the VFS because the names are cached (docs/mount.md).
  std::string mount_options = "default_permissions,fsname=vfs,subtype=vfs";
  const bool allow_other = options.allow_other.value_or(MayAllowOther());
  if (allow_other) mount_options += ",allow_other";
  std::vector<std::string> argv = {"vfs", "-o", mount_options};
  if (options.debug) argv.push_back("-d");
  std::vector<char*> args_v;
  for (std::string& a : argv) args_v.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(args_v.size()), args_v.data());
  mount->session_ = fuse_session_new(&args, &LowlevelFs::Ops(), sizeof(fuse_lowlevel_ops),
                                     mount->server_.get());
  fuse_opt_free_args(&args);
  if (mount->session_ == nullptr) {
    *why = "libfuse refused the mount options (see the message above)";
    return Error(EINVAL);
  }
  errno = 0;
  if (fuse_session_mount(mount->session_, mount->mountpoint_.c_str()) != 0) {
    const int err = errno == EPERM || errno == ENODEV || errno == EACCES ? errno : EIO;
    *why = absl::StrCat("cannot mount FUSE at '", mount->mountpoint_,
                        "' (libfuse printed the reason above)");
    fuse_session_destroy(mount->session_);
    mount->session_ = nullptr;
    return Error(err);
  }
  // The same device, through the mount's own read and writev
  // (LowlevelFs::Io: the INIT reply gains FUSE_HANDLE_KILLPRIV_V2).
  if (fuse_session_custom_io(mount->session_, &LowlevelFs::Io(), fuse_session_fd(mount->session_)) != 0) {
    *why = "libfuse refused the device I/O hooks";
    fuse_session_unmount(mount->session_);
    fuse_session_destroy(mount->session_);
    mount->session_ = nullptr;
    return Error(EIO);
  }
  mount->server_->Attach(mount->session_);
  mount->mounted_ = true;
  if (options.writeback_cache) {
    // `vfs ctl sync` first has the kernel write back the dirty pages it
    // holds, and waits for them (FUSE_WRITEs, served by the workers).
    LowlevelFs* server = mount->server_.get();
    mount->fs_->SetBeforeSync([server] { server->WriteBackAllKernelPages(); });
  }

  // Every second, past 64 MiB free in the allocator, its free pages go
  // back to the system: file data freed by deletions and crashes would
  // otherwise stay resident in the workers' arenas.
  mount->trimmer_ = std::make_unique<MemoryTrimmer>(std::chrono::seconds(1), size_t{64} << 20);
  if (!options.control_socket.empty()) {
    MountedFs* state = mount->fs_.get();
    auto server = ControlServer::Start(
        options.control_socket, [state](std::string_view command) { return state->Control(command); },
        why);
    if (!server.ok()) {
      (void)mount->Stop();  // the reason to report is the socket's
      return Error(server.error());
    }
    mount->control_ = std::move(server).value();
  }
  return mount;
}

FuseMount::~FuseMount() { (void)Stop(); }  // Stop's result goes to callers that ask

bool FuseMount::HandleSignals() {
  signals_ = fuse_set_signal_handlers(session_) == 0;
  return signals_;
}

int FuseMount::Run() {
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(config, 0);
  fuse_loop_cfg_set_max_threads(config, max_threads_);
  // The loop ends when the kernel unmounts (ENODEV) or a signal handler
  // exits the session; its own return value says which, and both end here.
  (void)fuse_session_loop_mt(session_, config);
  fuse_loop_cfg_destroy(config);
  if (signals_) fuse_remove_signal_handlers(session_);
  signals_ = false;
  auto finished = Finish();
  if (!finished.ok()) {
    std::fprintf(stderr, "vfs mount: unmounting the VFS failed: %s\n",
                 std::strerror(finished.error()));
    return 1;
  }
  return 0;
}

void FuseMount::Start() {
  loop_ = std::thread([this] {
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_clone_fd(config, 0);
    fuse_loop_cfg_set_max_threads(config, max_threads_);
    (void)fuse_session_loop_mt(session_, config);  // ends when Stop unmounts
    fuse_loop_cfg_destroy(config);
  });
}

size_t FuseMount::kernel_nodes() const { return server_->nodes().size(); }

uint64_t FuseMount::uring_requests() const { return server_->uring_requests(); }

bool FuseMount::WaitForIoUring(absl::Duration timeout) { return server_->WaitForUring(timeout); }

Result<void> FuseMount::Stop() {
  if (loop_.joinable()) {
    KernelUnmount(mountpoint_);
    loop_.join();
  }
  return Finish();
}

Result<void> FuseMount::Finish() {
  if (session_ == nullptr) return Ok();
  control_.reset();  // no command may run on a filesystem going away
  server_->StopUring();  // the ring threads serve the VFS too
  trimmer_.reset();
  auto unmounted = fs_->Shutdown();
  server_->Attach(nullptr);  // no invalidation to a session going away
  if (mounted_) fuse_session_unmount(session_);  // closes the channel; unmounts if still mounted
  mounted_ = false;
  fuse_session_destroy(session_);
  session_ = nullptr;
  return unmounted;
}

}  // namespace vfs
