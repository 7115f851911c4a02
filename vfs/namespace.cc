// Path resolution and the operations that change the tree: open with
// O_CREAT, mkdir, rmdir, unlink, rename, link, symlink, mkfifo, pipe, chdir,
// readdir. Each holds the namespace lock for its whole change, so a change is
// atomic to every other call. A change of a directory's entries is recorded
// as pending in that directory (rule D3) until the directory is fsynced.
#include <dirent.h>

#include <cerrno>
#include <optional>
#include <string_view>

#include "vfs/internal/filesystem_internal.h"

namespace vfs {
namespace {

// Pushes the components of `path` onto `stack` so that the first component
// is on top. Empty components ("//") are skipped.
void PushComponents(std::string_view path, std::vector<std::string_view>* stack) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = i;
    while (j < path.size() && path[j] != '/') ++j;
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) stack->push_back(*it);
}

uint8_t DirentType(const Inode& inode) {
  if (inode.is_dir()) return DT_DIR;
  if (inode.is_reg()) return DT_REG;
  if (inode.is_symlink()) return DT_LNK;
  if (inode.is_fifo()) return DT_FIFO;
  switch (inode.type) {
    case S_IFSOCK: return DT_SOCK;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    default: return DT_UNKNOWN;
  }
}

// A name is followed by a slash when `path` ends in one after it; "." and
// ".." are directories whatever follows them, so Linux's trailing-slash rules
// (lookup_last, open_last_lookups, filename_create, do_unlinkat,
// do_renameat2) look only at a normal last name.
bool EndsInSlashAfterName(std::string_view path) {
  size_t end = path.size();
  if (end == 0 || path[end - 1] != '/') return false;
  while (end > 0 && path[end - 1] == '/') --end;
  if (end == 0) return false;  // only slashes: the root
  size_t begin = path.rfind('/', end - 1);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  const std::string_view name = path.substr(begin, end - begin);
  return name != "." && name != "..";
}

// When a slash follows the path's last name, the path of the directory
// before that name ("." for none); else nothing.
std::optional<std::string_view> DirBeforeSlashedLastName(std::string_view path) {
  if (!EndsInSlashAfterName(path)) return std::nullopt;
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  size_t begin = path.rfind('/', end - 1);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  if (begin == 0) return std::string_view(".");
  return path.substr(0, begin);
}

}  // namespace

Result<Filesystem::Lookup> Filesystem::Resolve(Fd dir, std::string_view path, Final final,
                                               bool defer_last_lookup) {
  if (path.empty()) return Error(ENOENT);
  if (path.size() >= options_.max_path_length) return Error(ENAMETOOLONG);
  if (path.find('\0') != std::string_view::npos) return Error(EINVAL);
  Inode* cur = nullptr;
  FileRef base;  // keeps a directory descriptor's inode alive
  // The wasi personality resolves a path through a directory descriptor
  // beneath it, as a WASI runtime does for a preopened directory: no
  // absolute path, no ".." above it, no absolute symlink. [VFS choice] The
  // answer is the missing-right errno (EACCES, or kENotCapable in spec mode).
  const bool wasi_beneath = dir != kCwd && options_.personality == Personality::kWasi;
  const int escape = options_.wasi_mode == WasiMode::kSpec ? kENotCapable : EACCES;
  const Inode* beneath = nullptr;
  if (path[0] == '/') {
    if (wasi_beneath) return Error(escape);
    cur = root_.get();
  } else if (dir == kCwd) {
    cur = cwd_.get();
  } else {
    auto file = GetFile(dir);
    if (!file.ok()) return Error(EBADF);
    base = *std::move(file);
    cur = base->inode.get();
    if (!cur->is_dir()) return Error(ENOTDIR);
    if (wasi_beneath) beneath = cur;
  }

  // Rule X1: search permission on every directory walked, as Linux's
  // may_lookup before each component. Root (CAP_DAC_READ_SEARCH or
  // CAP_DAC_OVERRIDE) searches every directory without a look at its mode.
  const Credentials& creds = caller();
  const bool search_all = creds.Has(kCapDacReadSearch) || creds.Has(kCapDacOverride);
  auto may_search = [&](Inode* d) {
    if (search_all) return true;
    MutexLock lock(&d->mu);
    return PermittedLocked(creds, *d, kMayExec);
  };

  Lookup out;
  out.parent = cur;
  out.inode = cur;  // a path of only slashes names its start, the root
  // Whether a slash follows the last name still to be looked up: the
  // path's, or the target's of a final symlink followed.
  bool slash_after_last = EndsInSlashAfterName(path);
  std::vector<std::string_view> stack;
  PushComponents(path, &stack);
  uint32_t followed = 0;
  while (!stack.empty()) {
    const std::string_view name = stack.back();
    stack.pop_back();
    const bool last = stack.empty();
    if (!cur->is_dir()) return Error(ENOTDIR);
    if (!may_search(cur)) return Error(EACCES);
    if (name == "." || name == "..") {
      // ".." at the root stays at the root: resolution never leaves the
      // tree. A removed directory still answers "." and "..", as on Linux
      // (its dentry keeps d_parent); only names in it are gone.
      if (name == "..") {
        if (cur == beneath) return Error(escape);
        if (cur->parent != nullptr) {
          cur = cur->parent;
        } else if (cur->removed_from() != nullptr) {
          cur = cur->removed_from();
        }
      }
      if (last) {
        out.parent = cur;
        out.name.assign(name);
        out.inode = cur;
        out.trailing_slash = false;
      }
      continue;
    }
    // A last name in a removed directory or too long may be left to the
    // caller (rename answers EBUSY for "." first, as Linux's do_renameat2).
    if (last && defer_last_lookup &&
        (cur->parent == nullptr || name.size() > options_.max_name_length)) {
      out.parent = cur;
      out.name.assign(name);
      out.inode = nullptr;
      out.trailing_slash = slash_after_last;
      return out;
    }
    if (cur->parent == nullptr) return Error(ENOENT);  // a removed directory
    // A name too long is refused by the lookup itself, as tmpfs's
    // simple_lookup: after the search permission and after a removed
    // directory's ENOENT (Linux checks IS_DEADDIR before calling it).
    if (name.size() > options_.max_name_length) {
      // open with O_CREAT decides EISDIR for a slash after the last name
      // before it looks the name up (open_last_lookups), also when the
      // name and its slash come from a followed symlink's target.
      if (last && slash_after_last && final == Final::kCreate) {
        out.parent = cur;
        out.name.assign(name);
        out.inode = nullptr;
        out.trailing_slash = true;
        return out;
      }
      return Error(ENAMETOOLONG);
    }
    auto it = cur->children.find(name);
    Inode* child = it == cur->children.end() ? nullptr : it->second;
    if (child == nullptr) {
      if (!last) return Error(ENOENT);
      out.parent = cur;
      out.name.assign(name);
      out.inode = nullptr;
      out.trailing_slash = slash_after_last;
      return out;
    }
    bool follow = !last;
    if (last) {
      switch (final) {
        case Final::kFollow: follow = true; break;
        case Final::kNoFollow: follow = slash_after_last; break;
        case Final::kEntry: follow = false; break;
        case Final::kCreate: follow = !slash_after_last; break;
      }
    }
    if (child->is_symlink() && follow) {
      if (++followed > options_.max_symlink_depth) return Error(ELOOP);
      const std::string& target = child->symlink_target();
      if (target[0] == '/') {
        if (beneath != nullptr) return Error(escape);
        cur = root_.get();
      }
      PushComponents(target, &stack);
      // A slash after the link's own name stays in force for its target (it
      // sets LOOKUP_DIRECTORY for the rest of Linux's walk).
      if (last) slash_after_last = slash_after_last || EndsInSlashAfterName(target);
      if (last && stack.empty()) {  // the target was "/"
        out.parent = cur;
        out.name.clear();
        out.inode = cur;
        out.trailing_slash = false;
      }
      continue;
    }
    if (last) {
      out.parent = cur;
      out.name.assign(name);
      out.inode = child;
      out.trailing_slash = slash_after_last;
    }
    cur = child;
  }
  const bool lookup = final == Final::kFollow || final == Final::kNoFollow;
  if (lookup && out.inode != nullptr && out.trailing_slash && !out.inode->is_dir()) {
    return Error(ENOTDIR);
  }
  return out;
}

