// The FUSE operations: each maps one kernel request onto one VFS call.
//
// Durability through the kernel (docs/mount.md, "FUSE options"):
//  - No write-back cache (FUSE_CAP_WRITEBACK_CACHE cleared): every write(2)
//    reaches the VFS before it returns, in order, so the VFS's dirty state is
//    exactly what the programs wrote, and fsync(2) / fdatasync(2) arrive as
//    FUSE_FSYNC with the datasync flag, mapped to Fsync / Fdatasync (D1, D2).
//  - Entry, negative-entry and attribute timeouts of 0: every lookup and
//    stat asks the VFS, so a crash's remount is seen at once.
//  - keep_cache off (kernel_cache=0, auto_cache=0): the page cache of a file
//    is dropped at each open, so a file opened after a crash reads the
//    durable bytes, not what the kernel cached before it.
//  - hard_remove and nullpath_ok: an unlinked open file keeps working
//    through its VFS descriptor (the VFS keeps its data, as Linux does)
//    instead of libfuse renaming it to .fuse_hidden*, which would add
//    entries the program never made.
#define FUSE_USE_VERSION 314

#include "tools/mount/fuse_mount.h"

#include <dirent.h>
#include <fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vfs {
namespace {

MountedFs& State() { return *static_cast<MountedFs*>(fuse_get_context()->private_data); }

template <typename T>
int Errno(const Result<T>& r) {
  return r.ok() ? 0 : -r.error();
}

void ToStat(const StatBuf& s, struct stat* st) {
  *st = {};
  st->st_ino = s.ino.value();
  st->st_mode = s.mode;
  st->st_nlink = s.nlink;
  st->st_uid = s.uid;
  st->st_gid = s.gid;
  st->st_size = static_cast<off_t>(s.size);
  st->st_blocks = static_cast<blkcnt_t>(s.blocks);
  st->st_blksize = s.blksize;
  st->st_atim = {s.atime.sec, s.atime.nsec};
  st->st_mtim = {s.mtime.sec, s.mtime.nsec};
  st->st_ctim = {s.ctime.sec, s.ctime.nsec};
}

// Runs `call(fs, fd)` on the VFS descriptor behind `fi`, or answers EIO for a
// handle from before a crash (or after a failed remount).
template <typename Call>
int WithFd(MountOp op, fuse_file_info* fi, Call call) {
  MountedFs& state = State();
  state.Count(op);
  MountedFs::Guard guard(&state);
  auto fd = guard.FdOf(fi->fh);
  if (!fd) return -EIO;
  return call(guard.fs(), *fd);
}

// Runs `call(fs)` on the current Filesystem.
template <typename Call>
int WithFs(MountOp op, Call call) {
  MountedFs& state = State();
  state.Count(op);
  MountedFs::Guard guard(&state);
  if (!guard.alive()) return -EIO;
  return call(guard.fs());
}

int OpGetattr(const char* path, struct stat* st, fuse_file_info* fi) {
  if (fi != nullptr) {
    return WithFd(MountOp::kGetattr, fi, [&](Filesystem& fs, Fd fd) {
      auto s = fs.Fstat(fd);
      if (s.ok()) ToStat(*s, st);
      return Errno(s);
    });
  }
  return WithFs(MountOp::kGetattr, [&](Filesystem& fs) {
    auto s = fs.Lstat(path);
    if (s.ok()) ToStat(*s, st);
    return Errno(s);
  });
}

int OpReadlink(const char* path, char* buf, size_t size) {
  return WithFs(MountOp::kReadlink, [&](Filesystem& fs) {
    auto target = fs.Readlink(path);
    if (!target.ok()) return -target.error();
    // libfuse wants a NUL-terminated string, truncated to fit, as readlink(2)
    // truncates.
    const size_t n = std::min(target->size(), size - 1);
    std::memcpy(buf, target->data(), n);
    buf[n] = '\0';
    return 0;
  });
}

int OpMknod(const char* path, mode_t mode, dev_t rdev) {
  return WithFs(MountOp::kMknod, [&](Filesystem& fs) {
    if (S_ISFIFO(mode)) return Errno(fs.Mkfifo(path, mode & 07777));
    if (S_ISREG(mode)) {
      auto fd = fs.Open(path, O_WRONLY | O_CREAT | O_EXCL, mode & 07777);
      if (!fd.ok()) return -fd.error();
      return Errno(fs.Close(*fd));
    }
    return -EPERM;  // the VFS has no device nodes or sockets
  });
}

int OpMkdir(const char* path, mode_t mode) {
  return WithFs(MountOp::kMkdir, [&](Filesystem& fs) { return Errno(fs.Mkdir(path, mode & 07777)); });
}

int OpUnlink(const char* path) {
  return WithFs(MountOp::kUnlink, [&](Filesystem& fs) { return Errno(fs.Unlink(path)); });
}

int OpRmdir(const char* path) {
  return WithFs(MountOp::kRmdir, [&](Filesystem& fs) { return Errno(fs.Rmdir(path)); });
}

int OpSymlink(const char* target, const char* path) {
  return WithFs(MountOp::kSymlink, [&](Filesystem& fs) { return Errno(fs.Symlink(target, path)); });
}

int OpRename(const char* from, const char* to, unsigned int flags) {
  return WithFs(MountOp::kRename, [&](Filesystem& fs) {
    unsigned vfs_flags = 0;
    if (flags & RENAME_NOREPLACE) vfs_flags |= kRenameNoReplace;
    if (flags & RENAME_EXCHANGE) vfs_flags |= kRenameExchange;
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;  // RENAME_WHITEOUT
    return Errno(fs.Rename(from, to, vfs_flags));
  });
}

int OpLink(const char* from, const char* to) {
  return WithFs(MountOp::kLink, [&](Filesystem& fs) { return Errno(fs.Link(from, to)); });
}

int OpChmod(const char* path, mode_t mode, fuse_file_info* fi) {
  if (fi != nullptr) {
    return WithFd(MountOp::kSetattr, fi,
                  [&](Filesystem& fs, Fd fd) { return Errno(fs.Fchmod(fd, mode & 07777)); });
  }
  return WithFs(MountOp::kSetattr,
                [&](Filesystem& fs) { return Errno(fs.Chmod(path, mode & 07777)); });
}

// The VFS has no chown: a change to the owner it already has succeeds, any
// other is EPERM (docs/mount.md).
int OpChown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  auto check = [&](const Result<StatBuf>& s) {
    if (!s.ok()) return -s.error();
    const bool same_uid = uid == static_cast<uid_t>(-1) || uid == s->uid;
    const bool same_gid = gid == static_cast<gid_t>(-1) || gid == s->gid;
    return same_uid && same_gid ? 0 : -EPERM;
  };
  if (fi != nullptr) {
    return WithFd(MountOp::kSetattr, fi, [&](Filesystem& fs, Fd fd) { return check(fs.Fstat(fd)); });
  }
  return WithFs(MountOp::kSetattr, [&](Filesystem& fs) { return check(fs.Lstat(path)); });
}

