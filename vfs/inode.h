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
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "vfs/errseq.h"
#include "vfs/internal/mutex.h"
#include "vfs/page_cache.h"
#include "vfs/types.h"

namespace vfs {

// Inode::truncations: the shrinking truncations not yet sent to the store,
// as (size, generation) pairs, oldest first. One pointer wide when there are
// none (the common case), so an inode costs no more than the flag and size
// it replaced.
class PendingTruncations {
 public:
  using Entry = std::pair<uint64_t, uint64_t>;  // size, generation
  PendingTruncations() = default;
  PendingTruncations(const PendingTruncations& other)
      : list_(other.list_ ? std::make_unique<std::vector<Entry>>(*other.list_) : nullptr) {}
  PendingTruncations& operator=(PendingTruncations&& other) noexcept = default;
  PendingTruncations(PendingTruncations&& other) noexcept = default;

  bool empty() const { return list_ == nullptr || list_->empty(); }
  void clear() { list_.reset(); }
  const Entry* begin() const { return list_ ? list_->data() : nullptr; }
  const Entry* end() const { return list_ ? list_->data() + list_->size() : nullptr; }

  // Adds a truncation to `size` with `generation` (the newest), dropping the
  // pending ones it makes redundant: a truncation to a size at or below an
  // earlier one's drops every page that one dropped, and zeroes at least as
  // much of the page holding its size.
  void Add(uint64_t size, uint64_t generation) {
    if (list_ == nullptr) list_ = std::make_unique<std::vector<Entry>>();
    while (!list_->empty() && list_->back().first >= size) list_->pop_back();
    list_->emplace_back(size, generation);
  }
  // After a record that carried `sent` failed: they are pending again,
  // before any made since.
  void Restore(const PendingTruncations& sent) {
    PendingTruncations merged = sent;
    for (const auto& [size, generation] : *this) merged.Add(size, generation);
    *this = std::move(merged);
  }

 private:
  std::unique_ptr<std::vector<Entry>> list_;
};


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
  // Rule X5: device and socket nodes, which the VFS keeps but cannot open.
  bool is_special() const { return S_ISCHR(type) || S_ISBLK(type) || S_ISSOCK(type); }

