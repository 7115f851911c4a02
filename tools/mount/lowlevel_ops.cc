// The low-level FUSE operations: each maps one kernel request onto the VFS
// calls of the inode it names (docs/mount.md).
//
// Durability through the kernel is as the path-based mount had it: no
// write-back cache, so every write(2) reaches the VFS before it returns, and
// FUSE_FSYNC / FUSE_FSYNCDIR run Fsync or Fdatasync (D1, D2, D3). What
// changed is caching: names, attributes and clean pages stay in the kernel
// (timeouts in LowlevelOptions, keep_cache at open), because every change
// to them passes through the kernel, except a crash, which invalidates them.
#include "tools/mount/lowlevel_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "tools/mount/core_calls.h"
#include "vfs/credentials.h"
#include "vfs/filesystem.h"
#include "vfs/internal/mutex.h"

namespace vfs {

struct DirHandle {
  uint64_t handle;
  Mutex mu;
  std::vector<DirEntry> entries ABSL_GUARDED_BY(mu);
};

namespace {

LowlevelFs& Server(fuse_req_t req) { return *static_cast<LowlevelFs*>(fuse_req_userdata(req)); }

void ToStat(const StatBuf& s, struct stat* st) {
  *st = {};
  st->st_ino = s.ino.value();
  st->st_mode = s.mode;
  st->st_nlink = s.nlink;
  st->st_uid = s.uid;
  st->st_gid = s.gid;
  st->st_rdev = core::RdevOf(s);
  st->st_size = static_cast<off_t>(s.size);
  st->st_blocks = static_cast<blkcnt_t>(s.blocks);
  st->st_blksize = s.blksize;
  st->st_atim = {s.atime.sec, s.atime.nsec};
  st->st_mtim = {s.mtime.sec, s.mtime.nsec};
  st->st_ctim = {s.ctime.sec, s.ctime.nsec};
}

// The identity of the process that made the request (rule X1). The kernel
// reports no capabilities: uid 0 is taken to hold all of them, any other
// uid none, as for a process that dropped privileges with setuid(2).
// Supplementary groups cost a read of /proc (fuse_req_getgroups), so they
// are fetched only for callers whose groups can matter: root's checks all
// pass through capabilities.
void FillCredentials(fuse_req_t req, Credentials* creds) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  creds->uid = ctx->uid;
  creds->gid = ctx->gid;
  creds->umask = ctx->umask;
  if (ctx->uid == 0) {
    creds->capabilities = kAllCapabilities;
    return;
  }
  creds->capabilities = 0;
  std::array<gid_t, 64> small;
  int n = fuse_req_getgroups(req, static_cast<int>(small.size()), small.data());
  if (n <= 0) return;  // ENOSYS / no /proc: the primary group only
  if (static_cast<size_t>(n) <= small.size()) {
    creds->groups.assign(small.begin(), small.begin() + n);
    return;
  }
  std::vector<gid_t> all(n);
  n = fuse_req_getgroups(req, n, all.data());
  if (n > 0) creds->groups.assign(all.begin(), all.begin() + std::min<size_t>(n, all.size()));
}

// One request: counts it, holds the current Filesystem (a crash waits for
// it) and runs the VFS calls as the caller.
class Request {
 public:
  Request(fuse_req_t req, MountOp op)
      : req_(req), server_(Server(req)), guard_(&server_.fs()), scope_(FillAndGet(req, &creds_)) {
    server_.fs().Count(op);
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  Filesystem& fs() { return guard_.fs(); }
  MountedFs::Guard& guard() { return guard_; }
  LowlevelFs& server() { return server_; }
  fuse_req_t req() const { return req_; }

  // The O_PATH descriptor of node `ino`, or the errno to answer: EIO when the
  // filesystem is down, and for a node of an earlier generation: a file or
  // directory held across a crash (an open file, a working directory) is
  // gone, as its descriptors are (the crash invalidated every name the
  // kernel cached, so new path walks reach new nodes). ESTALE for a node the
  // kernel forgot, which makes it walk the path again.
  Result<Fd> Node(fuse_ino_t ino) {
    if (!guard_.alive()) return Error(EIO);
    auto node = server_.nodes().Get(ino);
    if (!node) return Error(ESTALE);
    if (node->generation != guard_.generation()) return Error(EIO);
    return node->fd;
  }
  // The VFS descriptor of an open file handle; EIO for one opened before a
  // crash.
  Result<Fd> Open(const fuse_file_info* fi) {
    auto fd = guard_.FdOf(fi->fh);
    if (!fd) return Error(EIO);
    return *fd;
  }

  // Hands the kernel the entry `name` in `parent` (just looked up or made):
  // an O_PATH descriptor, its attributes, and the node (one more lookup).
  Result<fuse_entry_param> Entry(fuse_ino_t parent, Fd parent_fd, const char* name) {
    server_.nodes().NoteName(parent, name);
    auto fd = fs().OpenAt(parent_fd, name, O_PATH | O_NOFOLLOW);
    if (!fd.ok()) return Error(fd.error());
    auto st = fs().Fstat(*fd);
    if (!st.ok()) {
      (void)fs().Close(*fd);  // O_PATH: closing reports nothing
      return Error(st.error());
    }
    fuse_entry_param e = {};
    std::optional<Fd> unused;
    e.ino = server_.nodes().Intern(st->ino, *fd, guard_.generation(), parent, name, &unused);
    if (unused) (void)fs().Close(*unused);  // O_PATH: closing reports nothing
    // The VFS inode number is not reused while the kernel holds the node
    // (its descriptor keeps the inode), but it may be after a crash: the
    // generation tells the two apart for NFS export.
    e.generation = guard_.generation();
    ToStat(*st, &e.attr);
    e.attr_timeout = server_.options().attr_timeout;
    e.entry_timeout = server_.options().entry_timeout;
    return e;
  }

 private:
  static const Credentials& FillAndGet(fuse_req_t req, Credentials* creds) {
    FillCredentials(req, creds);
    return *creds;
  }

  fuse_req_t req_;
  LowlevelFs& server_;
  MountedFs::Guard guard_;
  Credentials creds_;
  ScopedCredentials scope_;
};

// Never ENOSYS to the kernel: it takes ENOSYS from a request as "never send
// this again" for the whole mount (for open: "opening needs nothing"), so a
// call the core does not implement yet answers EOPNOTSUPP.
int KernelErrno(int err) { return err == ENOSYS ? EOPNOTSUPP : err; }

template <typename T>
void ReplyErr(fuse_req_t req, const Result<T>& r) {
  fuse_reply_err(req, r.ok() ? 0 : KernelErrno(r.error()));
}

void ReplyEntry(Request& r, fuse_ino_t parent, Fd parent_fd, const char* name) {
  auto e = r.Entry(parent, parent_fd, name);
  if (!e.ok()) {
    fuse_reply_err(r.req(), KernelErrno(e.error()));
    return;
  }
  fuse_reply_entry(r.req(), &*e);
}

void ReplyAttr(Request& r, Fd fd) {
  auto st = r.fs().Fstat(fd);
  if (!st.ok()) {
    fuse_reply_err(r.req(), KernelErrno(st.error()));
    return;
  }
  struct stat out;
  ToStat(*st, &out);
  fuse_reply_attr(r.req(), &out, r.server().options().attr_timeout);
}

// An open directory: its VFS descriptor and the entries read at the last
// rewind. Offsets given to the kernel are indexes into that list plus one,
// so a readdir that resumes after the buffer filled continues where it
// stopped; entries made after opendir or rewinddir may be missed, which
// POSIX allows.
DirHandle* DirOf(const fuse_file_info* fi) { return reinterpret_cast<DirHandle*>(fi->fh); }

// ---- Names ----

void LlLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request r(req, MountOp::kLookup);
  auto dir = r.Node(parent);
  if (!dir.ok()) return ReplyErr(req, dir);
  auto e = r.Entry(parent, *dir, name);
  if (!e.ok()) {
    if (e.error() == ENOENT && r.server().options().negative_timeout > 0) {
      // A negative entry the kernel may cache (ino 0): names appear only
      // through the kernel, and a crash invalidates the name (NoteName).
      fuse_entry_param negative = {};
      negative.entry_timeout = r.server().options().negative_timeout;
      fuse_reply_entry(req, &negative);
      return;
    }
    fuse_reply_err(req, KernelErrno(e.error()));
    return;
  }
  fuse_reply_entry(req, &*e);
}

void ForgetOne(LowlevelFs& server, fuse_ino_t ino, uint64_t count) {
  auto gone = server.nodes().Forget(ino, count);
  if (!gone) return;
  MountedFs::Guard guard(&server.fs());
  // A descriptor of an earlier generation went with its Filesystem.
  if (guard.alive() && gone->generation == guard.generation()) {
    (void)guard.fs().Close(gone->fd);  // O_PATH: closing reports nothing
  }
}

void LlForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  LowlevelFs& server = Server(req);
  server.fs().Count(MountOp::kForget);
  ForgetOne(server, ino, nlookup);
  fuse_reply_none(req);
}

void LlForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  LowlevelFs& server = Server(req);
  server.fs().Count(MountOp::kForget);
  for (size_t i = 0; i < count; ++i) ForgetOne(server, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void LlMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Request r(req, MountOp::kMkdir);
  auto dir = r.Node(parent);
  if (!dir.ok()) return ReplyErr(req, dir);
  if (auto made = core::MkdirAt(r.fs(), *dir, name, mode & 07777); !made.ok()) return ReplyErr(req, made);
  ReplyEntry(r, parent, *dir, name);
}

void LlMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Request r(req, MountOp::kMknod);
  auto dir = r.Node(parent);
  if (!dir.ok()) return ReplyErr(req, dir);
  if (auto made = core::MknodAt(r.fs(), *dir, name, mode, rdev); !made.ok()) return ReplyErr(req, made);
  ReplyEntry(r, parent, *dir, name);
}

void LlSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  Request r(req, MountOp::kSymlink);
  auto dir = r.Node(parent);
  if (!dir.ok()) return ReplyErr(req, dir);
  if (auto made = core::SymlinkAt(r.fs(), target, *dir, name); !made.ok()) return ReplyErr(req, made);
  ReplyEntry(r, parent, *dir, name);
}

void LlLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Request r(req, MountOp::kLink);
  auto node = r.Node(ino);
  if (!node.ok()) return ReplyErr(req, node);
  auto dir = r.Node(newparent);
  if (!dir.ok()) return ReplyErr(req, dir);
  // The node itself is linked (AT_EMPTY_PATH), whatever its names are now:
  // also an unlinked file, as linkat(2) through /proc/self/fd allows.
  if (auto made = core::LinkNode(r.fs(), *node, *dir, newname); !made.ok()) {
    return ReplyErr(req, made);
  }
  ReplyEntry(r, newparent, *dir, newname);
}

void LlUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request r(req, MountOp::kUnlink);
  auto dir = r.Node(parent);
  if (!dir.ok()) return ReplyErr(req, dir);
  auto done = core::UnlinkAt(r.fs(), *dir, name, 0);
  if (done.ok()) r.server().nodes().DropName(parent, name);
  ReplyErr(req, done);
}

void LlRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request r(req, MountOp::kRmdir);
  auto dir = r.Node(parent);
  if (!dir.ok()) return ReplyErr(req, dir);
  auto done = core::UnlinkAt(r.fs(), *dir, name, AT_REMOVEDIR);
  if (done.ok()) r.server().nodes().DropName(parent, name);
  ReplyErr(req, done);
}

void LlRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Request r(req, MountOp::kRename);
  auto from = r.Node(parent);
  if (!from.ok()) return ReplyErr(req, from);
  auto to = r.Node(newparent);
  if (!to.ok()) return ReplyErr(req, to);
  unsigned vfs_flags = 0;
  if (flags & RENAME_NOREPLACE) vfs_flags |= kRenameNoReplace;
  if (flags & RENAME_EXCHANGE) vfs_flags |= kRenameExchange;
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) ||
      ((flags & RENAME_WHITEOUT) && (flags & RENAME_EXCHANGE))) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  r.server().nodes().NoteName(newparent, newname);
  // RENAME_WHITEOUT (overlayfs upper layers): the old name becomes a
  // whiteout, a character device 0/0 with no permission bits. The core has
  // no such flag, so the whiteout is made first under a free name beside
  // the old one (nothing else changed if that fails), then moved to the old
  // name once the rename has left it free. The kernel holds both
  // directories locked and checked CAP_MKNOD, and a crash waits for this
  // request, so no program and no crash sees the steps apart.
  std::string whiteout;
  if (flags & RENAME_WHITEOUT) {
    static std::atomic<uint64_t> next_whiteout{0};
    Result<void> made = Error(EEXIST);
    for (int attempt = 0; attempt < 8 && !made.ok() && made.error() == EEXIST; ++attempt) {
      whiteout = ".vfs-whiteout." + std::to_string(next_whiteout.fetch_add(1));
      made = core::MknodAt(r.fs(), *from, whiteout.c_str(), S_IFCHR, 0);
    }
    if (!made.ok()) return ReplyErr(req, made);
  }
  auto renamed = core::RenameAt(r.fs(), *from, name, *to, newname, vfs_flags);
  if (!whiteout.empty()) {
    // The old name is still there when the rename changed nothing (two
    // names of one inode): then no whiteout, as Linux's vfs_rename.
    const bool old_name_free =
        renamed.ok() && !r.fs().FstatAt(*from, name, AT_SYMLINK_NOFOLLOW).ok();
    if (old_name_free) {
      r.server().nodes().NoteName(parent, name);
      renamed = core::RenameAt(r.fs(), *from, whiteout.c_str(), *from, name, kRenameNoReplace);
    } else {
      (void)core::UnlinkAt(r.fs(), *from, whiteout.c_str(), 0);
    }
  }
  if (renamed.ok()) {
    // The moved node's last known name follows it, so its next open needs
    // no second path walk (OpenNode).
    auto note = [&](Fd dir, fuse_ino_t dir_id, const char* entry) {
      if (auto st = r.fs().FstatAt(dir, entry, AT_SYMLINK_NOFOLLOW); st.ok()) {
        r.server().nodes().Renamed(st->ino, r.guard().generation(), dir_id, entry);
      }
    };
    note(*to, newparent, newname);
    if (flags & RENAME_EXCHANGE) {
      note(*from, parent, name);
    } else if (flags & RENAME_WHITEOUT) {
      // The old name is the whiteout's; the moved node's last known name
      // is its new one (note above).
    } else {
      r.server().nodes().DropName(parent, name);
    }
  }
  ReplyErr(req, renamed);
}

void LlReadlink(fuse_req_t req, fuse_ino_t ino) {
  Request r(req, MountOp::kReadlink);
  auto node = r.Node(ino);
  if (!node.ok()) return ReplyErr(req, node);
  auto target = core::ReadlinkNode(r.fs(), *node);
  if (!target.ok()) return ReplyErr(req, target);
  fuse_reply_readlink(req, target->c_str());
}

// ---- Attributes ----

void LlGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request r(req, MountOp::kGetattr);
  // fstat(2) comes with the file handle: an open file answers even when it
  // has no name left, and one opened before a crash answers EIO.
  auto fd = fi != nullptr ? r.Open(fi) : r.Node(ino);
  if (!fd.ok()) return ReplyErr(req, fd);
  ReplyAttr(r, *fd);
}

Timespec ToVfsTime(const timespec& t, bool now) {
  if (now) return Timespec{0, kUtimeNow};
  return Timespec{t.tv_sec, t.tv_nsec};
}

void LlSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Request r(req, MountOp::kSetattr);
  auto node = r.Node(ino);
  if (!node.ok() && fi == nullptr) return ReplyErr(req, node);
  std::optional<Fd> open_fd;
  if (fi != nullptr) {
    auto fd = r.Open(fi);
    if (!fd.ok()) {
      // With the write-back cache the kernel writes a regular file's mtime
      // and ctime back through a handle (fuse_flush_times: MTIME|CTIME and
      // the handle, nothing else; a caller's setattr carries a handle only
      // with a size), at close among others. Through a handle of before a
      // crash these are the times of writes the crash lost, so they are
      // dropped without an error, as LlWrite drops those writes: an error
      // would fail close(2) (rule W5.5). The kernel ignores the attributes
      // of this reply.
      if ((to_set & FUSE_SET_ATTR_CTIME) &&
          (to_set & ~(FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_CTIME)) == 0) {
        if (node.ok()) return ReplyAttr(r, *node);
        struct stat none = {};
        return (void)fuse_reply_attr(req, &none, 0);
      }
      return ReplyErr(req, fd);
    }
    open_fd = *fd;
  }
  // One attribute at a time, in the order the kernel's notify_change would
  // apply them; the first failure answers (the kernel sends a chown, a
  // chmod, a truncate and a utimens as separate requests in practice).
  Filesystem& fs = r.fs();
  if (to_set & FUSE_SET_ATTR_MODE) {
    auto done = open_fd ? fs.Fchmod(*open_fd, attr->st_mode & 07777)
                        : core::ChmodNode(fs, *node, attr->st_mode & 07777);
    if (!done.ok()) return ReplyErr(req, done);
  }
  if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    const uint32_t uid = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : static_cast<uint32_t>(-1);
    const uint32_t gid = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : static_cast<uint32_t>(-1);
    auto done = open_fd ? core::Fchown(fs, *open_fd, uid, gid)
                        : core::ChownNode(fs, *node, uid, gid);
    if (!done.ok()) return ReplyErr(req, done);
  }
  if (to_set & FUSE_SET_ATTR_SIZE) {
    Result<void> done = Ok();
    if (open_fd) {
      done = fs.Ftruncate(*open_fd, attr->st_size);
    } else {
      // truncate(2) by name (and open's O_TRUNC): the inode itself.
      done = core::TruncateNode(fs, *node, attr->st_size);
    }
    if (!done.ok()) return ReplyErr(req, done);
  }
  if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    // With the write-back cache the kernel keeps a regular file's mtime and
    // ctime itself and hands them over as times it chose (FATTR_CTIME comes
    // only then): at fsync, at close, with a truncate, and for utimensat
    // with UTIME_NOW. It checked the caller's right to each change before
    // (default_permissions: setattr_prepare), and some are no caller's
    // change at all (the times of earlier writes), so they are applied as
    // root; the VFS would refuse explicit times to a writer who is not the
    // owner (rule X1).
    static const Credentials kRoot = Credentials::Root();
    std::optional<ScopedCredentials> as_root;
    if (to_set & FUSE_SET_ATTR_CTIME) as_root.emplace(kRoot);
    std::array<Timespec, 2> times = {Timespec{0, kUtimeOmit}, Timespec{0, kUtimeOmit}};
    if (to_set & FUSE_SET_ATTR_ATIME) {
      times[0] = ToVfsTime(attr->st_atim, to_set & FUSE_SET_ATTR_ATIME_NOW);
    }
    if (to_set & FUSE_SET_ATTR_MTIME) {
      times[1] = ToVfsTime(attr->st_mtim, to_set & FUSE_SET_ATTR_MTIME_NOW);
    }
    auto done = open_fd ? fs.Futimens(*open_fd, times)
                        : core::UtimensNode(fs, *node, times);
    if (!done.ok()) return ReplyErr(req, done);
  }
  ReplyAttr(r, open_fd ? *open_fd : *node);
}

void LlStatfs(fuse_req_t req, fuse_ino_t ino) {
  Request r(req, MountOp::kStatfs);
  if (!r.guard().alive()) return (void)fuse_reply_err(req, EIO);
  auto s = r.fs().Statfs();
  if (!s.ok()) return ReplyErr(req, s);
  struct statvfs out = {};
  out.f_bsize = s->block_size;
  out.f_frsize = s->block_size;
  out.f_blocks = s->blocks;
  out.f_bfree = s->blocks_free;
  out.f_bavail = s->blocks_free;
  out.f_files = s->files;
  out.f_ffree = s->files_free;
  out.f_favail = s->files_free;
  out.f_namemax = s->name_max;
  fuse_reply_statfs(req, &out);
}

// ---- Extended attributes (rule X2) ----

void LlSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  Request r(req, MountOp::kXattr);
  auto node = r.Node(ino);
  if (!node.ok()) return ReplyErr(req, node);
  ReplyErr(req, core::SetXattr(r.fs(), *node, name, std::string_view(value, size), flags));
}

void LlGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Request r(req, MountOp::kXattr);
  auto node = r.Node(ino);
  if (!node.ok()) return ReplyErr(req, node);
  auto value = core::GetXattr(r.fs(), *node, name);
  if (!value.ok()) return ReplyErr(req, value);
  if (size == 0) return (void)fuse_reply_xattr(req, value->size());
  if (value->size() > size) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, value->data(), value->size());
}

void LlListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Request r(req, MountOp::kXattr);
  auto node = r.Node(ino);
  if (!node.ok()) return ReplyErr(req, node);
  auto names = core::ListXattr(r.fs(), *node);
  if (!names.ok()) return ReplyErr(req, names);
  std::string list;
  for (const std::string& n : *names) {
    list += n;
    list.push_back('\0');
  }
  if (size == 0) return (void)fuse_reply_xattr(req, list.size());
  if (list.size() > size) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, list.data(), list.size());
}

void LlRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Request r(req, MountOp::kXattr);
  auto node = r.Node(ino);
  if (!node.ok()) return ReplyErr(req, node);
  ReplyErr(req, core::RemoveXattr(r.fs(), *node, name));
}

// ---- Files ----

void ReplyOpen(Request& r, Fd fd, fuse_file_info* fi) {
  fi->fh = r.guard().Handle(fd);
  // Clean pages stay cached across opens: the kernel wrote every byte the
  // VFS holds (no other writer), and a crash invalidates them.
  fi->keep_cache = 1;
  fi->direct_io = 0;
  // close(2) needs no request: the VFS does nothing at a close but the last
  // (release), reports no error there (rule W5.5), and locks are the
  // kernel's.
  fi->noflush = 1;
  if (fuse_reply_open(r.req(), fi) != 0) (void)r.fs().Close(fd);  // interrupted open
}

// The flags a file is opened with in the VFS. With the write-back cache
// the kernel may read through any handle (to fill a page before a partial
// write) and appends itself (it knows the size; a VFS descriptor with
// O_APPEND would move its pwrite at the page's offset to the end), so
// write-only becomes read-write and O_APPEND goes, as libfuse's
// passthrough_ll does. The kernel checked the open's permissions already.
int OpenFlags(Request& r, int flags) {
  if (!r.server().options().writeback_cache) return flags;
  if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
  return flags & ~O_APPEND;
}

