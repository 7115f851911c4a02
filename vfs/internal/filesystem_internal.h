// Private parts of Filesystem shared by its .cc files.
#ifndef VFS_INTERNAL_FILESYSTEM_INTERNAL_H_
#define VFS_INTERNAL_FILESYSTEM_INTERNAL_H_

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "vfs/filesystem.h"
#include "vfs/inode.h"
#include "vfs/internal/mutex.h"
#include "vfs/open_file.h"
#include "vfs/options.h"

namespace vfs {

// The result of resolving a path. Valid while the namespace lock is held.
struct Filesystem::Lookup {
  Inode* parent = nullptr;  // the directory that holds `name`
  std::string name;         // the last component: "" for the root, or "." / ".."
  Inode* inode = nullptr;   // what the path names; null if it does not exist
  // A slash follows the last name, which is not ".", ".." or the root: in
  // the path, or in the target of a final symlink that was followed.
  bool trailing_slash = false;
};

struct Filesystem::Accounts {
  std::atomic<uint64_t> used_pages{0};  // allocated pages, cached or on store
  std::atomic<uint64_t> inodes{0};      // live named inodes
  std::atomic<uint64_t> cached_pages{0};  // pages in every inode's cache
  // Page bytes the store may still hold for deleted files whose removal is
  // not yet durable (StatFs::unlinked_bytes): not in used_pages.
  std::atomic<uint64_t> unlinked_bytes{0};
  // ready.size(), read without the lock on every call that may free.
  std::atomic<size_t> ready_count{0};

  // An unlinked inode (nlink 0) the store may still hold or name. Deleted
  // files give their store data back once both their last reference is gone
  // (dead) and no entry the store may hold names them (store_links 0); the
  // FreeInode waits for the removal that took the last such entry (`after`)
  // to be durable (docs/architecture.md, "Deleted files").
  struct Orphan {
    uint32_t store_links = 0;  // Inode::store_links, moved here at nlink 0
    Ticket after = 0;          // the batch that sent the last removal
    bool dead = false;
    uint64_t bytes = 0;        // once dead: its page bytes (unlinked_bytes)
    // A removed directory: the inodes its stored entries name. They count
    // until the directory itself is durably unreachable.
    std::vector<InodeId> names_inside;
  };
  // Dead, and no stored entry names them: FreeInode due once `after` is
  // durable.
  struct Ready {
    InodeId ino;
    Ticket after = 0;
    uint64_t bytes = 0;
  };
  // Lock order: after the namespace and inode locks, before the store's.
  // The inode deleter takes it, so it is never held while an inode may die.
  Mutex mu;
  absl::flat_hash_map<InodeId, Orphan> orphans ABSL_GUARDED_BY(mu);
  std::vector<Ready> ready ABSL_GUARDED_BY(mu);
  // A directory write or a flush the frees depend on failed: the store may
  // hold entries the counts do not know of, so nothing more is freed until
  // the next mount, whose repair frees every inode no entry reaches.
  bool frees_stopped ABSL_GUARDED_BY(mu) = false;
};

inline constexpr PageIndex kLastPage{~uint64_t{0}};

// Rule X2: the pages of max_bytes a set of extended attributes holds (its
// names and values, rounded up to whole pages).
uint64_t XattrPages(const Inode::XattrMap& xattrs, uint32_t page_size);

// Rule X1: the access a permission check asks for (Linux's MAY_* bits).
inline constexpr int kMayExec = 1;
inline constexpr int kMayWrite = 2;
inline constexpr int kMayRead = 4;

// Linux's generic_permission: the owner's, the group's or the others' bits
// decide (the first class the caller is in), then the capabilities
// override. Requires inode.mu.
bool PermittedLocked(const Credentials& creds, const Inode& inode, int mask);
// The same, EACCES when refused. Takes inode.mu only when the capabilities
// alone do not decide, so root pays no lock.
Result<void> CheckPermission(const Credentials& creds, Inode& inode, int mask);
// inode_owner_or_capable: the owner, or CAP_FOWNER. Requires inode.mu.
inline bool OwnerOrCapableLocked(const Credentials& creds, const Inode& inode)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return creds.uid == inode.uid || creds.Has(kCapFowner);
}
// may_delete's sticky check: in a sticky directory only the entry's owner,
// the directory's owner or CAP_FOWNER may remove or replace an entry. Takes
// both inodes' locks in turn.
bool StickyAllows(const Credentials& creds, Inode& dir, Inode& victim);
// may_create_in_sticky's answer for an existing `file` that O_CREAT opens
// in `dir`: true unless `dir` is sticky and world-writable and neither the
// caller's fsuid nor the directory's owner owns `file` (no capability
// overrides it). Takes both inodes' locks in turn.
bool CreateInStickyAllowed(const Credentials& creds, Inode& dir, Inode& file);
// Rule X1 (file_remove_privs): the S_ISUID bit, and S_ISGID with
// group-execute, that a write or truncation by `creds` clears; 0 with
// CAP_FSETID. Requires inode.mu.
uint32_t PrivsToClearLocked(const Credentials& creds, const Inode& inode);

// Runs Options::after_call when the outermost public call of this thread
// returns. With no hook set it costs one test on entry and one on return:
// the depth is only counted when there is a hook to run.
class CallScope {
 public:
  explicit CallScope(const Options& options)
      : hook_(options.after_call ? &options.after_call : nullptr) {
    if (hook_ != nullptr) ++depth_;
  }
  ~CallScope() {
    if (hook_ != nullptr && --depth_ == 0) (*hook_)();
  }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  static inline thread_local int depth_ = 0;
  const std::function<void()>* hook_;
};

// Inline: every write asks (ShrinkCacheIfOver).
inline bool Filesystem::CacheOverLimit() const {
  return accounts_->cached_pages.load(std::memory_order_relaxed) > cache_limit_pages_;
}

inline Result<void> Filesystem::CheckAlive() const {
  if (stopped_.load(std::memory_order_relaxed)) return Error(EIO);
  return Ok();
}

inline Result<void> Filesystem::CheckRights(const OpenFile& file, uint64_t needed) const {
  // One relaxed load: rights only narrow, and a call racing with SetRights
  // may see either value, as it may run before or after it.
  if ((file.rights_base.load(std::memory_order_relaxed) & needed) == needed) [[likely]] {
    return Ok();
  }
  return MissingRight();
}

}  // namespace vfs

#endif  // VFS_INTERNAL_FILESYSTEM_INTERNAL_H_
