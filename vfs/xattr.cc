// Rule X2 (extended attributes) and rule X3 (fallocate).
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vfs/internal/filesystem_internal.h"

namespace vfs {

uint64_t XattrPages(const Inode::XattrMap& xattrs, uint32_t page_size) {
  uint64_t bytes = 0;
  for (const auto& [name, value] : xattrs) bytes += name.size() + value.size();
  return (bytes + page_size - 1) / page_size;
}

namespace {

enum class XattrSpace { kUser, kTrusted, kUnsupported };

XattrSpace SpaceOf(std::string_view name) {
  if (name.starts_with("user.")) return XattrSpace::kUser;
  if (name.starts_with("trusted.")) return XattrSpace::kTrusted;
  // security.* and system.* (POSIX ACLs) [VFS choice]: not kept, as every
  // unknown prefix.
  return XattrSpace::kUnsupported;
}

// Linux's xattr_permission, then the handler lookup, for `mask` (kMayRead
// to get, kMayWrite to set or remove). Requires inode.mu.
Result<void> XattrAccessLocked(const Credentials& creds, const Inode& inode,
                               std::string_view name, int mask) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const XattrSpace space = SpaceOf(name);
  if (space == XattrSpace::kTrusted) {
    if (!creds.Has(kCapSysAdmin)) return Error((mask & kMayWrite) ? EPERM : ENODATA);
  } else if (space == XattrSpace::kUser) {
    // user.* lives on regular files and directories only; in a sticky
    // directory only its owner writes them.
    if (!inode.is_reg() && !inode.is_dir()) return Error((mask & kMayWrite) ? EPERM : ENODATA);
    if (inode.is_dir() && (inode.mode & S_ISVTX) && (mask & kMayWrite) &&
        !OwnerOrCapableLocked(creds, inode)) {
      return Error(EPERM);
    }
  }
  if (space != XattrSpace::kTrusted && !PermittedLocked(creds, inode, mask)) return Error(EACCES);
  if (space == XattrSpace::kUnsupported) return Error(EOPNOTSUPP);
  // A bare prefix names no attribute (xattr_resolve_name).
  if (name == "user." || name == "trusted.") return Error(EINVAL);
  return Ok();
}

Result<void> CheckXattrName(std::string_view name) {
  if (name.empty() || name.size() > kXattrNameMax) return Error(ERANGE);
  if (name.find('\0') != std::string_view::npos) return Error(ERANGE);
  return Ok();
}

}  // namespace