// A new open file description of node `ino`.
//
// Permissions: the kernel has made every check this open needs before it
// sent the request (default_permissions: read/write permission on the
// inode itself, search permission on the path it walked). The core's open
// would add checks Linux does not make here (search permission on the
// node's parent, or on a directory itself when it is opened through "."),
// so it runs as root; the file's accesses later run as their callers.
//
// A directory is opened through "." of its node. The core opens other
// files by name, so the node's last known name is opened and checked to
// still be the node's inode; if it is not (renamed or unlinked since,
// through another link), ESTALE makes the kernel walk the path again
// (LOOKUP_REVAL), which records the name it finds, and retry the open.
Result<Fd> OpenNode(Request& r, fuse_ino_t ino, int flags) {
  auto node = r.Node(ino);
  if (!node.ok()) return Error(node.error());
  static const Credentials kRoot = Credentials::Root();
  ScopedCredentials as_root(kRoot);
  if (auto reopened = core::ReopenFile(r.fs(), *node, flags)) return *reopened;
  if (flags & O_DIRECTORY) return core::ReopenNode(r.fs(), *node, flags);
  auto name = r.server().nodes().NameOf(ino);
  if (!name) return Error(ESTALE);
  auto parent = r.Node(name->parent);
  if (!parent.ok()) return Error(parent.error());
  auto fd = r.fs().OpenAt(*parent, name->name, flags | O_NOFOLLOW);
  if (!fd.ok()) return Error(fd.error() == ENOENT || fd.error() == ELOOP ? ESTALE : fd.error());
  auto st = r.fs().Fstat(*fd);
  if (!st.ok() || st->ino != name->ino) {
    (void)r.fs().Close(*fd);  // nothing done through it
    return Error(st.ok() ? ESTALE : st.error());
  }
  return *fd;
}

void LlOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request r(req, MountOp::kOpen);
  // O_TRUNC comes as a setattr before the open (no FUSE_CAP_ATOMIC_O_TRUNC),
  // so a name that turns out to be another inode truncates nothing.
  auto fd = OpenNode(r, ino, OpenFlags(r, fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)));
  if (!fd.ok()) return ReplyErr(req, fd);
  ReplyOpen(r, *fd, fi);
}

void LlCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  Request r(req, MountOp::kCreate);
  auto dir = r.Node(parent);
  if (!dir.ok()) return ReplyErr(req, dir);
  // A file made by this call opens whatever its mode (as Linux's), so the
  // read-write open of the write-back cache (OpenFlags) needs no more
  // permission; only a file another request made meanwhile may refuse it,
  // and then the caller's own access mode is tried.
  auto fd = r.fs().OpenAt(*dir, name, OpenFlags(r, fi->flags) | O_CREAT, mode & 07777);
  if (!fd.ok() && fd.error() == EACCES && OpenFlags(r, fi->flags) != fi->flags) {
    fd = r.fs().OpenAt(*dir, name, (fi->flags & ~O_APPEND) | O_CREAT, mode & 07777);
  }
  if (!fd.ok()) return ReplyErr(req, fd);
  auto e = r.Entry(parent, *dir, name);
  if (!e.ok()) {
    (void)r.fs().Close(*fd);  // nothing written yet
    return ReplyErr(req, e);
  }
  fi->fh = r.guard().Handle(*fd);
  fi->keep_cache = 1;
  fi->noflush = 1;  // as ReplyOpen
  if (fuse_reply_create(req, &*e, fi) != 0) (void)r.fs().Close(*fd);  // interrupted
}

void LlRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Request r(req, MountOp::kRead);
  auto fd = r.Open(fi);
  if (!fd.ok()) return ReplyErr(req, fd);
  thread_local std::vector<char> buf;
  if (buf.size() < size) buf.resize(size);
  auto n = r.fs().Pread(*fd, buf.data(), size, off);
  if (!n.ok()) return ReplyErr(req, n);
  fuse_reply_buf(req, buf.data(), *n);
}

void LlWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  Request r(req, MountOp::kWrite);
  auto fd = r.Open(fi);
  if (!fd.ok()) {
    // With the write-back cache, pages dirtied through a handle from before
    // a crash come back as its write-back (`writepage`). The crash lost them
    // already (nothing of them was durable), so they are dropped here
    // without an error: an error would stay on the file's pages and be
    // reported by a later close(2), which never reports write-back errors
    // (rule W5.5). The handle's own calls (fsync, a write(2) that must read
    // the page first) still answer EIO.
    if (fi->writepage) return (void)fuse_reply_write(req, size);
    return ReplyErr(req, fd);
  }
  auto n = r.fs().Pwrite(*fd, buf, size, off);
  if (!n.ok()) return ReplyErr(req, n);
  fuse_reply_write(req, *n);
}

// close(2) of one descriptor: the VFS holds nothing per close, and close
// never reports write-back errors (rule W5.5).
//
// ENOSYS tells the kernel never to send FLUSH again (fc->no_flush). Without
// the write-back cache `noflush` at open already keeps it from coming; with
// it the kernel ignores `noflush`, and this saves a round trip per close
// (the dirty pages still reach the VFS first: the kernel writes them back
// before it would send the request).
void LlFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Server(req).fs().Count(MountOp::kFlush);
  fuse_reply_err(req, ENOSYS);
}

void LlRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request r(req, MountOp::kRelease);
  // A handle from before a crash has nothing left to close. Close reports
  // nothing but EBADF, and the kernel ignores release errors.
  if (auto fd = r.guard().FdOf(fi->fh)) (void)r.fs().Close(*fd);
  fuse_reply_err(req, 0);
}

void LlFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Request r(req, datasync ? MountOp::kFdatasync : MountOp::kFsync);
  auto fd = r.Open(fi);
  if (!fd.ok()) return ReplyErr(req, fd);
  ReplyErr(req, datasync ? r.fs().Fdatasync(*fd) : r.fs().Fsync(*fd));  // D2 : D1
}

void LlFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info* fi) {
  Request r(req, MountOp::kFallocate);
  auto fd = r.Open(fi);
  if (!fd.ok()) return ReplyErr(req, fd);
  ReplyErr(req, core::Fallocate(r.fs(), *fd, mode, offset, length));  // rule X3
}

void LlLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  // With the write-back cache the kernel asks without writing its dirty
  // pages back first, and the VFS would answer from older contents (a hole,
  // or ENXIO past its size, where the program has written data): have them
  // written back first. Before the Request: their writes need workers that
  // take the filesystem's lock, which a waiting crash would block.
  if (Server(req).options().writeback_cache) Server(req).WriteBackKernelPages(ino);
  Request r(req, MountOp::kLseek);
  auto fd = r.Open(fi);
  if (!fd.ok()) return ReplyErr(req, fd);
  // The kernel asks only for SEEK_DATA and SEEK_HOLE and keeps the file
  // position itself; the VFS descriptor's own position is unused.
  auto pos = r.fs().Lseek(*fd, off, whence);
  if (!pos.ok()) return ReplyErr(req, pos);
  fuse_reply_lseek(req, *pos);
}

// copy_file_range(2) as reads and writes inside the mount: one round trip
// to the kernel for the whole range, holes copied as zeros (as tmpfs does).
void LlCopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info* fi_in,
                     fuse_ino_t ino_out, off_t off_out, fuse_file_info* fi_out, size_t len,
                     int flags) {
  Request r(req, MountOp::kCopyFileRange);
  if (flags != 0) return (void)fuse_reply_err(req, EINVAL);
  auto in = r.Open(fi_in);
  if (!in.ok()) return ReplyErr(req, in);
  auto out = r.Open(fi_out);
  if (!out.ok()) return ReplyErr(req, out);
  thread_local std::vector<char> buf;
  constexpr size_t kChunk = 1 << 20;
  if (buf.size() < kChunk) buf.resize(kChunk);
  size_t copied = 0;
  while (copied < len) {
    auto n = r.fs().Pread(*in, buf.data(), std::min(kChunk, len - copied), off_in + copied);
    if (!n.ok() && copied == 0) return ReplyErr(req, n);
    if (!n.ok() || *n == 0) break;
    auto w = r.fs().Pwrite(*out, buf.data(), *n, off_out + copied);
    if (!w.ok() && copied == 0) return ReplyErr(req, w);
    if (!w.ok()) break;
    copied += *w;
    if (*w < *n) break;
  }
  fuse_reply_write(req, copied);
}

// No ioctl of the VFS is reachable through the mount: ENOTTY, as a file
// system without ioctls answers.
void LlIoctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void* arg, fuse_file_info* fi,
             unsigned flags, const void* in_buf, size_t in_bufsz, size_t out_bufsz) {
  Server(req).fs().Count(MountOp::kIoctl);
  fuse_reply_err(req, ENOTTY);
}

// ---- Directories ----

void LlOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request r(req, MountOp::kOpendir);
  auto fd = OpenNode(r, ino, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return ReplyErr(req, fd);
  auto made = std::make_unique<DirHandle>();
  made->handle = r.guard().Handle(*fd);
  DirHandle* dir = r.server().AddDir(std::move(made));
  fi->fh = reinterpret_cast<uint64_t>(dir);
  // The kernel may cache the listing between opens only while nothing
  // changes it; it drops it itself at every change of the directory.
  fi->cache_readdir = 0;
  if (fuse_reply_open(req, fi) != 0) {
    (void)r.fs().Close(*fd);  // interrupted opendir
    r.server().DropDir(dir);
  }
}

void LlReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Request r(req, MountOp::kReaddir);
  DirHandle* dir = DirOf(fi);
  auto fd = r.guard().FdOf(dir->handle);
  if (!fd) return (void)fuse_reply_err(req, EIO);
  std::vector<char> buf(size);
  size_t used = 0;
  int err = 0;
  {
    // The reply goes after the lock is released: once the kernel has it,
    // the program may close the directory and RELEASEDIR (on another
    // worker) frees `dir`.
    MutexLock lock(&dir->mu);
    if (off == 0) {
      // opendir or rewinddir: read the directory afresh.
      auto rewound = r.fs().Lseek(*fd, 0, SEEK_SET);
      auto entries = rewound.ok() ? r.fs().ReadDir(*fd)
                                  : Result<std::vector<DirEntry>>(Error(rewound.error()));
      if (entries.ok()) {
        dir->entries = std::move(entries).value();
      } else {
        err = entries.error();
      }
    }
    for (size_t i = static_cast<size_t>(off); err == 0 && i < dir->entries.size(); ++i) {
      const DirEntry& e = dir->entries[i];
      struct stat st = {};
      st.st_ino = e.ino.value();
      st.st_mode = DTTOIF(e.type);
      const size_t need = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(),
                                            &st, static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
  }
  if (err != 0) return (void)fuse_reply_err(req, KernelErrno(err));
  fuse_reply_buf(req, buf.data(), used);
}

void LlReleasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request r(req, MountOp::kRelease);
  DirHandle* dir = DirOf(fi);
  if (auto fd = r.guard().FdOf(dir->handle)) (void)r.fs().Close(*fd);  // read-only: no report
  r.server().DropDir(dir);
  fuse_reply_err(req, 0);
}

void LlFsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Request r(req, MountOp::kFsyncdir);
  auto fd = r.guard().FdOf(DirOf(fi)->handle);
  if (!fd) return (void)fuse_reply_err(req, EIO);
  ReplyErr(req, datasync ? r.fs().Fdatasync(*fd) : r.fs().Fsync(*fd));  // D3
}

// ---- Session ----