Result<std::shared_ptr<Inode>> Filesystem::ResolveInode(Fd dir, std::string_view path,
                                                         bool follow_last) {
  ReaderLock lock(&ns_mu_);
  auto found = Resolve(dir, path, follow_last ? Final::kFollow : Final::kNoFollow);
  if (!found.ok()) return Error(found.error());
  if (found->inode == nullptr) return Error(ENOENT);
  return found->inode->shared_from_this();
}

std::shared_ptr<Inode> Filesystem::NewInode(InodeId ino, uint32_t mode) {
  // The deleter runs when the last link and the last descriptor are gone.
  // It captures only the accounts: its lambda lives in the shared_ptr's
  // control block, one allocation per inode, whose size class one more
  // capture would raise by 16 bytes (docs/benchmarks.md, memory per file).
  std::shared_ptr<Accounts> accounts = accounts_;
  std::shared_ptr<Inode> inode(
      new Inode(ino, mode, page_size_),
      [accounts](Inode* dead) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        const uint64_t pages = dead->pages.allocated_pages();
        // Only a regular file has pages (and a page size) of its own.
        const uint64_t page_size = dead->pages.page_size();
        // max_bytes counts what a guest can reach: not this any more.
        accounts->used_pages.fetch_sub(pages + dead->fifo_pages + dead->xattr_pages(),
                                       std::memory_order_relaxed);
        if (!dead->anonymous) accounts->inodes.fetch_sub(1, std::memory_order_relaxed);
        if (dead->orphan_listed) {
          // An unlinked inode (DropLinkLocked made it an orphan). A linked
          // one dies only with the filesystem, and stays in the store.
          MutexLock lock(&accounts->mu);
          auto it = accounts->orphans.find(dead->ino);
          if (it != accounts->orphans.end()) {
            Accounts::Orphan& orphan = it->second;
            if (!dead->has_record && !dead->has_store_pages && orphan.store_links == 0) {
              accounts->orphans.erase(it);  // never reached the store: nothing to free
            } else {
              orphan.dead = true;
              orphan.bytes = dead->has_store_pages ? pages * page_size : 0;
              accounts->unlinked_bytes.fetch_add(orphan.bytes, std::memory_order_relaxed);
              if (orphan.store_links == 0) {
                // No entry the store holds names it: free it once the
                // removals that unnamed it are durable.
                accounts->ready.push_back({dead->ino, orphan.after, orphan.bytes});
                accounts->ready_count.store(accounts->ready.size(), std::memory_order_relaxed);
                accounts->orphans.erase(it);
              }
            }
          }
        }
        // Outside the lock: deleting an inode may drop the last reference
        // to another (a removed directory's parent), whose deleter runs now.
        delete dead;
      });
  accounts_->inodes.fetch_add(1, std::memory_order_relaxed);
  const Timespec now = Now();
  MutexLock lock(&inode->mu);
  inode->pages.CountInto(&accounts_->cached_pages);
  inode->mode = mode;
  inode->atime = inode->mtime = inode->ctime = now;
  // A new inode has never been written: its record is due (rule M2).
  inode->dirty = kDirtySync | kDirtyDatasync;
  return inode;
}

void Filesystem::NotePendingLocked(Inode& dir, std::string_view name, InodeId now, InodeId before) {
  // Rule D3. The first change of a name since it was last sent records what
  // the store holds under it (what the name held before the change); later
  // changes keep that.
  // One search, and a key string only for a name not pending yet.
  auto it = dir.pending_entries.lower_bound(name);
  if (it != dir.pending_entries.end() && it->first == name) {
    it->second = now;
    return;
  }
  dir.pending_entries.emplace_hint(it, std::string(name), now);
  if (before != InodeId(0)) dir.mutable_stored_under().insert_or_assign(std::string(name), before);
}

Filesystem::ParentGroup Filesystem::AddEntryLocked(Inode& dir, std::string_view name,
                                                  Inode& child) {
  // One lookup: insert, or replace what the name held.
  auto [it, inserted] = dir.children.try_emplace(std::string(name), &child);
  const InodeId before = inserted ? InodeId(0) : it->second->ino;
  if (!inserted) it->second = &child;
  NotePendingLocked(dir, name, child.ino, before);
  MutexLock lock(&dir.mu);
  if (inserted) ++dir.dir_entries;
  if (child.is_dir()) ++dir.nlink;
  TouchLocked(dir, /*mtime=*/true, /*ctime=*/true);
  return ParentGroup{(dir.mode & S_ISGID) != 0, dir.gid};
}

void Filesystem::RemoveEntryLocked(Inode& dir, std::string_view name) {
  auto it = dir.children.find(name);
  const bool was_dir = it->second->is_dir();
  NotePendingLocked(dir, name, InodeId(0), it->second->ino);
  dir.children.erase(it);
  MutexLock lock(&dir.mu);
  --dir.dir_entries;
  if (was_dir) --dir.nlink;
  TouchLocked(dir, /*mtime=*/true, /*ctime=*/true);
}