  // Fields are ordered by size so the struct packs without holes: every
  // file pays for this layout (docs/benchmarks.md, memory per empty file).
  const InodeId ino;
  const uint32_t type;  // S_IFMT bits; never changes
  uint32_t mode ABSL_GUARDED_BY(mu) = 0;  // type | permission bits
  uint32_t uid ABSL_GUARDED_BY(mu) = 0;
  uint32_t gid ABSL_GUARDED_BY(mu) = 0;
  Mutex mu;
  int fifo_writers ABSL_GUARDED_BY(mu) = 0;
  int fifo_readers ABSL_GUARDED_BY(mu) = 0;  // rule X6
  // A directory's entries (children.size()), kept under `mu` so that a stat
  // reads it without the namespace lock: st_size is 40 + 20 per entry, as
  // tmpfs counts (rule V1). Here it fills the hole before nlink.
  uint32_t dir_entries ABSL_GUARDED_BY(mu) = 0;
  uint64_t nlink ABSL_GUARDED_BY(mu) = 0;
  uint64_t size ABSL_GUARDED_BY(mu) = 0;
  Timespec atime ABSL_GUARDED_BY(mu), mtime ABSL_GUARDED_BY(mu), ctime ABSL_GUARDED_BY(mu);
  PageCache pages ABSL_GUARDED_BY(mu);    // regular files only
  // What the store holds: whether a record was sent (has_record); whether
  // the store may hold pages, so a dead inode must be freed there
  // (has_store_pages); and the shrinking truncations not yet sent, as
  // (size, generation) pairs, oldest first (the generation is the one each
  // truncation took; pages written later carry the latest, `generation`).
  // Each goes to the store as its own Truncate with the next record: one
  // Truncate of the smallest size with the latest generation would drop
  // pages sent between two truncations below the later one's size. A
  // truncation to a size at or below an earlier pending one's makes that
  // one redundant, so the sizes grow along the list.
  PendingTruncations truncations ABSL_GUARDED_BY(mu);
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
  // Rule X5: a device's number (0 for every other inode). Set at creation.
  uint64_t rdev() const { return extra_ != nullptr ? extra_->rdev : 0; }
  void set_rdev(uint64_t rdev) {
    if (rdev == 0 && extra_ == nullptr) return;
    if (extra_ == nullptr) extra_ = std::make_unique<Extra>();
    extra_->rdev = rdev;
  }
  // Rule X2: extended attributes, by full name ("user.x"). Null until the
  // first is set. Guarded by mu.
  using XattrMap = absl::btree_map<std::string, std::string, std::less<>>;
  const XattrMap* xattrs() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return extra_ != nullptr ? extra_->xattrs.get() : nullptr;
  }
  XattrMap& mutable_xattrs() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (extra_ == nullptr) extra_ = std::make_unique<Extra>();
    if (extra_->xattrs == nullptr) extra_->xattrs = std::make_unique<XattrMap>();
    return *extra_->xattrs;
  }
  // Pages of max_bytes the attributes hold (rule X2 quota).
  uint64_t xattr_pages() const { return extra_ != nullptr ? extra_->xattr_pages : 0; }
  void set_xattr_pages(uint64_t pages) {
    if (extra_ == nullptr) extra_ = std::make_unique<Extra>();
    extra_->xattr_pages = pages;
  }
  // Rule X3: hole punches not yet sent to the store: {first page, end page
  // (exclusive), generation}. Guarded by mu.
  struct Punch {
    uint64_t first;
    uint64_t end;
    uint64_t generation;
  };
  std::vector<Punch>* punches() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return extra_ != nullptr ? &extra_->punches : nullptr;
  }
  std::vector<Punch>& mutable_punches() {
    if (extra_ == nullptr) extra_ = std::make_unique<Extra>();
    return extra_->punches;
  }
  // Rule X4: an O_TMPFILE inode opened without O_EXCL may be given a name.
  bool linkable() const { return extra_ != nullptr && extra_->linkable; }
  void set_linkable(bool linkable) {
    if (!linkable && extra_ == nullptr) return;
    if (extra_ == nullptr) extra_ = std::make_unique<Extra>();
    extra_->linkable = linkable;
  }
  // FIFOs and pipes: the bytes written and not yet read; allocated at the
  // first write. Kinds' own parts sit behind pointers so a regular file
  // does not pay for them.
  std::unique_ptr<std::string> fifo_data ABSL_GUARDED_BY(mu);
  // What only symlinks (the target), removed directories (the old parent),
  // devices (rdev), unnamed files, files with extended attributes and
  // directories whose pending changes hide stored names need, behind one
  // pointer.
  struct Extra {
    std::string symlink_target;
    std::shared_ptr<Inode> removed_from;
    uint64_t rdev = 0;
    std::unique_ptr<XattrMap> xattrs;
    uint64_t xattr_pages = 0;
    std::vector<Punch> punches;
    bool linkable = false;
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
  // Rule O6: an O_DEFER description dirtied pages; sync() and syncfs() skip
  // the file until a sync call leaves it without dirty pages.
  bool deferred ABSL_GUARDED_BY(mu) = false;
  bool anonymous = false;   // a pipe: no name, never stored
  // An entry of Accounts::orphans may name this inode (set under
  // Accounts::mu before the entry is made, never cleared): only then does
  // its deleter look there.
  bool orphan_listed = false;

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

// Every file pays for this layout. At 312 bytes an inode takes the 320-byte
// class of glibc's malloc; one more field past a hole moves it to the next
// class, 16 bytes per file, against a limit of 512 per empty file
// (docs/benchmarks.md, "heap per empty file"). A new field goes into a hole.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Inode) <= 312, "Inode grew past 312 bytes: put the new field in a hole");
#endif

}  // namespace vfs

#endif  // VFS_INODE_H_
