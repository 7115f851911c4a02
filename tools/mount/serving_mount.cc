// The FUSE operations of ServingMount: each maps one kernel request onto one
// call of the Filesystem served at that moment. The kernel options are those
// of `vfs mount` (fuse_mount.cc, docs/mount.md): no write-back cache, so
// every write(2) and fsync(2) reaches the VFS when the program makes it; no
// entry or attribute caching and no page cache kept across opens, so a
// swapped Filesystem is seen at once.
#define FUSE_USE_VERSION 314

#include "tools/mount/serving_mount.h"

#include <dirent.h>
#include <fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vfs {

// A shared hold on the served Filesystem for one operation.
struct ServingMount::Hold {
  explicit Hold(ServingMount* m) ABSL_NO_THREAD_SAFETY_ANALYSIS : mount(m) {
    mount->mu_.ReaderLock();
    fs = mount->fs_;
    generation = mount->generation_;
  }
  ~Hold() ABSL_NO_THREAD_SAFETY_ANALYSIS { mount->mu_.ReaderUnlock(); }
  uint64_t Handle(Fd fd) const { return (uint64_t{generation} << 32) | static_cast<uint32_t>(fd.value()); }
  std::optional<Fd> FdOf(uint64_t handle) const {
    if (fs == nullptr || (handle >> 32) != generation) return std::nullopt;
    return Fd(static_cast<int>(handle & 0xffffffffu));
  }

  ServingMount* mount;
  Filesystem* fs;
  uint32_t generation;
};