void Filesystem::DropLinkLocked(Inode& inode) {
  bool gone = false;
  bool never_stored = false;
  {
    MutexLock lock(&inode.mu);
    never_stored = !inode.has_record && !inode.has_store_pages;
    if (inode.is_dir()) {
      inode.nlink = 0;
      inode.set_removed_from(inode.parent->shared_from_this());
      inode.parent = nullptr;
    } else {
      --inode.nlink;
    }
    gone = inode.nlink == 0;
    TouchLocked(inode, /*mtime=*/false, /*ctime=*/true);
  }
  if (!gone) return;
  if (never_stored && inode.store_links == 0 && !inode.is_dir()) {
    // A file the store never held and that no descriptor keeps (the table's
    // reference is the last): it dies right here with nothing to free in
    // the store, so it needs no orphan entry (the common create + unlink
    // pays no lock of the orphan table). No one can take a new reference
    // while the namespace lock is held.
    auto it = inodes_.find(inode.ino);
    if (it != inodes_.end() && it->second.use_count() == 1) {
      inodes_.erase(it);
      return;
    }
  }
  {
    // The inode becomes an orphan: its count of stored entries moves to the
    // orphan table, where sends of its removals find it (SyncDirectory) and
    // its deleter does.
    MutexLock lock(&accounts_->mu);
    inode.orphan_listed = true;
    auto [it, inserted] = accounts_->orphans.try_emplace(inode.ino);
    Accounts::Orphan& orphan = it->second;
    orphan.store_links = inode.store_links;
    inode.store_links = 0;
    if (inode.is_dir()) {
      // Empty now; what its entries named in the store is still named there
      // (its removals are pending) while the directory is reachable.
      if (const Inode::StoredNames* stored = inode.stored_under()) {
        for (const auto& [name, ino] : *stored) orphan.names_inside.push_back(ino);
      }
    }
    // Never named in the store: unreachable there already.
    if (orphan.store_links == 0) OrphanUnnamedLocked(inode.ino, /*ticket=*/0);
  }
  // Open descriptors keep the inode alive; its deleter runs when they close.
  inodes_.erase(inode.ino);
}

void Filesystem::DropStoreLinkLocked(InodeId ino, Ticket ticket) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  accounts_->mu.AssertHeld();
  if (auto linked = inodes_.find(ino); linked != inodes_.end()) {
    Inode& inode = *linked->second;
    if (inode.store_links > 0) --inode.store_links;
    return;
  }
  auto it = accounts_->orphans.find(ino);
  if (it == accounts_->orphans.end() || it->second.store_links == 0) return;
  if (--it->second.store_links == 0) OrphanUnnamedLocked(ino, ticket);
}

void Filesystem::OrphanUnnamedLocked(InodeId ino, Ticket ticket) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  accounts_->mu.AssertHeld();
  auto it = accounts_->orphans.find(ino);
  if (it == accounts_->orphans.end()) return;
  Accounts::Orphan& orphan = it->second;
  orphan.after = std::max(orphan.after, ticket);
  // A removed directory no stored entry names is unreachable in the store
  // once `ticket` is durable, and with it every entry it holds there.
  std::vector<InodeId> inside = std::move(orphan.names_inside);
  orphan.names_inside.clear();
  if (orphan.dead) {
    accounts_->ready.push_back({ino, orphan.after, orphan.bytes});
    accounts_->ready_count.store(accounts_->ready.size(), std::memory_order_relaxed);
    accounts_->orphans.erase(it);
  }
  for (InodeId named : inside) DropStoreLinkLocked(named, ticket);
}