int OpTruncate(const char* path, off_t size, fuse_file_info* fi) {
  if (fi != nullptr) {
    return WithFd(MountOp::kSetattr, fi,
                  [&](Filesystem& fs, Fd fd) { return Errno(fs.Ftruncate(fd, size)); });
  }
  return WithFs(MountOp::kSetattr, [&](Filesystem& fs) { return Errno(fs.Truncate(path, size)); });
}

int OpUtimens(const char* path, const struct timespec tv[2], fuse_file_info* fi) {
  std::array<Timespec, 2> times;
  for (int i = 0; i < 2; ++i) {
    times[i].sec = tv[i].tv_sec;
    times[i].nsec = tv[i].tv_nsec == UTIME_NOW    ? kUtimeNow
                    : tv[i].tv_nsec == UTIME_OMIT ? kUtimeOmit
                                                  : tv[i].tv_nsec;
  }
  if (fi != nullptr) {
    return WithFd(MountOp::kSetattr, fi,
                  [&](Filesystem& fs, Fd fd) { return Errno(fs.Futimens(fd, times)); });
  }
  // The kernel resolved any symlink already: `path` names the node to change.
  return WithFs(MountOp::kSetattr,
                [&](Filesystem& fs) { return Errno(fs.Utimens(path, times, /*follow=*/false)); });
}