namespace {

using Hold = ServingMount::Hold;

ServingMount& Mount() { return *static_cast<ServingMount*>(fuse_get_context()->private_data); }

template <typename T>
int Errno(const Result<T>& r) {
  return r.ok() ? 0 : -r.error();
}

std::string Relative(const char* path) {
  if (path == nullptr) return "";
  while (*path == '/') ++path;
  return *path == '\0' ? "." : path;
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

MountObserver* Observer() { return Mount().observer(); }

// Runs `call(fs)` on the served Filesystem; for an operation that may change
// it (`name` set), tells the observer.
template <typename Call>
int WithFs(const char* name, const char* path, const char* to, Call call) {
  MountObserver* observer = name != nullptr ? Observer() : nullptr;
  if (observer != nullptr) observer->Before();
  int result;
  uint64_t ino = 0;
  bool replaced = false;
  {
    Hold hold(&Mount());
    if (hold.fs == nullptr) {
      result = -EIO;
    } else {
      if (observer != nullptr && to != nullptr) replaced = hold.fs->Lstat(to).ok();
      result = call(*hold.fs, hold);
      if (observer != nullptr && result >= 0) {
        if (auto st = hold.fs->Lstat(to != nullptr ? to : path); st.ok()) ino = st->ino.value();
      }
    }
  }
  if (observer != nullptr) {
    MountedOp op{name, Relative(path), to != nullptr ? Relative(to) : "", ino,
                 fuse_get_context()->pid, replaced};
    observer->After(op, result);
  }
  return result;
}

// Runs `call(fs, fd)` on the descriptor behind `fi`, EIO for a handle of a
// Filesystem served before.
template <typename Call>
int WithFd(const char* name, const char* path, fuse_file_info* fi, Call call) {
  MountObserver* observer = name != nullptr ? Observer() : nullptr;
  if (observer != nullptr) observer->Before();
  int result;
  uint64_t ino = 0;
  {
    Hold hold(&Mount());
    auto fd = hold.FdOf(fi->fh);
    if (!fd) {
      result = -EIO;
    } else {
      result = call(*hold.fs, *fd);
      if (observer != nullptr) {
        if (auto st = hold.fs->Fstat(*fd); st.ok()) ino = st->ino.value();
      }
    }
  }
  if (observer != nullptr) {
    const std::string where = path != nullptr ? Relative(path) : Relative(Mount().PathOf(fi->fh).c_str());
    observer->After(MountedOp{name, where, "", ino, fuse_get_context()->pid}, result);
  }
  return result;
}

int OpGetattr(const char* path, struct stat* st, fuse_file_info* fi) {
  if (fi != nullptr) {
    return WithFd(nullptr, path, fi, [&](Filesystem& fs, Fd fd) {
      auto s = fs.Fstat(fd);
      if (s.ok()) ToStat(*s, st);
      return Errno(s);
    });
  }
  return WithFs(nullptr, path, nullptr, [&](Filesystem& fs, const Hold&) {
    auto s = fs.Lstat(path);
    if (s.ok()) ToStat(*s, st);
    return Errno(s);
  });
}

int OpReadlink(const char* path, char* buf, size_t size) {
  return WithFs(nullptr, path, nullptr, [&](Filesystem& fs, const Hold&) {
    auto target = fs.Readlink(path);
    if (!target.ok()) return -target.error();
    const size_t n = std::min(target->size(), size - 1);
    std::memcpy(buf, target->data(), n);
    buf[n] = '\0';
    return 0;
  });
}

int OpMknod(const char* path, mode_t mode, dev_t) {
  return WithFs("mknod", path, nullptr, [&](Filesystem& fs, const Hold&) {
    if (S_ISFIFO(mode)) return Errno(fs.Mkfifo(path, mode & 07777));
    if (S_ISREG(mode)) {
      auto fd = fs.Open(path, O_WRONLY | O_CREAT | O_EXCL, mode & 07777);
      if (!fd.ok()) return -fd.error();
      return Errno(fs.Close(*fd));
    }
    return -EPERM;
  });
}

int OpMkdir(const char* path, mode_t mode) {
  return WithFs("mkdir", path, nullptr, [&](Filesystem& fs, const Hold&) { return Errno(fs.Mkdir(path, mode & 07777)); });
}

int OpUnlink(const char* path) {
  return WithFs("unlink", path, nullptr, [&](Filesystem& fs, const Hold&) { return Errno(fs.Unlink(path)); });
}

int OpRmdir(const char* path) {
  return WithFs("rmdir", path, nullptr, [&](Filesystem& fs, const Hold&) { return Errno(fs.Rmdir(path)); });
}

int OpSymlink(const char* target, const char* path) {
  return WithFs("symlink", path, nullptr, [&](Filesystem& fs, const Hold&) { return Errno(fs.Symlink(target, path)); });
}

int OpRename(const char* from, const char* to, unsigned int flags) {
  return WithFs("rename", from, to, [&](Filesystem& fs, const Hold&) {
    unsigned vfs_flags = 0;
    if (flags & RENAME_NOREPLACE) vfs_flags |= kRenameNoReplace;
    if (flags & RENAME_EXCHANGE) vfs_flags |= kRenameExchange;
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;
    return Errno(fs.Rename(from, to, vfs_flags));
  });
}

int OpLink(const char* from, const char* to) {
  return WithFs("link", from, to, [&](Filesystem& fs, const Hold&) { return Errno(fs.Link(from, to)); });
}

int OpChmod(const char* path, mode_t mode, fuse_file_info* fi) {
  if (fi != nullptr) {
    return WithFd("chmod", path, fi, [&](Filesystem& fs, Fd fd) { return Errno(fs.Fchmod(fd, mode & 07777)); });
  }
  return WithFs("chmod", path, nullptr, [&](Filesystem& fs, const Hold&) { return Errno(fs.Chmod(path, mode & 07777)); });
}

// The VFS has no chown: the owner it already has is accepted (docs/mount.md).
int OpChown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  auto check = [&](const Result<StatBuf>& s) {
    if (!s.ok()) return -s.error();
    const bool same_uid = uid == static_cast<uid_t>(-1) || uid == s->uid;
    const bool same_gid = gid == static_cast<gid_t>(-1) || gid == s->gid;
    return same_uid && same_gid ? 0 : -EPERM;
  };
  if (fi != nullptr) return WithFd(nullptr, path, fi, [&](Filesystem& fs, Fd fd) { return check(fs.Fstat(fd)); });
  return WithFs(nullptr, path, nullptr, [&](Filesystem& fs, const Hold&) { return check(fs.Lstat(path)); });
}

int OpTruncate(const char* path, off_t size, fuse_file_info* fi) {
  if (fi != nullptr) {
    return WithFd("truncate", path, fi, [&](Filesystem& fs, Fd fd) { return Errno(fs.Ftruncate(fd, size)); });
  }
  return WithFs("truncate", path, nullptr, [&](Filesystem& fs, const Hold&) { return Errno(fs.Truncate(path, size)); });
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
    return WithFd("utimens", path, fi, [&](Filesystem& fs, Fd fd) { return Errno(fs.Futimens(fd, times)); });
  }
  return WithFs("utimens", path, nullptr,
                [&](Filesystem& fs, const Hold&) { return Errno(fs.Utimens(path, times, /*follow=*/false)); });
}