Result<void> Filesystem::CreateLocked(const Lookup& where, uint32_t mode,
                                      std::string_view symlink_target,
                                      std::shared_ptr<Inode>* created) {
  // Rule X1: creating needs write and search on the directory (may_create).
  const Credentials& creds = caller();
  if (auto ok = CheckPermission(creds, *where.parent, kMayWrite | kMayExec); !ok.ok()) return ok;
  if (accounts_->inodes.load(std::memory_order_relaxed) >= options_.max_inodes) {
    return Error(ENOSPC);
  }
  if (where.parent->children.size() >= options_.max_dir_entries) return Error(ENOSPC);
  // Rule X1: the caller's uid; the parent's gid under a setgid directory
  // (a directory inherits the bit), else the caller's gid; the umask.
  uint32_t bits = mode & 07777;
  if (!S_ISLNK(mode)) bits &= ~creds.umask;
  if (next_ino_ > kMaxInodeNumber) return Error(ENOSPC);  // numbers never wrap
  // Every check passed. The new inode is reachable by no other thread until
  // the namespace lock goes, so it may be filled in after its entry is
  // made: the parent's setgid bit is read under the lock AddEntryLocked
  // takes anyway (one lock of the parent per create, as before X1).
  std::shared_ptr<Inode> inode = NewInode(InodeId(next_ino_++), (mode & S_IFMT) | bits);
  if (S_ISDIR(mode)) inode->parent = where.parent;
  inode->set_symlink_target(symlink_target);
  inodes_.emplace(inode->ino, inode);
  const ParentGroup group = AddEntryLocked(*where.parent, where.name, *inode);
  uint32_t gid = creds.gid;
  if (group.setgid) {
    gid = group.gid;
    if (S_ISDIR(mode)) {
      bits |= S_ISGID;
    } else if ((bits & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && !creds.InGroup(gid) &&
               !creds.Has(kCapFsetid)) {
      bits &= ~S_ISGID;  // mode_strip_sgid
    }
  }
  {
    MutexLock lock(&inode->mu);
    inode->mode = (mode & S_IFMT) | bits;
    inode->nlink = S_ISDIR(mode) ? 2 : 1;
    inode->uid = creds.uid;
    inode->gid = gid;
    if (S_ISLNK(mode)) inode->size = symlink_target.size();
  }
  if (created != nullptr) *created = std::move(inode);
  return Ok();
}

// ---- open ----

Result<Fd> Filesystem::Open(std::string_view path, int flags, uint32_t mode) {
  CallScope call(options_);
  return OpenAt(kCwd, path, flags, mode);
}

Result<Fd> Filesystem::OpenAt(Fd dir, std::string_view path, int flags, uint32_t mode) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  // As Linux's build_open_how: O_PATH drops every flag but O_DIRECTORY,
  // O_NOFOLLOW and O_CLOEXEC before any other check, so O_PATH|O_TMPFILE
  // opens the directory as O_PATH (O_TMPFILE's O_DIRECTORY stays), whatever
  // the access mode or O_CREAT (rule X4).
  if (flags & O_PATH) flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  // Rule X4: O_TMPFILE (its own bit with O_DIRECTORY, and no O_CREAT)
  // needs write access, as Linux's build_open_flags.
  constexpr int kTmpfileBit = O_TMPFILE & ~O_DIRECTORY;
  const bool tmpfile = (flags & kTmpfileBit) != 0;
  if (tmpfile && ((flags & (O_TMPFILE | O_CREAT)) != O_TMPFILE || (flags & O_ACCMODE) == O_RDONLY)) {
    return Error(EINVAL);
  }
  // Rule O5: O_SYNC's own bit. Linux's open() adds O_DSYNC to it; AIX's
  // O_SYNC alone gives data integrity, unless XPG_SUS_ENV.
  if ((flags & kAixOSync) && !(flags & O_DSYNC)) {
    const bool aix_data_only = options_.personality == Personality::kAix && !options_.aix_xpg_sus_env;
    flags = aix_data_only ? (flags & ~kAixOSync) | O_DSYNC : flags | O_DSYNC;
  }
  if (options_.personality != Personality::kAix) flags &= ~kAixODefer;  // O6 is AIX's
  // WASI rights (see SetRights): through a descriptor, path_open and what
  // the flags need; the new description inherits, never widens. A bad `dir`
  // is left to Resolve, which ignores it for an absolute path, as Linux.
  uint64_t base = wasi::kRightsAll;
  uint64_t inheriting = wasi::kRightsAll;
  if (dir != kCwd) {
    if (auto through = GetFile(dir); through.ok()) {
      uint64_t needed = wasi::kRightPathOpen;
      if (flags & O_CREAT) needed |= wasi::kRightPathCreateFile;
      if (flags & O_TRUNC) needed |= wasi::kRightPathFilestatSetSize;
      if (auto allowed = CheckRights(**through, needed); !allowed.ok()) return Error(allowed.error());
      inheriting = (*through)->rights_inheriting.load(std::memory_order_relaxed);
      // Rule E6: fdflags::dsync needs fd_datasync or fd_sync, sync fd_sync.
      const bool sync_ok = (flags & kAixOSync) ? (inheriting & wasi::kRightFdSync) != 0
                           : (flags & O_DSYNC)
                               ? (inheriting & (wasi::kRightFdSync | wasi::kRightFdDatasync)) != 0
                               : true;
      if (!sync_ok) return Error(options_.wasi_mode == WasiMode::kSpec ? kENotCapable : EACCES);
      base = inheriting;
      if ((flags & O_ACCMODE) == O_WRONLY) base &= ~wasi::kRightFdRead;
      if ((flags & O_ACCMODE) == O_RDONLY) base &= ~wasi::kRightFdWrite;
    }
  }
  const bool create = (flags & O_CREAT) != 0;
  if (create && (flags & O_DIRECTORY)) return Error(EINVAL);  // as Linux >= 6.4
  {
    // Refuse early when the table is full, so a failed open creates nothing.
    MutexLock lock(&fd_mu_);
    if (open_fds_ >= options_.max_open_fds) return Error(EMFILE);
  }
  const bool excl = create && (flags & O_EXCL);
  const bool wants_write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  std::shared_ptr<Inode> inode;
  if (tmpfile) {
    if (auto made = OpenTmpfile(dir, path, flags, mode, &inode); !made.ok()) return Error(made.error());
    // Rule X4: the description keeps O_TMPFILE (its own bit and
    // O_DIRECTORY) in its status flags, which F_GETFL shows, as Linux's
    // f_flags.
  } else {
    WriterLock lock(&ns_mu_);
    // O_CREAT|O_EXCL never follows a final symlink (it exists: EEXIST), nor
    // does O_NOFOLLOW; a slash after the last name makes it follow for a
    // lookup, not for O_CREAT.
    const Final final = !create ? ((flags & O_NOFOLLOW) ? Final::kNoFollow : Final::kFollow)
                        : (excl || (flags & O_NOFOLLOW)) ? Final::kEntry
                                                         : Final::kCreate;
    auto found = Resolve(dir, path, final);
    if (!found.ok()) {
      // open_last_lookups decides EISDIR before it looks the last name up,
      // so a last name with a slash after it that a lookup would refuse (a
      // name too long, any name in a removed directory) is EISDIR too once
      // the directory before it resolves.
      if ((found.error() == ENAMETOOLONG || found.error() == ENOENT) && create) {
        if (auto before = DirBeforeSlashedLastName(path)) {
          auto parent = Resolve(dir, *before, Final::kFollow);
          if (!parent.ok()) return Error(parent.error());
          if (parent->inode == nullptr) return Error(ENOENT);
          if (!parent->inode->is_dir()) return Error(ENOTDIR);
          return Error(EISDIR);
        }
      }
      return Error(found.error());
    }
    // As Linux's open_last_lookups: O_CREAT with a slash after the last name
    // (in the path or in a followed symlink's target) is EISDIR whatever the
    // name is, once the components before it resolve.
    if (create && found->trailing_slash) return Error(EISDIR);
    if (found->inode == nullptr) {
      if (!create) return Error(ENOENT);
      auto made = CreateLocked(*found, S_IFREG | (mode & 07777), "", &inode);
      if (!made.ok()) return Error(made.error());
    } else {
      if (excl) return Error(EEXIST);
      Inode* target = found->inode;
      // As Linux's may_create_in_sticky, at the kernel's default
      // fs.protected_regular = fs.protected_fifos = 0: O_CREAT of an
      // existing file that is neither a regular file nor a FIFO (a symlink
      // not followed, a device, a socket) in a sticky world-writable
      // directory is EACCES, capabilities or not, unless the caller or the
      // directory's owner owns it (rule X1). A directory is EISDIR first.
      if (create && !target->is_dir() && !target->is_reg() && !target->is_fifo() &&
          !CreateInStickyAllowed(caller(), *found->parent, *target)) {
        return Error(EACCES);
      }
      // As Linux's do_open: O_DIRECTORY's ENOTDIR comes before may_open's
      // ELOOP for a final symlink not followed.
      if ((flags & O_DIRECTORY) && !target->is_dir()) return Error(ENOTDIR);
      if (target->is_symlink() && !(flags & O_PATH)) return Error(ELOOP);  // O_NOFOLLOW
      if (target->is_dir() && !(flags & O_PATH) && (wants_write || create)) return Error(EISDIR);
      if (!(flags & O_PATH)) {
        // Rule X1, may_open: read and write permission for the access mode.
        // O_TRUNC asks for write whatever the file's type (Linux's
        // build_open_flags), though only a regular file is truncated.
        // Access mode 3 asks for both, as Linux.
        const int acc = flags & O_ACCMODE;
        int mask = acc == O_RDONLY ? kMayRead : acc == O_WRONLY ? kMayWrite : kMayRead | kMayWrite;
        if (flags & O_TRUNC) mask |= kMayWrite;
        if (auto ok = CheckPermission(caller(), *target, mask); !ok.ok()) return Error(ok.error());
        // Rule X1, may_open: O_NOATIME needs the file's owner or
        // CAP_FOWNER (EPERM), after the permission check.
        if (flags & O_NOATIME) {
          MutexLock owner_lock(&target->mu);
          if (!OwnerOrCapableLocked(caller(), *target)) return Error(EPERM);
        }
        // Rule X5 [VFS choice]: no driver stands behind a device, and a
        // socket node is opened by connect(2), not open: ENXIO, as Linux
        // answers for a device with no driver and for a socket.
        if (target->is_special()) return Error(ENXIO);
        // Rule X6, as Linux's fifo_open: access mode 3 is EINVAL on a FIFO
        // (after may_open's checks).
        if (target->is_fifo() && acc == O_ACCMODE) return Error(EINVAL);
        // Rule X6: a FIFO opened for writing only, without blocking, with
        // no reader: ENXIO.
        if (target->is_fifo() && acc == O_WRONLY && (flags & O_NONBLOCK)) {
          MutexLock fifo_lock(&target->mu);
          if (target->fifo_readers == 0) return Error(ENXIO);
        }
      }
      inode = target->shared_from_this();
      if ((flags & O_TRUNC) && !(flags & O_PATH) && inode->is_reg()) {
        // As Linux, O_TRUNC truncates whatever the access mode.
        auto truncated = TruncateInode(*inode, 0);
        if (!truncated.ok()) return Error(truncated.error());
      }
    }
  }
  auto file = MakeOpenFile(inode, flags & ~(O_CREAT | O_EXCL | O_TRUNC));
  {
    const Credentials& opener = caller();
    file->opener = {opener.serial, opener.uid, opener.gid, opener.capabilities};
  }
  file->rights_base.store(base, std::memory_order_relaxed);
  file->rights_inheriting.store(inheriting, std::memory_order_relaxed);
  if (inode->is_fifo() && !file->is_path()) {
    MutexLock lock(&inode->mu);
    if (file->writable()) ++inode->fifo_writers;
    if (file->readable()) ++inode->fifo_readers;
  }
  {
    MutexLock lock(&file->err_mu);
    file->wb_cursor = SampleCursor(inode->wb_err);  // Rule W3
    file->sb_cursor = SampleCursor(sb_err_);
  }
  return InstallFd(std::move(file));
}