int OpenWith(MountOp op, const char* path, int flags, mode_t mode, fuse_file_info* fi) {
  MountedFs& state = State();
  state.Count(op);
  MountedFs::Guard guard(&state);
  if (!guard.alive()) return -EIO;
  auto fd = guard.fs().Open(path, flags, mode & 07777);
  if (!fd.ok()) return -fd.error();
  fi->fh = guard.Handle(*fd);
  fi->keep_cache = 0;
  return 0;
}

int OpOpen(const char* path, fuse_file_info* fi) {
  return OpenWith(MountOp::kOpen, path, fi->flags, 0, fi);
}

int OpCreate(const char* path, mode_t mode, fuse_file_info* fi) {
  return OpenWith(MountOp::kCreate, path, fi->flags | O_CREAT, mode, fi);
}

int OpRead(const char* path, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  return WithFd(MountOp::kRead, fi, [&](Filesystem& fs, Fd fd) -> int {
    auto n = fs.Pread(fd, buf, size, offset);
    return n.ok() ? static_cast<int>(*n) : -n.error();
  });
}

int OpWrite(const char* path, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  return WithFd(MountOp::kWrite, fi, [&](Filesystem& fs, Fd fd) -> int {
    auto n = fs.Pwrite(fd, buf, size, offset);
    return n.ok() ? static_cast<int>(*n) : -n.error();
  });
}

int OpStatfs(const char* path, struct statvfs* out) {
  return WithFs(MountOp::kStatfs, [&](Filesystem& fs) {
    auto s = fs.Statfs();
    if (!s.ok()) return -s.error();
    *out = {};
    out->f_bsize = s->block_size;
    out->f_frsize = s->block_size;
    out->f_blocks = s->blocks;
    out->f_bfree = s->blocks_free;
    out->f_bavail = s->blocks_free;
    out->f_files = s->files;
    out->f_ffree = s->files_free;
    out->f_favail = s->files_free;
    out->f_namemax = s->name_max;
    return 0;
  });
}

// close(2) of one descriptor of the open file. The VFS holds nothing per
// close, and close never reports write-back errors (rule W5.5).
int OpFlush(const char* path, fuse_file_info* fi) {
  State().Count(MountOp::kFlush);
  return 0;
}

// The last close: the VFS descriptor goes. A handle from before a crash has
// nothing left to close.
int OpRelease(const char* path, fuse_file_info* fi) {
  MountedFs& state = State();
  state.Count(MountOp::kRelease);
  MountedFs::Guard guard(&state);
  if (auto fd = guard.FdOf(fi->fh)) {
    // Close reports nothing but EBADF, and the kernel ignores release errors.
    (void)guard.fs().Close(*fd);
  }
  return 0;
}

int OpFsync(const char* path, int datasync, fuse_file_info* fi) {
  return WithFd(datasync ? MountOp::kFdatasync : MountOp::kFsync, fi, [&](Filesystem& fs, Fd fd) {
    return Errno(datasync ? fs.Fdatasync(fd) : fs.Fsync(fd));  // D2 : D1
  });
}

int OpOpendir(const char* path, fuse_file_info* fi) {
  return OpenWith(MountOp::kOpendir, path, O_RDONLY | O_DIRECTORY, 0, fi);
}

