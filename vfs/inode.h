// Inode: one file, directory, symlink or FIFO in memory, with its dirty state.
//
// Fields that change together live behind one lock (`mu`): attributes, the
// dirty flags (rule M2), the page cache, and what the VFS knows of the
// inode's durable record. The directory tree (children, parent, pending
// entry changes) is guarded by the Filesystem's namespace lock instead,
// because path operations change several directories at once.
//
// Internal header: not part of the public API.
#ifndef VFS_INODE_H_
#define VFS_INODE_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"
#include "vfs/errseq.h"
#include "vfs/internal/mutex.h"
#include "vfs/page_cache.h"
#include "vfs/types.h"

namespace vfs {

// Rule M2: inode dirty flags. kDirtyTime excludes the other two.
enum DirtyFlag : uint8_t {
  kDirtySync = 1,      // attributes fdatasync does not need (timestamps, mode)
  kDirtyDatasync = 2,  // attributes data access needs (size, allocation)
  kDirtyTime = 4,      // timestamps changed under lazytime
};

struct Inode : std::enable_shared_from_this<Inode> {
  Inode(InodeId ino, uint32_t mode, uint32_t page_size)
      : ino(ino), type(mode & S_IFMT), pages(S_ISREG(mode) ? page_size : 0) {}

  bool is_dir() const { return S_ISDIR(type); }
  bool is_reg() const { return S_ISREG(type); }
  bool is_symlink() const { return S_ISLNK(type); }
  bool is_fifo() const { return S_ISFIFO(type); }

  // Fields are ordered by size so the struct packs without holes: every
  // file pays for this layout (docs/benchmarks.md, memory per empty file).
  const InodeId ino;
  const uint32_t type;  // S_IFMT bits; never changes
  uint32_t mode ABSL_GUARDED_BY(mu) = 0;  // type | permission bits
  uint32_t uid ABSL_GUARDED_BY(mu) = 0;
  uint32_t gid ABSL_GUARDED_BY(mu) = 0;
  Mutex mu;
  int fifo_writers ABSL_GUARDED_BY(mu) = 0;
  uint64_t nlink ABSL_GUARDED_BY(mu) = 0;
  uint64_t size ABSL_GUARDED_BY(mu) = 0;
  Timespec atime ABSL_GUARDED_BY(mu), mtime ABSL_GUARDED_BY(mu), ctime ABSL_GUARDED_BY(mu);
  PageCache pages ABSL_GUARDED_BY(mu);    // regular files only
  // What the store holds: whether a record was sent (has_record); whether
  // the store may hold pages, so a dead inode must be freed there
  // (has_store_pages); and a shrinking truncation not yet sent (truncated):
  // the smallest size since the last record, and the generation the
  // truncation took (pages written later carry it).
  uint64_t min_size ABSL_GUARDED_BY(mu) = 0;
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  // Symlinks: the target, set at creation, then immutable; "" for others.
  const std::string& symlink_target() const {
    static const std::string kNone;
    return extra_ != nullptr ? extra_->symlink_target : kNone;
  }
  void set_symlink_target(std::string_view target) {
    if (target.empty() && extra_ == nullptr) return;
    if (extra_ == nullptr) extra_ = std::make_unique<Extra>();
    extra_->symlink_target = target;
  }
  // A removed directory: the directory it was removed from, kept alive so
  // that ".." still names it, as a Linux dentry keeps its d_parent. Null
  // for any other inode. Guarded by Filesystem::ns_mu_.
  Inode* removed_from() const { return extra_ != nullptr ? extra_->removed_from.get() : nullptr; }
  void set_removed_from(std::shared_ptr<Inode> parent) {
    if (extra_ == nullptr) extra_ = std::make_unique<Extra>();
    extra_->removed_from = std::move(parent);
  }
  // FIFOs and pipes: the bytes written and not yet read; allocated at the
  // first write. Kinds' own parts sit behind pointers so a regular file
  // does not pay for them.
  std::unique_ptr<std::string> fifo_data ABSL_GUARDED_BY(mu);
  // What only symlinks (the target), removed directories (the old parent)
  // and directories whose pending changes hide stored names need, behind
  // one pointer.
  struct Extra {
    std::string symlink_target;
    std::shared_ptr<Inode> removed_from;
    std::unique_ptr<absl::btree_map<std::string, InodeId, std::less<>>> stored_under;
  };
  std::unique_ptr<Extra> extra_;
  // Pages of max_bytes that fifo_data holds (named FIFOs only).
  uint64_t fifo_pages ABSL_GUARDED_BY(mu) = 0;

  // Rule M5: the writeback error sequence.
  Errseq wb_err;
  // Entries the store may hold that name this inode: a PutDirent sent, and
  // no removal of it sent since. An unlinked inode is freed in the store only
  // once this is 0 (docs/architecture.md, "Deleted files"). Guarded by
  // Filesystem::ns_mu_; when the last name goes, the count moves to the
  // filesystem's orphan table (Accounts::orphans).
  uint32_t store_links = 0;
  // Rule W6 (kLegacyFlags): AS_EIO / AS_ENOSPC, cleared by the first check.
  static constexpr uint8_t kAsEio = 1;
  static constexpr uint8_t kAsEnospc = 2;
  std::atomic<uint8_t> legacy_errors{0};
  uint8_t dirty ABSL_GUARDED_BY(mu) = 0;  // DirtyFlag bits
  bool has_record ABSL_GUARDED_BY(mu) = false;
  bool has_store_pages ABSL_GUARDED_BY(mu) = false;
  bool truncated ABSL_GUARDED_BY(mu) = false;
  // Rule O6: an O_DEFER description dirtied pages; sync() and syncfs() skip
  // the file until a sync call leaves it without dirty pages.
  bool deferred ABSL_GUARDED_BY(mu) = false;
  bool anonymous = false;   // a pipe: no name, never stored

  // Guarded by Filesystem::ns_mu_.
  absl::btree_map<std::string, Inode*, std::less<>> children;  // directories
  // Rule D3: entry changes not yet durable, by name: the inode now there, or
  // InodeId(0) for a removal.
  absl::btree_map<std::string, InodeId, std::less<>> pending_entries;
  // Of those, the names whose change hides an entry the store holds: the
  // inode it names there, whose store_links the change drops when it is
  // sent. Apart, and behind Extra's pointer, so that creating a file (whose
  // name hides nothing) costs no more.
  using StoredNames = absl::btree_map<std::string, InodeId, std::less<>>;
  const StoredNames* stored_under() const {
    return extra_ != nullptr ? extra_->stored_under.get() : nullptr;
  }
  StoredNames& mutable_stored_under() {
    if (extra_ == nullptr) extra_ = std::make_unique<Extra>();
    if (extra_->stored_under == nullptr) extra_->stored_under = std::make_unique<StoredNames>();
    return *extra_->stored_under;
  }
  std::unique_ptr<StoredNames> take_stored_under() {
    return extra_ != nullptr ? std::move(extra_->stored_under) : nullptr;
  }
  // Directories: the parent (the root is its own); null once removed.
  Inode* parent = nullptr;
};

}  // namespace vfs

#endif  // VFS_INODE_H_