// Rule X4: an unnamed regular file in the directory `path` names. It has
// no link and no entry; it counts as an inode (max_inodes) like any other.
// Its record may reach the store (fsync), but no entry names it until
// LinkAt, so a mount frees it as an orphan.
Result<void> Filesystem::OpenTmpfile(Fd dir, std::string_view path, int flags, uint32_t mode,
                                     std::shared_ptr<Inode>* out) {
  WriterLock lock(&ns_mu_);
  // As Linux's do_tmpfile: the directory is looked up with LOOKUP_DIRECTORY
  // and follows a final symlink unless O_NOFOLLOW, so a symlink not
  // followed is ENOTDIR (a slash after it still makes it followed).
  auto found = Resolve(dir, path, (flags & O_NOFOLLOW) ? Final::kNoFollow : Final::kFollow);
  if (!found.ok()) return Error(found.error());
  if (found->inode == nullptr) return Error(ENOENT);
  Inode& parent = *found->inode;
  if (!parent.is_dir()) return Error(ENOTDIR);
  // A removed directory (rmdir'ed, still open or the working directory)
  // makes the file too, as tmpfs: vfs_tmpfile does not ask IS_DEADDIR, and
  // the file needs no entry there (rule X4).
  const Credentials& creds = caller();
  if (auto ok = CheckPermission(creds, parent, kMayWrite | kMayExec); !ok.ok()) return ok;
  if (accounts_->inodes.load(std::memory_order_relaxed) >= options_.max_inodes) {
    return Error(ENOSPC);
  }
  uint32_t bits = mode & 07777 & ~creds.umask;
  uint32_t gid = creds.gid;
  {
    MutexLock parent_lock(&parent.mu);
    if (parent.mode & S_ISGID) {
      gid = parent.gid;
      if ((bits & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && !creds.InGroup(gid) &&
          !creds.Has(kCapFsetid)) {
        bits &= ~S_ISGID;
      }
    }
  }
  if (next_ino_ > kMaxInodeNumber) return Error(ENOSPC);  // numbers never wrap
  std::shared_ptr<Inode> inode = NewInode(InodeId(next_ino_++), S_IFREG | bits);
  {
    MutexLock inode_lock(&inode->mu);
    inode->nlink = 0;
    inode->uid = creds.uid;
    inode->gid = gid;
  }
  {
    // Born an orphan that no stored entry names: if fsync sends it to the
    // store and it dies unnamed, its deleter frees it there at once
    // (docs/architecture.md, "Deleted files"). linkat takes it back out.
    MutexLock lock(&accounts_->mu);
    inode->orphan_listed = true;
    accounts_->orphans.try_emplace(inode->ino);
    OrphanUnnamedLocked(inode->ino, /*ticket=*/0);
  }
  // O_EXCL: never to be linked (linkat answers ENOENT).
  inode->set_linkable((flags & O_EXCL) == 0);
  *out = std::move(inode);
  return Ok();
}

// ---- Directories and links ----

Result<std::shared_ptr<Inode>> Filesystem::ResolveAtFlags(Fd dir, std::string_view path,
                                                           int at_flags, bool follow_default) {
  if (path.empty() && (at_flags & AT_EMPTY_PATH)) {
    if (dir == kCwd) {
      ReaderLock lock(&ns_mu_);
      return cwd_;
    }
    auto file = GetFile(dir);
    if (!file.ok()) return Error(EBADF);
    return (*file)->inode;
  }
  return ResolveInode(dir, path, follow_default && !(at_flags & AT_SYMLINK_NOFOLLOW));
}

// mkdir, mkfifo, mknod, symlink and link's new name are Linux's
// filename_create: whatever the last name is, a symlink included, it exists
// (EEXIST), and only mkdir may name a missing one with a trailing slash
// (else ENOENT).
Result<void> Filesystem::Mkdir(std::string_view path, uint32_t mode) {
  CallScope call(options_);
  return MkdirAt(kCwd, path, mode);
}

Result<void> Filesystem::MkdirAt(Fd dir, std::string_view path, uint32_t mode) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  WriterLock lock(&ns_mu_);
  auto found = Resolve(dir, path, Final::kEntry);
  if (!found.ok()) return Error(found.error());
  if (found->inode != nullptr) return Error(EEXIST);
  // As vfs_mkdir: the set-id bits of `mode` are not taken (a setgid parent
  // gives S_ISGID, rule X1).
  return CreateLocked(*found, S_IFDIR | (mode & 01777), "", nullptr);
}

Result<void> Filesystem::Mkfifo(std::string_view path, uint32_t mode) {
  CallScope call(options_);
  return CreateNode(kCwd, path, S_IFIFO | (mode & 07777), 0);
}

Result<void> Filesystem::MkfifoAt(Fd dir, std::string_view path, uint32_t mode) {
  CallScope call(options_);
  return CreateNode(dir, path, S_IFIFO | (mode & 07777), 0);
}

Result<void> Filesystem::Mknod(std::string_view path, uint32_t mode, uint64_t rdev) {
  CallScope call(options_);
  return MknodAt(kCwd, path, mode, rdev);
}

Result<void> Filesystem::MknodAt(Fd dir, std::string_view path, uint32_t mode, uint64_t rdev) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  // Rule X5, as Linux's may_mknod and vfs_mknod: type 0 is a regular file;
  // a directory or symlink, or an unknown type, is EINVAL; a device needs
  // CAP_MKNOD (checked after the name, as vfs_mknod does).
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  switch (type) {
    case S_IFREG: case S_IFIFO: case S_IFSOCK: case S_IFCHR: case S_IFBLK: break;
    case S_IFDIR: return Error(EPERM);
    default: return Error(EINVAL);
  }
  // Only devices keep a number, as tmpfs shows: st_rdev is 0 for the rest.
  if (type != S_IFCHR && type != S_IFBLK) rdev = 0;
  return CreateNode(dir, path, type | (mode & 07777), rdev);
}