int OpReaddir(const char* path, void* buf, fuse_fill_dir_t filler, off_t offset,
              fuse_file_info* fi, fuse_readdir_flags flags) {
  return WithFd(MountOp::kReaddir, fi, [&](Filesystem& fs, Fd fd) {
    // Offsets are not used (every filler call passes 0), so libfuse asks for
    // the whole directory at once; start from its beginning each time.
    if (auto rewound = fs.Lseek(fd, 0, SEEK_SET); !rewound.ok()) return -rewound.error();
    auto entries = fs.ReadDir(fd);
    if (!entries.ok()) return -entries.error();
    for (const DirEntry& e : *entries) {
      struct stat st = {};
      st.st_ino = e.ino.value();
      st.st_mode = DTTOIF(e.type);
      if (filler(buf, e.name.c_str(), &st, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
    }
    return 0;
  });
}

int OpReleasedir(const char* path, fuse_file_info* fi) { return OpRelease(path, fi); }

int OpFsyncdir(const char* path, int datasync, fuse_file_info* fi) {
  return WithFd(MountOp::kFsyncdir, fi, [&](Filesystem& fs, Fd fd) {
    return Errno(datasync ? fs.Fdatasync(fd) : fs.Fsync(fd));  // D3
  });
}

void* OpInit(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->readdir_ino = 1;
  cfg->nullpath_ok = 1;
  cfg->hard_remove = 1;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->kernel_cache = 0;
  cfg->auto_cache = 0;
  cfg->direct_io = 0;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  return fuse_get_context()->private_data;
}

// fuse_destroy: the VFS is unmounted (everything made durable) if Stop or
// Run has not done it already.
void OpDestroy(void* private_data) {
  (void)static_cast<MountedFs*>(private_data)->Shutdown();  // Stop/Run report its result
}

fuse_operations Operations() {
  fuse_operations ops = {};
  ops.getattr = OpGetattr;
  ops.readlink = OpReadlink;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.chmod = OpChmod;
  ops.chown = OpChown;
  ops.truncate = OpTruncate;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.statfs = OpStatfs;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.releasedir = OpReleasedir;
  ops.fsyncdir = OpFsyncdir;
  ops.init = OpInit;
  ops.destroy = OpDestroy;
  ops.create = OpCreate;
  ops.utimens = OpUtimens;
  return ops;
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

  std::unique_ptr<FuseMount> mount(new FuseMount());
  mount->mountpoint_ = resolved;
  mount->max_threads_ = options.max_threads;
  auto fs = MountedFs::Open(options.fs, why);
  if (!fs.ok()) return Error(fs.error());
  mount->fs_ = std::move(fs).value();

  std::vector<std::string> argv = {"vfs", "-o", "default_permissions,fsname=vfs,subtype=vfs"};
  if (options.debug) argv.push_back("-d");
  std::vector<char*> args_v;
  for (std::string& a : argv) args_v.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(args_v.size()), args_v.data());
  const fuse_operations ops = Operations();
  mount->fuse_ = fuse_new(&args, &ops, sizeof ops, mount->fs_.get());
  fuse_opt_free_args(&args);
  if (mount->fuse_ == nullptr) {
    *why = "libfuse refused the mount options (see the message above)";
    return Error(EINVAL);
  }
  errno = 0;
  if (fuse_mount(mount->fuse_, mount->mountpoint_.c_str()) != 0) {
    const int err = errno == EPERM || errno == ENODEV || errno == EACCES ? errno : EIO;
    *why = absl::StrCat("cannot mount FUSE at '", mount->mountpoint_,
                        "' (libfuse printed the reason above)");
    fuse_destroy(mount->fuse_);
    mount->fuse_ = nullptr;
    return Error(err);
  }
  mount->mounted_ = true;

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
  signals_ = fuse_set_signal_handlers(fuse_get_session(fuse_)) == 0;
  return signals_;
}

int FuseMount::Run() {
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(config, 0);
  fuse_loop_cfg_set_max_threads(config, max_threads_);
  // The loop ends when the kernel unmounts (ENODEV) or a signal handler
  // exits the session; its own return value says which, and both end here.
  (void)fuse_loop_mt(fuse_, config);
  fuse_loop_cfg_destroy(config);
  if (signals_) fuse_remove_signal_handlers(fuse_get_session(fuse_));
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
    (void)fuse_loop_mt(fuse_, config);  // ends when Stop unmounts
    fuse_loop_cfg_destroy(config);
  });
}

Result<void> FuseMount::Stop() {
  if (loop_.joinable()) {
    KernelUnmount(mountpoint_);
    loop_.join();
  }
  return Finish();
}

Result<void> FuseMount::Finish() {
  if (fuse_ == nullptr) return Ok();
  control_.reset();  // no command may run on a filesystem going away
  auto unmounted = fs_->Shutdown();
  if (mounted_) fuse_unmount(fuse_);  // closes the channel; unmounts if still mounted
  mounted_ = false;
  fuse_destroy(fuse_);
  fuse_ = nullptr;
  return unmounted;
}

}  // namespace vfs