void LlInit(void* userdata, fuse_conn_info* conn) {
  // The kernel's write-back cache only when asked for (docs/mount.md): with
  // it dirty pages wait in the kernel until fsync, close or its write-back;
  // a crash drops them (InvalidateAll: their write-back reaches only the
  // handles of before the crash, which answer EIO).
  if (static_cast<LowlevelFs*>(userdata)->options().writeback_cache &&
      (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  } else {
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  }
  // Plain readdir: a listing does not hand the kernel a lookup per entry.
  conn->want &= ~FUSE_CAP_READDIRPLUS;
  // open(O_TRUNC) as a truncate (setattr) and then an open (see LlOpen).
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  // Locks stay with the kernel (one kernel inode per VFS inode makes them
  // right across hard links): no FUSE_CAP_POSIX_LOCKS / FLOCK_LOCKS.
  conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
  conn->max_write = 1 << 20;
}

void LlDestroy(void* userdata) {
  // fuse_session_destroy: the VFS is unmounted (everything made durable)
  // if Stop or Run has not done it already.
  (void)static_cast<LowlevelFs*>(userdata)->fs().Shutdown();  // Stop/Run report its result
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops = {};
  ops.init = LlInit;
  ops.destroy = LlDestroy;
  ops.lookup = LlLookup;
  ops.forget = LlForget;
  ops.forget_multi = LlForgetMulti;
  ops.getattr = LlGetattr;
  ops.setattr = LlSetattr;
  ops.readlink = LlReadlink;
  ops.mknod = LlMknod;
  ops.mkdir = LlMkdir;
  ops.unlink = LlUnlink;
  ops.rmdir = LlRmdir;
  ops.symlink = LlSymlink;
  ops.rename = LlRename;
  ops.link = LlLink;
  ops.open = LlOpen;
  ops.read = LlRead;
  ops.write = LlWrite;
  ops.flush = LlFlush;
  ops.release = LlRelease;
  ops.fsync = LlFsync;
  ops.opendir = LlOpendir;
  ops.readdir = LlReaddir;
  ops.releasedir = LlReleasedir;
  ops.fsyncdir = LlFsyncdir;
  ops.statfs = LlStatfs;
  ops.setxattr = LlSetxattr;
  ops.getxattr = LlGetxattr;
  ops.listxattr = LlListxattr;
  ops.removexattr = LlRemovexattr;
  ops.create = LlCreate;
  ops.ioctl = LlIoctl;
  ops.fallocate = LlFallocate;
  ops.copy_file_range = LlCopyFileRange;
  ops.lseek = LlLseek;
  return ops;
}

}  // namespace

LowlevelFs::LowlevelFs(MountedFs* fs, LowlevelOptions options) : fs_(fs), options_(options) {}

LowlevelFs::~LowlevelFs() {
  StopUring();
  fs_->SetCrashHooks({});
}

DirHandle* LowlevelFs::AddDir(std::unique_ptr<DirHandle> dir) {
  DirHandle* raw = dir.get();
  MutexLock lock(&dirs_mu_);
  dirs_.emplace(raw, std::move(dir));
  return raw;
}

void LowlevelFs::DropDir(DirHandle* dir) {
  std::unique_ptr<DirHandle> gone;  // freed after the lock
  MutexLock lock(&dirs_mu_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end()) return;
  gone = std::move(it->second);
  dirs_.erase(it);
}

Result<void> LowlevelFs::Start() {
  {
    MountedFs::Guard guard(fs_);
    if (!guard.alive()) return Error(EIO);
    auto root = guard.fs().Open("/", O_PATH | O_DIRECTORY);
    if (!root.ok()) return Error(root.error());
    auto st = guard.fs().Fstat(*root);
    if (!st.ok()) return Error(st.error());
    nodes_.BindRoot(*root, st->ino, guard.generation());
  }
  MountedFs::CrashHooks hooks;
  hooks.remounted = [this](Filesystem& fs, uint32_t generation) {
    // The kernel's root never changes id: bind it to the new root now, so
    // no request between the remount and the invalidation sees it stale.
    auto root = fs.Open("/", O_PATH | O_DIRECTORY);
    if (!root.ok()) return;  // every operation on the root answers ESTALE
    auto st = fs.Fstat(*root);
    if (!st.ok()) return;
    nodes_.BindRoot(*root, st->ino, generation);
  };
  hooks.after = [this] { InvalidateAll(); };
  fs_->SetCrashHooks(std::move(hooks));
  return Ok();
}

void LowlevelFs::WriteBackKernelPages(uint64_t node) {
  fuse_session* session = session_.load();
  if (session == nullptr) return;
  // Invalidating the inode's pages writes the dirty ones back first
  // (FUSE_WRITE, served by another worker) and waits for them; its clean
  // pages go too, and are read again when needed. ENOENT: nothing cached.
  (void)fuse_lowlevel_notify_inval_inode(session, node, 0, 0);
}

void LowlevelFs::WriteBackAllKernelPages() {
  for (uint64_t id : nodes_.NodeIds()) WriteBackKernelPages(id);
}

void LowlevelFs::InvalidateAll() {
  fuse_session* session = session_.load();
  if (session == nullptr) return;
  InodeTable::Snapshot all = nodes_.TakeForInvalidation();
  // Names first, so no new lookup finds a dentry of the old state; then each
  // inode's attributes and pages. ENOENT (the kernel forgot it meanwhile)
  // is expected and harmless.
  for (const auto& [dir, name] : all.names) {
    (void)fuse_lowlevel_notify_inval_entry(session, dir, name.data(), name.size());
  }
  for (uint64_t id : all.nodes) (void)fuse_lowlevel_notify_inval_inode(session, id, 0, 0);
}