Result<void> Filesystem::CreateNode(Fd dir, std::string_view path, uint32_t mode, uint64_t rdev) {
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  WriterLock lock(&ns_mu_);
  auto found = Resolve(dir, path, Final::kEntry);
  if (!found.ok()) return Error(found.error());
  if (found->inode != nullptr) return Error(EEXIST);
  if (found->trailing_slash) return Error(ENOENT);
  const uint32_t type = mode & S_IFMT;
  if ((type == S_IFCHR || type == S_IFBLK) && !caller().Has(kCapMknod)) {
    // vfs_mknod: may_create (EACCES) first, then CAP_MKNOD (EPERM).
    if (auto ok = CheckPermission(caller(), *found->parent, kMayWrite | kMayExec); !ok.ok()) {
      return ok;
    }
    return Error(EPERM);
  }
  std::shared_ptr<Inode> inode;
  if (auto made = CreateLocked(*found, mode, "", &inode); !made.ok()) return made;
  inode->set_rdev(rdev);
  return Ok();
}

Result<void> Filesystem::Symlink(std::string_view target, std::string_view path) {
  CallScope call(options_);
  return SymlinkAt(target, kCwd, path);
}

Result<void> Filesystem::SymlinkAt(std::string_view target, Fd dir, std::string_view path) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (target.empty()) return Error(ENOENT);
  if (target.find('\0') != std::string_view::npos) return Error(EINVAL);
  if (target.size() >= options_.max_path_length) return Error(ENAMETOOLONG);
  WriterLock lock(&ns_mu_);
  auto found = Resolve(dir, path, Final::kEntry);
  if (!found.ok()) return Error(found.error());
  if (found->inode != nullptr) return Error(EEXIST);
  if (found->trailing_slash) return Error(ENOENT);
  return CreateLocked(*found, S_IFLNK | 0777, target, nullptr);
}

Result<std::string> Filesystem::Readlink(std::string_view path) {
  CallScope call(options_);
  return ReadlinkAt(kCwd, path);
}

Result<std::string> Filesystem::ReadlinkAt(Fd dir, std::string_view path) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  // As Linux's do_readlinkat: an empty path reads the file `dir` is open
  // on, which must then be a symlink (ENOENT otherwise).
  auto inode = ResolveAtFlags(dir, path, path.empty() ? AT_EMPTY_PATH : 0, /*follow=*/false);
  if (!inode.ok()) return Error(inode.error());
  if (!(*inode)->is_symlink()) return Error(path.empty() ? ENOENT : EINVAL);
  return (*inode)->symlink_target();
}

Result<void> Filesystem::Rmdir(std::string_view path) {
  CallScope call(options_);
  return RemoveAt(kCwd, path, /*dir_only=*/true);
}

Result<void> Filesystem::Unlink(std::string_view path) {
  CallScope call(options_);
  return RemoveAt(kCwd, path, /*dir_only=*/false);
}

Result<void> Filesystem::UnlinkAt(Fd dir, std::string_view path, int flags) {
  CallScope call(options_);
  if (flags & ~AT_REMOVEDIR) return Error(EINVAL);
  return RemoveAt(dir, path, (flags & AT_REMOVEDIR) != 0);
}

Result<void> Filesystem::RemoveAt(Fd dir, std::string_view path, bool dir_only) {
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  FreeOnReturn free_dead{this};  // after the namespace lock is released
  WriterLock lock(&ns_mu_);
  auto found = Resolve(dir, path, Final::kEntry);
  if (!found.ok()) return Error(found.error());
  if (dir_only) {
    if (found->inode == nullptr) return Error(ENOENT);
    if (found->name.empty()) return Error(EBUSY);      // the root
    if (std::string_view(found->name) == ".") return Error(EINVAL);
    if (std::string_view(found->name) == "..") return Error(ENOTEMPTY);
  } else {
    // Rule X1, as Linux's do_unlinkat: a last name that is not a normal
    // name (the root, ".", "..") is EISDIR before may_delete's permission
    // and sticky checks.
    // (string_view: a std::string compared with a literal costs a strlen
    // and a compare call on every unlink.)
    if (const std::string_view name = found->name; name.empty() || name == "." || name == "..") {
      return Error(EISDIR);
    }
    if (found->inode == nullptr) return Error(ENOENT);
    // As Linux's do_unlinkat: a name followed by a slash must be a
    // directory, and the name itself is looked at, a symlink not followed.
    if (found->trailing_slash) return Error(found->inode->is_dir() ? EISDIR : ENOTDIR);
  }
  Inode& victim = *found->inode;
  Inode& parent = *found->parent;
  // Rule X1, may_delete: write and search on the directory, then the
  // sticky bit (EPERM), then the kind of the entry.
  const Credentials& creds = caller();
  if (auto ok = CheckPermission(creds, parent, kMayWrite | kMayExec); !ok.ok()) return ok;
  if (!StickyAllows(creds, parent, victim)) return Error(EPERM);
  if (dir_only) {
    if (!victim.is_dir()) return Error(ENOTDIR);
    if (!victim.children.empty()) return Error(ENOTEMPTY);
  } else if (victim.is_dir()) {
    return Error(EISDIR);
  }
  RemoveEntryLocked(parent, found->name);
  DropLinkLocked(victim);
  return Ok();
}

Result<void> Filesystem::Link(std::string_view from, std::string_view to) {
  CallScope call(options_);
  return LinkAt(kCwd, from, kCwd, to, 0);
}

Result<void> Filesystem::LinkAt(Fd from_dir, std::string_view from, Fd to_dir,
                                std::string_view to, int flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return Error(EINVAL);
  // AT_EMPTY_PATH: the file `from_dir` is open on (rule X4: an O_TMPFILE
  // file gets its name this way). Taken before the namespace lock.
  std::shared_ptr<Inode> by_fd;
  if (from.empty() && (flags & AT_EMPTY_PATH)) {
    if (from_dir == kCwd) {
      ReaderLock lock(&ns_mu_);
      by_fd = cwd_;
    } else {
      auto file = GetFile(from_dir);
      if (!file.ok()) return Error(EBADF);
      // Rule X4, as Linux (6.10 on): the descriptor must have been opened
      // under the caller's identity (as Linux compares f_cred with the
      // current cred; SetCredentials makes a new one each time, as
      // commit_creds), unless the caller has CAP_DAC_READ_SEARCH; else
      // ENOENT, before the new name is looked at.
      const Credentials& creds = caller();
      if (!(*file)->opener.Is(creds) && !creds.Has(kCapDacReadSearch)) return Error(ENOENT);
      by_fd = (*file)->inode;
    }
  }
  return LinkSource(std::move(by_fd), from_dir, from, to_dir, to, flags);
}

Result<void> Filesystem::LinkHandle(Fd node, Fd to_dir, std::string_view to) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  auto file = GetFile(node);
  if (!file.ok()) return Error(EBADF);
  return LinkSource((*file)->inode, node, "", to_dir, to, AT_EMPTY_PATH);
}