// The inode an xattr call names: a path under the *at flags, or a full
// descriptor for the f* forms (O_PATH is EBADF there, as Linux's fdget).
Result<std::shared_ptr<Inode>> Filesystem::XattrTarget(Fd dir, std::string_view path,
                                                       int at_flags, bool by_fd) {
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  if (by_fd) {
    auto got = GetFile(dir);
    if (!got.ok()) return Error(got.error());
    if ((*got)->is_path()) return Error(EBADF);
    return (*got)->inode;
  }
  if (at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Error(EINVAL);
  return ResolveAtFlags(dir, path, at_flags, /*follow_default=*/true);
}

Result<void> Filesystem::SetXattrIn(Fd dir, std::string_view path, int at_flags, bool by_fd,
                                    std::string_view name, std::string_view value, int flags) {
  // The order of Linux's setxattr: flags, name, size, then the lookup.
  if (flags & ~(kXattrCreate | kXattrReplace)) return Error(EINVAL);
  if (auto ok = CheckXattrName(name); !ok.ok()) return ok;
  if (value.size() > kXattrSizeMax) return Error(E2BIG);
  auto target = XattrTarget(dir, path, at_flags, by_fd);
  if (!target.ok()) return Error(target.error());
  Inode& inode = **target;
  const Credentials& creds = caller();
  const Timespec now = Now();
  MutexLock lock(&inode.mu);
  if (auto ok = XattrAccessLocked(creds, inode, name, kMayWrite); !ok.ok()) return ok;
  const Inode::XattrMap* current = inode.xattrs();
  const bool exists = current != nullptr && current->contains(name);
  if (exists && (flags & kXattrCreate)) return Error(EEXIST);
  if (!exists && (flags & kXattrReplace)) return Error(ENODATA);
  if (!exists && current != nullptr && current->size() >= kMaxXattrsPerInode) return Error(ENOSPC);
  // Rule X2 quota: the attributes' bytes count toward max_bytes, in pages;
  // reserved before anything changes.
  uint64_t bytes = 0;
  if (current != nullptr) {
    for (const auto& [n, v] : *current) bytes += n.size() + v.size();
    if (exists) bytes -= name.size() + current->find(name)->second.size();
  }
  bytes += name.size() + value.size();
  const uint64_t pages = (bytes + page_size_ - 1) >> page_shift_;
  const uint64_t old_pages = inode.xattr_pages();
  if (pages > old_pages) {
    if (auto reserved = ReserveBytes(pages - old_pages); !reserved.ok()) return reserved;
  } else {
    ReleaseBytes(old_pages - pages);
  }
  inode.set_xattr_pages(pages);
  inode.mutable_xattrs().insert_or_assign(std::string(name), std::string(value));
  inode.ctime = now;
  // Rule X2: DIRTY_SYNC, so fsync writes the record and fdatasync does not.
  inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
  return Ok();
}

Result<std::string> Filesystem::GetXattrIn(Fd dir, std::string_view path, int at_flags,
                                           bool by_fd, std::string_view name) {
  if (auto ok = CheckXattrName(name); !ok.ok()) return Error(ok.error());
  auto target = XattrTarget(dir, path, at_flags, by_fd);
  if (!target.ok()) return Error(target.error());
  Inode& inode = **target;
  const Credentials& creds = caller();
  MutexLock lock(&inode.mu);
  if (auto ok = XattrAccessLocked(creds, inode, name, kMayRead); !ok.ok()) return Error(ok.error());
  const Inode::XattrMap* current = inode.xattrs();
  if (current == nullptr) return Error(ENODATA);
  auto it = current->find(name);
  if (it == current->end()) return Error(ENODATA);
  return it->second;
}

Result<std::vector<std::string>> Filesystem::ListXattrIn(Fd dir, std::string_view path,
                                                         int at_flags, bool by_fd) {
  auto target = XattrTarget(dir, path, at_flags, by_fd);
  if (!target.ok()) return Error(target.error());
  Inode& inode = **target;
  const bool trusted = caller().Has(kCapSysAdmin);
  std::vector<std::string> names;
  MutexLock lock(&inode.mu);
  if (const Inode::XattrMap* current = inode.xattrs()) {
    for (const auto& [n, v] : *current) {
      // As tmpfs (simple_xattr_list): trusted.* only for CAP_SYS_ADMIN.
      if (!trusted && SpaceOf(n) == XattrSpace::kTrusted) continue;
      names.push_back(n);
    }
  }
  return names;
}

Result<void> Filesystem::RemoveXattrIn(Fd dir, std::string_view path, int at_flags, bool by_fd,
                                       std::string_view name) {
  if (auto ok = CheckXattrName(name); !ok.ok()) return ok;
  auto target = XattrTarget(dir, path, at_flags, by_fd);
  if (!target.ok()) return Error(target.error());
  Inode& inode = **target;
  const Credentials& creds = caller();
  const Timespec now = Now();
  MutexLock lock(&inode.mu);
  if (auto ok = XattrAccessLocked(creds, inode, name, kMayWrite); !ok.ok()) return ok;
  if (inode.xattrs() == nullptr) return Error(ENODATA);
  Inode::XattrMap& xattrs = inode.mutable_xattrs();
  auto it = xattrs.find(name);
  if (it == xattrs.end()) return Error(ENODATA);
  xattrs.erase(it);
  const uint64_t pages = XattrPages(xattrs, page_size_);
  ReleaseBytes(inode.xattr_pages() - pages);
  inode.set_xattr_pages(pages);
  inode.ctime = now;
  inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
  return Ok();
}

Result<void> Filesystem::SetXattrAt(Fd dir, std::string_view path, int at_flags,
                                    std::string_view name, std::string_view value, int flags) {
  CallScope call(options_);
  return SetXattrIn(dir, path, at_flags, false, name, value, flags);
}
Result<std::string> Filesystem::GetXattrAt(Fd dir, std::string_view path, int at_flags,
                                           std::string_view name) {
  CallScope call(options_);
  return GetXattrIn(dir, path, at_flags, false, name);
}
Result<std::vector<std::string>> Filesystem::ListXattrAt(Fd dir, std::string_view path,
                                                         int at_flags) {
  CallScope call(options_);
  return ListXattrIn(dir, path, at_flags, false);
}
Result<void> Filesystem::RemoveXattrAt(Fd dir, std::string_view path, int at_flags,
                                       std::string_view name) {
  CallScope call(options_);
  return RemoveXattrIn(dir, path, at_flags, false, name);
}
Result<void> Filesystem::FsetXattr(Fd fd, std::string_view name, std::string_view value,
                                   int flags) {
  CallScope call(options_);
  return SetXattrIn(fd, "", 0, true, name, value, flags);
}
Result<std::string> Filesystem::FgetXattr(Fd fd, std::string_view name) {
  CallScope call(options_);
  return GetXattrIn(fd, "", 0, true, name);
}
Result<std::vector<std::string>> Filesystem::FlistXattr(Fd fd) {
  CallScope call(options_);
  return ListXattrIn(fd, "", 0, true);
}
Result<void> Filesystem::FremoveXattr(Fd fd, std::string_view name) {
  CallScope call(options_);
  return RemoveXattrIn(fd, "", 0, true, name);
}

Result<void> Filesystem::Fallocate(Fd, int, int64_t, int64_t) { return Error(ENOSYS); }

}  // namespace vfs