int OpenWith(const char* name, const char* path, int flags, mode_t mode, fuse_file_info* fi) {
  return WithFs(name, path, nullptr, [&](Filesystem& fs, const Hold& hold) {
    auto fd = fs.Open(path, flags, mode & 07777);
    if (!fd.ok()) return -fd.error();
    fi->fh = hold.Handle(*fd);
    fi->keep_cache = 0;
    if (Observer() != nullptr) Mount().Opened(fi->fh, path);
    return 0;
  });
}

int OpOpen(const char* path, fuse_file_info* fi) {
  return OpenWith(fi->flags & O_TRUNC ? "open(O_TRUNC)" : nullptr, path, fi->flags, 0, fi);
}

int OpCreate(const char* path, mode_t mode, fuse_file_info* fi) {
  return OpenWith("create", path, fi->flags | O_CREAT, mode, fi);
}

int OpRead(const char* path, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  return WithFd(nullptr, path, fi, [&](Filesystem& fs, Fd fd) -> int {
    auto n = fs.Pread(fd, buf, size, offset);
    return n.ok() ? static_cast<int>(*n) : -n.error();
  });
}

int OpWrite(const char* path, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  return WithFd("write", path, fi, [&](Filesystem& fs, Fd fd) -> int {
    auto n = fs.Pwrite(fd, buf, size, offset);
    return n.ok() ? static_cast<int>(*n) : -n.error();
  });
}