Result<void> Filesystem::LinkSource(std::shared_ptr<Inode> by_fd, Fd from_dir,
                                    std::string_view from, Fd to_dir, std::string_view to,
                                    int flags) {
  WriterLock lock(&ns_mu_);
  // As Linux's do_linkat: the source is looked up (a final symlink linked,
  // not followed, unless a slash follows it or AT_SYMLINK_FOLLOW), then the
  // new name is checked as filename_create does, then vfs_link checks
  // permission (may_create), refuses a directory, and a file with no link
  // left unless it is a linkable O_TMPFILE file.
  Inode* source = by_fd.get();
  if (source == nullptr) {
    auto src = Resolve(from_dir, from,
                       (flags & AT_SYMLINK_FOLLOW) ? Final::kFollow : Final::kNoFollow);
    if (!src.ok()) return Error(src.error());
    if (src->inode == nullptr) return Error(ENOENT);
    source = src->inode;
  }
  auto dst = Resolve(to_dir, to, Final::kEntry);
  if (!dst.ok()) return Error(dst.error());
  if (dst->inode != nullptr) return Error(EEXIST);
  if (dst->trailing_slash) return Error(ENOENT);
  Inode& inode = *source;
  const Credentials& creds = caller();
  // Rule X1, fs.protected_hardlinks as Linux's default (1), may_linkat:
  // before vfs_link's checks, a caller that neither owns the source nor has
  // CAP_FOWNER may link only a regular file that is not setuid nor
  // setgid-executable and that it may read and write; else EPERM (a
  // directory so included).
  bool owner = false;
  bool safe_source = false;
  {
    MutexLock inode_lock(&inode.mu);
    owner = OwnerOrCapableLocked(creds, inode);
    safe_source = inode.is_reg() && !(inode.mode & S_ISUID) &&
                  (inode.mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP);
  }
  if (!owner && !(safe_source && CheckPermission(creds, inode, kMayRead | kMayWrite).ok())) {
    return Error(EPERM);
  }
  if (auto ok = CheckPermission(creds, *dst->parent, kMayWrite | kMayExec); !ok.ok()) return ok;
  if (inode.is_dir()) return Error(EPERM);
  if (inode.anonymous) return Error(ENOENT);  // a pipe has no filesystem
  bool revive = false;
  {
    MutexLock inode_lock(&inode.mu);
    if (inode.nlink == 0) {
      if (!inode.linkable()) return Error(ENOENT);
      revive = true;
    }
  }
  if (dst->parent->children.size() >= options_.max_dir_entries) return Error(ENOSPC);
  if (revive) {
    // Rule X4: the unnamed file joins the tree; once named it is an
    // ordinary file (linkat may name it once more only through a link).
    inodes_.emplace(inode.ino, inode.shared_from_this());
    inode.set_linkable(false);
    MutexLock lock(&accounts_->mu);
    accounts_->orphans.erase(inode.ino);  // named again: no longer to be freed
  }
  AddEntryLocked(*dst->parent, dst->name, inode);
  MutexLock inode_lock(&inode.mu);
  ++inode.nlink;
  TouchLocked(inode, /*mtime=*/false, /*ctime=*/true);
  return Ok();
}

Result<void> Filesystem::Rename(std::string_view from, std::string_view to, unsigned flags) {
  CallScope call(options_);
  return RenameAt(kCwd, from, kCwd, to, flags);
}

Result<void> Filesystem::RenameAt(Fd from_dir_fd, std::string_view from, Fd to_dir_fd,
                                  std::string_view to, unsigned flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (flags & ~(kRenameNoReplace | kRenameExchange)) return Error(EINVAL);
  if ((flags & kRenameNoReplace) && (flags & kRenameExchange)) return Error(EINVAL);
  FreeOnReturn free_dead{this};  // a replaced file, after the namespace lock
  WriterLock lock(&ns_mu_);
  // The order of Linux's do_renameat2: both parents, then "." / ".." / the
  // root (EBUSY; EEXIST for the target with RENAME_NOREPLACE), the lookup
  // of the old last name (ENOENT in a removed directory, ENAMETOOLONG, then
  // ENOENT for a missing source), the same lookup of the new one,
  // RENAME_NOREPLACE, RENAME_EXCHANGE's target, then trailing slashes,
  // which need a directory on their side (neither last name is followed).
  auto src = Resolve(from_dir_fd, from, Final::kEntry, /*defer_last_lookup=*/true);
  if (!src.ok()) return Error(src.error());
  auto dst = Resolve(to_dir_fd, to, Final::kEntry, /*defer_last_lookup=*/true);
  if (!dst.ok()) return Error(dst.error());
  auto special = [](std::string_view name) { return name.empty() || name == "." || name == ".."; };
  if (special(src->name)) return Error(EBUSY);
  if (special(dst->name)) return Error((flags & kRenameNoReplace) ? EEXIST : EBUSY);
  auto last_lookup = [this](const Lookup& at) ABSL_SHARED_LOCKS_REQUIRED(ns_mu_) -> int {
    if (at.parent->parent == nullptr) return ENOENT;  // a removed directory (IS_DEADDIR)
    if (at.name.size() > options_.max_name_length) return ENAMETOOLONG;
    return 0;
  };
  if (int e = last_lookup(*src); e != 0) return Error(e);
  if (src->inode == nullptr) return Error(ENOENT);
  if (int e = last_lookup(*dst); e != 0) return Error(e);
  Inode* moving = src->inode;
  Inode* replaced = dst->inode;
  if (replaced != nullptr && (flags & kRenameNoReplace)) return Error(EEXIST);
  if (flags & kRenameExchange) {
    if (replaced == nullptr) return Error(ENOENT);
    if (dst->trailing_slash && !replaced->is_dir()) return Error(ENOTDIR);
  }
  if (!moving->is_dir()) {
    if (src->trailing_slash) return Error(ENOTDIR);
    if (!(flags & kRenameExchange) && dst->trailing_slash) return Error(ENOTDIR);
  }
  // A directory may not move into its own subtree.
  auto inside = [this](Inode* dir, Inode* ancestor) ABSL_SHARED_LOCKS_REQUIRED(ns_mu_) {
    for (Inode* at = dir; ; at = at->parent) {
      if (at == ancestor) return true;
      if (at == root_.get() || at->parent == nullptr) return false;
    }
  };
  if (moving->is_dir() && inside(dst->parent, moving)) return Error(EINVAL);
  // A target that is an ancestor of the source (lock_rename's trap on the
  // new side): ENOTEMPTY, EINVAL for an exchange, before the types or the
  // permissions are looked at.
  if (replaced != nullptr && replaced->is_dir() && inside(src->parent, replaced)) {
    return Error((flags & kRenameExchange) ? EINVAL : ENOTEMPTY);
  }
  if (replaced == moving) return Ok();  // the same file: nothing to do (POSIX)
  // Rule X1, vfs_rename: may_delete on the source, may_create or
  // may_delete on the target, and write on a directory that changes parent
  // (its ".." changes).
  const Credentials& creds = caller();
  if (auto ok = CheckPermission(creds, *src->parent, kMayWrite | kMayExec); !ok.ok()) return ok;
  if (!StickyAllows(creds, *src->parent, *moving)) return Error(EPERM);
  if (auto ok = CheckPermission(creds, *dst->parent, kMayWrite | kMayExec); !ok.ok()) return ok;
  if (replaced != nullptr && !StickyAllows(creds, *dst->parent, *replaced)) return Error(EPERM);
  if (src->parent != dst->parent) {
    if (moving->is_dir()) {
      if (auto ok = CheckPermission(creds, *moving, kMayWrite); !ok.ok()) return ok;
    }
    if ((flags & kRenameExchange) && replaced->is_dir()) {
      if (auto ok = CheckPermission(creds, *replaced, kMayWrite); !ok.ok()) return ok;
    }
  }
  if (replaced != nullptr && !(flags & kRenameExchange)) {
    if (moving->is_dir() && !replaced->is_dir()) return Error(ENOTDIR);
    if (!moving->is_dir() && replaced->is_dir()) return Error(EISDIR);
    if (replaced->is_dir() && !replaced->children.empty()) return Error(ENOTEMPTY);
  }
  if (replaced == nullptr && src->parent != dst->parent &&
      dst->parent->children.size() >= options_.max_dir_entries) {
    return Error(ENOSPC);
  }

  // Every check passed; from here the change cannot fail.
  Inode& from_dir = *src->parent;
  Inode& to_dir = *dst->parent;
  if (flags & kRenameExchange) {
    NotePendingLocked(from_dir, src->name, replaced->ino, moving->ino);
    from_dir.children.insert_or_assign(src->name, replaced);
    NotePendingLocked(to_dir, dst->name, moving->ino, replaced->ino);
    to_dir.children.insert_or_assign(dst->name, moving);
    if (&from_dir != &to_dir) {
      if (moving->is_dir()) moving->parent = &to_dir;
      if (replaced->is_dir()) replaced->parent = &from_dir;
      const int delta = int{moving->is_dir()} - int{replaced->is_dir()};
      MutexLock a(&from_dir.mu);
      from_dir.nlink -= delta;
      TouchLocked(from_dir, true, true);
    }
    {
      MutexLock b(&to_dir.mu);
      if (&from_dir != &to_dir) to_dir.nlink += int{moving->is_dir()} - int{replaced->is_dir()};
      TouchLocked(to_dir, true, true);
    }
    for (Inode* inode : {moving, replaced}) {
      MutexLock c(&inode->mu);
      TouchLocked(*inode, /*mtime=*/false, /*ctime=*/true);
    }
    return Ok();
  }
  std::shared_ptr<Inode> keep = moving->shared_from_this();
  if (replaced != nullptr) {
    RemoveEntryLocked(to_dir, dst->name);
    DropLinkLocked(*replaced);
  }
  RemoveEntryLocked(from_dir, src->name);
  AddEntryLocked(to_dir, dst->name, *moving);
  if (moving->is_dir()) moving->parent = &to_dir;
  MutexLock moved_lock(&moving->mu);
  TouchLocked(*moving, /*mtime=*/false, /*ctime=*/true);
  return Ok();
}