struct DeviceIo {
  static ssize_t Read(int fd, void* buf, size_t len, void* userdata) {
    const ssize_t n = ::read(fd, buf, len);
    if (n >= static_cast<ssize_t>(sizeof(fuse_in_header))) {
      fuse_in_header in;
      std::memcpy(&in, buf, sizeof in);
      if (in.opcode == FUSE_INIT) {
        auto* server = static_cast<LowlevelFs*>(userdata);
        server->init_unique_.store(in.unique);
        fuse_init_in init = {};
        std::memcpy(&init, static_cast<char*>(buf) + sizeof in,
                    std::min(sizeof init, static_cast<size_t>(n) - sizeof in));
        server->kernel_offers_uring_.store((init.flags & FUSE_INIT_EXT) != 0 &&
                                           (init.flags2 & kFuseOverIoUringFlags2) != 0);
      }
    }
    return n;
  }
  static ssize_t Writev(int fd, iovec* iov, int count, void* userdata) {
    ssize_t taken = 0;
    if (FuseUring::TakeReply(iov, count, &taken)) return taken;  // a reply through a ring
    auto* server = static_cast<LowlevelFs*>(userdata);
    // libfuse sends a reply as the header in iov[0] and the payload after.
    size_t uring_payload = 0;
    if (count >= 2 && iov[0].iov_len == sizeof(fuse_out_header) &&
        iov[1].iov_len >= offsetof(fuse_init_out, flags) + sizeof(uint32_t)) {
      fuse_out_header out;
      std::memcpy(&out, iov[0].iov_base, sizeof out);
      if (out.error == 0 && out.unique == server->init_unique_.load()) {
        auto* init = static_cast<fuse_init_out*>(iov[1].iov_base);
        init->flags |= FUSE_HANDLE_KILLPRIV_V2;
        server->init_unique_.store(~uint64_t{0});
        const bool wanted = server->options().io_uring;
        if (wanted && !(FuseUring::Built() && server->kernel_offers_uring_.load())) {
          std::fprintf(stderr, "vfs mount: %s; FUSE requests stay on /dev/fuse\n",
                       FuseUring::Built() ? "the kernel does not offer FUSE over io_uring "
                                            "(/sys/module/fuse/parameters/enable_uring is not Y)"
                                          : "this build has no io_uring (liburing-dev was missing)");
        }
        if (wanted && FuseUring::Built() && server->kernel_offers_uring_.load() &&
            iov[1].iov_len >= offsetof(fuse_init_out, flags2) + sizeof(uint32_t)) {
          init->flags |= FUSE_INIT_EXT;
          init->flags2 |= kFuseOverIoUringFlags2;
          // The kernel checks each entry's payload buffer against the
          // largest request or reply the connection allows.
          const size_t pages = (init->flags & FUSE_MAX_PAGES) != 0 ? init->max_pages : 32;
          uring_payload = std::max<size_t>({init->max_write, pages * static_cast<size_t>(::getpagesize()),
                                            8192});
        }
      }
    }
    const ssize_t n = ::writev(fd, iov, count);
    // The kernel has taken the INIT reply (process_init_reply runs within
    // the write), so the rings can be registered now.
    if (n >= 0 && uring_payload != 0) server->StartUring(fd, uring_payload);
    return n;
  }
};

void LowlevelFs::StartUring(int fd, size_t payload_bytes) {
  // On a thread of the mount's own: this runs in the writev hook, on a
  // libfuse worker, which libfuse cancels (pthread_cancel) when its loop
  // ends, possibly in the middle of starting the rings.
  MutexLock lock(&uring_mu_);
  if (uring_stopped_ || uring_starter_.joinable()) return;
  try {
    uring_starter_ = std::thread([this, fd, payload_bytes] { RunUring(fd, payload_bytes); });
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "vfs mount: FUSE requests stay on /dev/fuse: %s\n", e.what());
  }
}

void LowlevelFs::RunUring(int fd, size_t payload_bytes) {
  absl::Cleanup started = [this] { uring_started_.Notify(); };
  fuse_session* session = session_.load();
  if (session == nullptr) return;
  std::string why;
  // Set first: the rings serve requests as soon as every queue has an
  // entry, before Start returns.
  uring_active_.store(true);
  std::unique_ptr<FuseUring> ring =
      FuseUring::Start(session, fd, payload_bytes, options_.uring_threads_per_queue, &why);
  if (ring == nullptr) {
    uring_active_.store(false);
    std::fprintf(stderr, "vfs mount: FUSE requests stay on /dev/fuse: %s\n", why.c_str());
    return;
  }
  const unsigned threads = ring->threads();
  {
    MutexLock lock(&uring_mu_);
    if (!uring_stopped_) uring_ = std::move(ring);
  }
  if (ring != nullptr) {  // stopped meanwhile
    ring->Stop();
    return;
  }
  std::fprintf(stderr, "vfs mount: FUSE requests over io_uring, %u threads over the CPU queues\n", threads);
}

void LowlevelFs::StopUring() {
  std::thread starter;
  {
    MutexLock lock(&uring_mu_);
    uring_stopped_ = true;
    starter = std::move(uring_starter_);
  }
  if (starter.joinable()) starter.join();
  std::unique_ptr<FuseUring> ring;
  {
    MutexLock lock(&uring_mu_);
    ring = std::move(uring_);
  }
  if (ring != nullptr) ring->Stop();
  uring_active_.store(false);
}

uint64_t LowlevelFs::uring_requests() const {
  MutexLock lock(&uring_mu_);
  return uring_ == nullptr ? 0 : uring_->requests();
}

const fuse_custom_io& LowlevelFs::Io() {
  static const fuse_custom_io io = [] {
    fuse_custom_io io = {};
    io.read = &DeviceIo::Read;
    io.writev = &DeviceIo::Writev;
    return io;
  }();
  return io;
}

const fuse_lowlevel_ops& LowlevelFs::Ops() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace vfs