int OpStatfs(const char* path, struct statvfs* out) {
  return WithFs(nullptr, path, nullptr, [&](Filesystem& fs, const Hold&) {
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

int OpFlush(const char*, fuse_file_info*) { return 0; }  // close(2) reports nothing (W5.5)

// The last close. A handle of a Filesystem served before (a release the
// kernel sends late, after a swap) has nothing left to close.
int OpRelease(const char*, fuse_file_info* fi) {
  if (Observer() != nullptr) Mount().Released(fi->fh);
  Hold hold(&Mount());
  if (auto fd = hold.FdOf(fi->fh)) (void)hold.fs->Close(*fd);
  return 0;
}

int OpFsync(const char* path, int datasync, fuse_file_info* fi) {
  return WithFd(datasync ? "fdatasync" : "fsync", path, fi, [&](Filesystem& fs, Fd fd) {
    return Errno(datasync ? fs.Fdatasync(fd) : fs.Fsync(fd));  // D2 : D1
  });
}

int OpOpendir(const char* path, fuse_file_info* fi) { return OpenWith(nullptr, path, O_RDONLY | O_DIRECTORY, 0, fi); }

int OpReaddir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info* fi,
              fuse_readdir_flags) {
  return WithFd(nullptr, path, fi, [&](Filesystem& fs, Fd fd) {
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

int OpFsyncdir(const char* path, int datasync, fuse_file_info* fi) {
  return WithFd("fsync of the directory", path, fi, [&](Filesystem& fs, Fd fd) {
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
  ops.releasedir = OpRelease;
  ops.fsyncdir = OpFsyncdir;
  ops.init = OpInit;
  ops.create = OpCreate;
  ops.utimens = OpUtimens;
  return ops;
}

}  // namespace

Result<std::unique_ptr<ServingMount>> ServingMount::Create(const ServingMountOptions& options,
                                                           std::string* why) {
  const int dev = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (dev < 0) {
    const int err = errno;
    *why = absl::StrCat("FUSE is not available: /dev/fuse: ", std::strerror(err));
    return Error(err == ENOENT ? ENODEV : err);
  }
  ::close(dev);
  char resolved[PATH_MAX];
  if (::realpath(options.mountpoint.c_str(), resolved) == nullptr) {
    const int err = errno;
    *why = absl::StrCat("mount point '", options.mountpoint, "': ", std::strerror(err));
    return Error(err);
  }
  std::unique_ptr<ServingMount> mount(new ServingMount());
  mount->observer_ = options.observer;
  mount->mountpoint_ = resolved;
  mount->serialize_ = options.serialize;
  std::vector<std::string> argv = {"vfs", "-o", "default_permissions,fsname=vfs-crash,subtype=vfs"};
  std::vector<char*> args_v;
  for (std::string& a : argv) args_v.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(args_v.size()), args_v.data());
  const fuse_operations ops = Operations();
  mount->fuse_ = fuse_new(&args, &ops, sizeof ops, mount.get());
  fuse_opt_free_args(&args);
  if (mount->fuse_ == nullptr) {
    *why = "libfuse refused the mount options";
    return Error(EINVAL);
  }
  if (fuse_mount(mount->fuse_, mount->mountpoint_.c_str()) != 0) {
    *why = absl::StrCat("cannot mount FUSE at '", mount->mountpoint_, "'");
    fuse_destroy(mount->fuse_);
    mount->fuse_ = nullptr;
    return Error(EIO);
  }
  ServingMount* self = mount.get();
  mount->loop_ = std::thread([self] {
    if (self->serialize_) {
      (void)fuse_loop(self->fuse_);
    } else {
      fuse_loop_config* config = fuse_loop_cfg_create();
      fuse_loop_cfg_set_clone_fd(config, 0);
      fuse_loop_cfg_set_max_threads(config, 4);
      (void)fuse_loop_mt(self->fuse_, config);
      fuse_loop_cfg_destroy(config);
    }
    MutexLock lock(&self->loop_mu_);
    self->loop_done_ = true;
  });
  return mount;
}

ServingMount::~ServingMount() { Stop(); }

void ServingMount::Opened(uint64_t handle, const char* path) {
  MutexLock lock(&paths_mu_);
  open_paths_[handle] = path != nullptr ? path : "";
}

void ServingMount::Released(uint64_t handle) {
  MutexLock lock(&paths_mu_);
  open_paths_.erase(handle);
}

std::string ServingMount::PathOf(uint64_t handle) {
  MutexLock lock(&paths_mu_);
  auto it = open_paths_.find(handle);
  return it == open_paths_.end() ? "" : it->second;
}

void ServingMount::Serve(Filesystem* fs) {
  WriterLock lock(&mu_);
  fs_ = fs;
  ++generation_;
}

void ServingMount::Stop() {
  if (fuse_ == nullptr) return;
  Serve(nullptr);
  if (::umount2(mountpoint_.c_str(), 0) != 0 && errno == EBUSY) {
    (void)::umount2(mountpoint_.c_str(), MNT_DETACH);
  }
  // The loop ends when the kernel drops the connection, which it does once
  // the last copy of the mount is gone. A copy made into another mount
  // namespace (a sandbox unshared while we were mounted) can keep it alive:
  // then the loop is abandoned, blocked in its read, rather than waited for
  // (its memory goes with the process).
  {
    MutexLock lock(&loop_mu_);
    // Long enough for a loaded machine (a sanitizer run of the whole suite
    // on 2 CPUs took more than 5 s here): an abandoned loop is a leak.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!loop_done_ && std::chrono::steady_clock::now() < deadline) {
      loop_mu_.Unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      loop_mu_.Lock();
    }
    if (!loop_done_) {
      loop_.detach();
      fuse_ = nullptr;
      return;
    }
  }
  if (loop_.joinable()) loop_.join();
  fuse_unmount(fuse_);
  fuse_destroy(fuse_);
  fuse_ = nullptr;
}

}  // namespace vfs