Result<std::pair<Fd, Fd>> Filesystem::Pipe() {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  {
    MutexLock lock(&fd_mu_);
    if (open_fds_ + 2 > options_.max_open_fds) return Error(EMFILE);
  }
  auto inode = std::make_shared<Inode>(InodeId(0), S_IFIFO | 0600, page_size_);
  inode->anonymous = true;
  {
    MutexLock lock(&inode->mu);
    inode->mode = S_IFIFO | 0600;
    inode->nlink = 1;
    inode->atime = inode->mtime = inode->ctime = Now();
    inode->fifo_writers = 1;
    inode->fifo_readers = 1;
  }
  auto read_end = InstallFd(MakeOpenFile(inode, O_RDONLY));
  if (!read_end.ok()) return Error(read_end.error());
  auto write_end = InstallFd(MakeOpenFile(inode, O_WRONLY));
  if (!write_end.ok()) {
    // Only a racing open can fill the table between the check and here.
    (void)Close(*read_end);
    return Error(write_end.error());
  }
  return std::make_pair(*read_end, *write_end);
}

Result<void> Filesystem::Chdir(std::string_view path) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  WriterLock lock(&ns_mu_);
  auto found = Resolve(kCwd, path, Final::kFollow);
  if (!found.ok()) return Error(found.error());
  if (found->inode == nullptr) return Error(ENOENT);
  if (!found->inode->is_dir()) return Error(ENOTDIR);
  // Rule X1: chdir needs search permission on the directory itself.
  if (auto ok = CheckPermission(caller(), *found->inode, kMayExec); !ok.ok()) return ok;
  cwd_ = found->inode->shared_from_this();
  return Ok();
}

Result<std::string> Filesystem::Getcwd() {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  ReaderLock lock(&ns_mu_);
  std::vector<std::string> names;
  size_t length = 1;  // the final NUL
  for (Inode* at = cwd_.get(); at != root_.get(); at = at->parent) {
    Inode* parent = at->parent;
    if (parent == nullptr) return Error(ENOENT);  // the directory was removed
    std::string name;
    for (const auto& [entry, child] : parent->children) {
      if (child == at) name = entry;
    }
    // As Linux's getcwd: a path longer than PATH_MAX (with its NUL) is
    // ENAMETOOLONG, found as soon as the walk up passes the limit, so a deep
    // tree costs at most PATH_MAX / 2 levels here.
    length += 1 + name.size();
    if (length > options_.max_path_length) return Error(ENAMETOOLONG);
    names.push_back(std::move(name));
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) path += "/" + *it;
  return path.empty() ? std::string("/") : path;
}

Result<std::vector<DirEntry>> Filesystem::ReadDir(Fd fd, size_t max) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  if (file.is_path()) return Error(EBADF);
  if (auto allowed = CheckRights(file, wasi::kRightFdReaddir); !allowed.ok()) return Error(allowed.error());
  Inode& dir = *file.inode;
  if (!dir.is_dir()) return Error(ENOTDIR);
  ReaderLock lock(&ns_mu_);
  MutexLock pos_lock(&file.pos_mu);
  std::vector<DirEntry> out;
  // A removed directory: ENOENT, as Linux's iterate_dir for a dead one.
  if (dir.parent == nullptr) return Error(ENOENT);
  while (out.size() < max && file.dir_stage != kDirPastEnd) {
    if (file.dir_stage == 0) {
      out.push_back({dir.ino, DT_DIR, "."});
      file.dir_stage = 1;
    } else if (file.dir_stage == 1) {
      out.push_back({dir.parent->ino, DT_DIR, ".."});
      file.dir_stage = 2;
      file.dir_last.clear();
    } else {
      auto it = file.dir_last.empty() ? dir.children.begin() : dir.children.upper_bound(file.dir_last);
      if (it == dir.children.end()) break;
      out.push_back({it->second->ino, DirentType(*it->second), it->first});
      file.dir_last = it->first;
    }
    ++file.offset;  // the position lseek reports and takes (tmpfs's count)
  }
  return out;
}

Result<size_t> Filesystem::PendingEntryCount(std::string_view path) {
  ReaderLock lock(&ns_mu_);
  auto found = Resolve(kCwd, path, Final::kFollow);
  if (!found.ok()) return Error(found.error());
  if (found->inode == nullptr) return Error(ENOENT);
  if (!found->inode->is_dir()) return Error(ENOTDIR);
  return found->inode->pending_entries.size();
}

}  // namespace vfs
