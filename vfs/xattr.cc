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

enum class XattrSpace { kUser, kTrusted, kSecurity, kUnsupported };

XattrSpace SpaceOf(std::string_view name) {
  if (name.starts_with("user.")) return XattrSpace::kUser;
  if (name.starts_with("trusted.")) return XattrSpace::kTrusted;
  // security.* is kept as tmpfs keeps it with no LSM loaded: a plain
  // namespace. security.capability [VFS choice] is not: file capabilities
  // mean nothing without exec, and Linux gives its value a format of its
  // own (cap_convert_nscap). system.* (POSIX ACLs) [VFS choice]: not kept,
  // as every unknown prefix.
  if (name.starts_with("security.") && name != "security.capability") return XattrSpace::kSecurity;
  return XattrSpace::kUnsupported;
}

// Linux's xattr_permission, then the handler lookup, for `mask` (kMayRead
// to get, kMayWrite to set or remove). Requires inode.mu.
Result<void> XattrAccessLocked(const Credentials& creds, const Inode& inode,
                               std::string_view name, int mask) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const XattrSpace space = SpaceOf(name);
  if (space == XattrSpace::kTrusted) {
    if (!creds.Has(kCapSysAdmin)) return Error((mask & kMayWrite) ? EPERM : ENODATA);
  } else if (space == XattrSpace::kSecurity) {
    // xattr_permission checks nothing for security.*; reading needs no
    // permission at all, and the capability module's inode_setxattr and
    // inode_removexattr hooks ask CAP_SYS_ADMIN to change one (EPERM), on
    // any kind of file.
    if ((mask & kMayWrite) && !creds.Has(kCapSysAdmin)) return Error(EPERM);
    if (name == "security.") return Error(EINVAL);  // xattr_resolve_name
    return Ok();
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

// ---- fallocate (rule X3) ----

Result<void> Filesystem::Fallocate(Fd fd, int mode, int64_t offset, int64_t len) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  if (file.is_path()) return Error(EBADF);
  // The order of Linux's vfs_fallocate (6.x): the mode must name one
  // operation the kernel knows (with KEEP_SIZE where it fits), then the
  // descriptor must be open for writing, the file regular and the range
  // within the size limit; only then does the file system refuse the
  // operations it does not implement (collapse, insert, unshare,
  // write-zeroes here, as tmpfs refuses them).
  constexpr int kCollapseRange = 0x08, kInsertRange = 0x20, kUnshareRange = 0x40,
                kWriteZeroes = 0x80;
  constexpr int kModeMask =
      kFallocPunchHole | kCollapseRange | kFallocZeroRange | kInsertRange | kUnshareRange | kWriteZeroes;
  if (offset < 0 || len <= 0) return Error(EINVAL);
  if (mode & ~(kModeMask | kFallocKeepSize)) return Error(EOPNOTSUPP);
  switch (mode & kModeMask) {
    case 0:
    case kUnshareRange:
    case kFallocZeroRange:
      break;
    case kFallocPunchHole:
      if (!(mode & kFallocKeepSize)) return Error(EOPNOTSUPP);
      break;
    case kCollapseRange:
    case kInsertRange:
    case kWriteZeroes:
      if (mode & kFallocKeepSize) return Error(EOPNOTSUPP);
      break;
    default:
      return Error(EOPNOTSUPP);  // more than one operation
  }
  if (!file.writable()) return Error(EBADF);
  Inode& inode = *file.inode;
  if (inode.is_fifo()) return Error(ESPIPE);
  if (inode.is_dir()) return Error(EISDIR);
  if (!inode.is_reg()) return Error(ENODEV);
  // vfs_fallocate's wraparound and size check (EFBIG) comes before the file
  // system's own refusal (found by the differential test).
  int64_t end = 0;
  if (__builtin_add_overflow(offset, len, &end) ||
      static_cast<uint64_t>(end) > options_.max_file_size) {
    return Error(EFBIG);
  }
  if (mode & ~(kFallocKeepSize | kFallocPunchHole | kFallocZeroRange)) return Error(EOPNOTSUPP);
  Result<void> done = Ok();
  if (mode & kFallocPunchHole) {
    done = PunchHole(inode, static_cast<uint64_t>(offset), static_cast<uint64_t>(end));
  } else {
    done = AllocateRange(inode, static_cast<uint64_t>(offset), static_cast<uint64_t>(end),
                         (mode & kFallocZeroRange) != 0, (mode & kFallocKeepSize) != 0);
  }
  ShrinkCacheIfOver();
  return done;
}

// Modes 0 and KEEP_SIZE allocate the holes of the range as zero pages;
// ZERO_RANGE also zeroes the allocated bytes of the range, as a write of
// zeros. Everything is checked and reserved before anything changes.
Result<void> Filesystem::AllocateRange(Inode& inode, uint64_t offset, uint64_t end, bool zero,
                                       bool keep_size) {
  const Credentials& creds = caller();
  MutexLock lock(&inode.mu);
  const uint64_t first = offset >> page_shift_;
  const uint64_t last = (end - 1) >> page_shift_;
  // More holes than max_bytes has room for is ENOSPC as soon as it is
  // known, as in WriteAt: the count stops there, so a terabyte range under a
  // small quota costs the quota's pages, not the range's (found by the
  // differential test, where one such call took minutes). Past the count,
  // the range holds at most the quota's pages, so the loops below are
  // bounded by it too.
  const uint64_t quota = options_.max_bytes >> page_shift_;
  const uint64_t used = accounts_->used_pages.load(std::memory_order_relaxed);
  const uint64_t room = used >= quota ? 0 : quota - used;
  uint64_t holes = 0;
  for (uint64_t i = first; i <= last; ++i) {
    if (inode.pages.StateOf(PageIndex(i)) == PageState::kHole && ++holes > room) {
      return Error(ENOSPC);
    }
  }
  if (auto reserved = ReserveBytes(holes); !reserved.ok()) return reserved;
  if (zero) {
    // Bring back every page the store holds in the range before a byte
    // changes, so a failed read changes nothing.
    if (auto loaded = LoadStoredPagesLocked(inode, PageIndex(first), PageIndex(last)); !loaded.ok()) {
      ReleaseBytes(holes);
      return loaded;
    }
  }
  for (uint64_t i = first; i <= last; ++i) {
    const PageIndex index(i);
    CachedPage* page = inode.pages.Find(index);
    if (page == nullptr && inode.pages.StateOf(index) == PageState::kHole) {
      // A new zero page, dirty so that the store learns the allocation.
      page = inode.pages.Insert(index, PageBuffer::Allocate(page_size_), /*stored=*/false);
      inode.pages.BeginWrite(page);
      continue;
    }
    if (!zero || page == nullptr) continue;
    const uint64_t page_start = i << page_shift_;
    const uint64_t from = std::max(offset, page_start) - page_start;
    const uint64_t to = std::min<uint64_t>(end, page_start + page_size_) - page_start;
    if (!page->data()->ZeroFrom(static_cast<uint32_t>(from)) || to < page_size_) {
      std::memset(inode.pages.BeginWrite(page) + from, 0, to - from);
    }
  }
  if (holes > 0 || zero) inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync | kDirtyDatasync;
  if (!keep_size && end > inode.size) {
    inode.size = end;
    inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync | kDirtyDatasync;
  }
  TouchLocked(inode, /*mtime=*/zero, /*ctime=*/true);
  // Rule X1: every mode clears the set-id bits as a write does (tmpfs's
  // fallocate calls file_modified whatever it allocates; found by the
  // differential test).
  if (inode.mode & (S_ISUID | S_ISGID)) {
    if (const uint32_t kill = PrivsToClearLocked(creds, inode); kill != 0) {
      inode.mode &= ~kill;
      inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
    }
  }
  return Ok();
}

// PUNCH_HOLE|KEEP_SIZE: whole pages of the range become holes (their bytes
// stop counting toward max_bytes), partial pages are zeroed. The store
// keeps the old pages until fsync or fdatasync sends the punch (a Truncate
// with an end page), so a crash before that may show the old data (C2).
Result<void> Filesystem::PunchHole(Inode& inode, uint64_t offset, uint64_t end) {
  const Credentials& creds = caller();
  const uint64_t first_full = (offset + page_size_ - 1) >> page_shift_;
  const uint64_t end_full = end >> page_shift_;  // exclusive
  const PageIndex wait_first(offset >> page_shift_);
  const PageIndex wait_last((end - 1) >> page_shift_);
  for (;;) {
    // As truncation: pages in writeback in the range are waited for first.
    WaitWriteback(inode, wait_first, wait_last);
    MutexLock lock(&inode.mu);
    if (!inode.pages.TicketsIn(wait_first, wait_last).empty()) continue;
    // The partial pages at either end: loaded before anything changes.
    std::vector<uint64_t> partial;
    if (offset & (page_size_ - 1)) partial.push_back(offset >> page_shift_);
    if ((end & (page_size_ - 1)) && (partial.empty() || partial[0] != (end >> page_shift_))) {
      partial.push_back(end >> page_shift_);
    }
    for (uint64_t i : partial) {
      const PageIndex index(i);
      if (inode.pages.StateOf(index) != PageState::kOnStore) continue;
      auto data = LoadPageLocked(inode, index);
      if (!data.ok()) return Error(data.error());
      const bool stored = *data != nullptr;
      inode.pages.Insert(index, stored ? *std::move(data) : PageBuffer::Allocate(page_size_),
                         stored);
    }
    // The punch's generation, if whole pages go: past the last one the call
    // is ENOSPC before anything changed.
    uint64_t generation = 0;
    if (end_full > first_full) {
      auto next = NextGeneration();
      if (!next.ok()) return Error(next.error());
      generation = *next;
    }
    bool changed = false;
    for (uint64_t i : partial) {
      CachedPage* page = inode.pages.Find(PageIndex(i));
      if (page == nullptr) continue;  // a hole already
      const uint64_t page_start = i << page_shift_;
      const uint64_t from = std::max(offset, page_start) - page_start;
      const uint64_t to = std::min<uint64_t>(end, page_start + page_size_) - page_start;
      std::memset(inode.pages.BeginWrite(page) + from, 0, to - from);
      changed = true;
    }
    if (end_full > first_full) {
      const uint64_t before = inode.pages.allocated_pages();
      inode.pages.DropRange(PageIndex(first_full), PageIndex(end_full - 1));
      const uint64_t freed = before - inode.pages.allocated_pages();
      ReleaseBytes(freed);
      if (freed > 0 || inode.has_store_pages) {
        // Pages written after the punch carry its generation and survive
        // it, wherever they land first.
        inode.generation = generation;
        inode.mutable_punches().push_back({first_full, end_full, inode.generation});
        changed = true;
      }
    }
    if (changed) inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync | kDirtyDatasync;
    TouchLocked(inode, /*mtime=*/true, /*ctime=*/true);
    if (inode.mode & (S_ISUID | S_ISGID)) {
      if (const uint32_t kill = PrivsToClearLocked(creds, inode); kill != 0) inode.mode &= ~kill;
    }
    return Ok();
  }
}

}  // namespace vfs
