// Store: where the VFS commits dirty state, and what a mount reads back.
//
// The VFS speaks to a store in requests that name objects, not disk blocks
// (a page of an inode, an inode record, a directory entry), so each store
// chooses its own layout and the crash semantics are the same for all.
//
// Durability levels, in the order a request passes through them:
//  - Submitted: Submit() accepted the request. It may be lost in a crash.
//  - Completed: Wait() on its ticket returned. If the store has no volatile
//    cache (has_volatile_cache() is false), a completed request is durable.
//  - Durable: completed, and, on a store with a volatile cache, followed by a
//    successful Flush(). Load() after any crash returns every durable request.
// Requests complete in submission order: Wait(t) completes every ticket up to
// t, so a later request never lands before an earlier one it overrides.
//
// Usage:
//   std::shared_ptr<vfs::Store> store = vfs::NewMemoryStore({});
//   auto fs = vfs::Filesystem::Mount(store, {});   // formats an empty store
//   ...
//   store->Crash();                                // drop all but durable
//   auto again = vfs::Filesystem::Mount(store, {}); // the durable state
//
// Thread-safety: every method may be called from any thread.
#ifndef VFS_STORE_H_
#define VFS_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "vfs/page_buffer.h"
#include "vfs/result.h"
#include "vfs/types.h"

namespace vfs {

using Ticket = uint64_t;

// Rule X2: the most extended attributes one inode holds (setxattr answers
// ENOSPC past it; a store loader treats more as damage).
inline constexpr size_t kMaxXattrsPerInode = size_t{1} << 20;

// The durable form of an inode: everything but its data pages and entries.
struct InodeRecord {
  InodeId ino;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Timespec atime, mtime, ctime;
  std::string symlink_target;  // symlinks only
  uint64_t rdev = 0;           // rule X5: character and block devices only
  // Rule X2: extended attributes by full name ("user.x"). Part of the
  // record, so a change is as atomic and as durable as the record: fsync
  // writes it, fdatasync's data-only record does not.
  absl::btree_map<std::string, std::string> xattrs;
  friend bool operator==(const InodeRecord&, const InodeRecord&) = default;
};

// Formats the store: its page size. The first request an empty store sees.
struct PutSuperblock {
  uint32_t page_size = 0;
};
// Writes one page of an inode's data. A page the store did not hold before is
// a new allocation: it is readable after a crash only once a later PutInode of
// the same inode has completed (rule D5: the allocation lives in the record).
// `generation` orders the page against truncations: see Truncate.
struct PutPage {
  InodeId ino;
  PageIndex index;
  PageRef data;
  uint64_t generation = 0;
};
// Writes an inode record. With data_only (fdatasync, rule D2) an existing
// record takes only the size; a new record is written whole. Either form makes
// every page the store holds for the inode part of its allocation.
struct PutInode {
  InodeRecord record;
  bool data_only = false;
};
// Sets directory entry `name` in directory `dir` to `ino`.
struct PutDirent {
  InodeId dir;
  std::string name;
  InodeId ino;
};
// Removes directory entry `name` from directory `dir`.
struct DelDirent {
  InodeId dir;
  std::string name;
};
// Drops the data of `ino` beyond `size` that was written before the
// truncation: pages past it whose generation is older than `generation` are
// freed, and the tail of the page holding `size` is zeroed if that page is
// older. A truncation reaches the store with the inode record that carries
// the new size, so it is atomic with it; pages written after the truncation
// carry its generation (or a later one) and survive even if they reached the
// store first. Generations grow across mounts (DurableImage::generation).
//
// With `end_page` set it is a hole punch (rule X3, fallocate PUNCH_HOLE): only
// the older pages from the one past `size` (page-aligned then, so no tail is
// zeroed) up to `end_page`, exclusive, are freed; the record's size is not
// involved, and the punch is durable once completed and flushed, as a page
// write is.
struct Truncate {
  static constexpr uint64_t kNoEnd = ~uint64_t{0};
  InodeId ino;
  uint64_t size = 0;
  uint64_t generation = 0;
  uint64_t end_page = kNoEnd;
};
// Forgets an inode whose last entry is durably gone: its record and its data.
struct FreeInode {
  InodeId ino;
};

using Request = std::variant<PutSuperblock, PutPage, PutInode, PutDirent, DelDirent, Truncate,
                             FreeInode>;

// Bytes of page data a request carries (0 for metadata requests).
uint64_t PayloadBytes(const Request& request);
// A one-line description, for logs and reports.
std::string Describe(const Request& request);

// What a mount reads: the durable state. Pages are only those the store may
// show: allocated by a durable record. The mounting VFS repairs the rest (an
// entry whose inode is missing, a page past the size).
struct DurableImage {
  uint32_t page_size = 0;  // 0: the store was never formatted
  uint64_t generation = 0;  // the largest generation the store has seen
  absl::btree_map<InodeId, InodeRecord> inodes;
  absl::btree_map<InodeId, absl::btree_map<std::string, InodeId>> entries;
  absl::btree_map<InodeId, absl::btree_map<PageIndex, PageRef>> pages;
};

// Counters every store keeps, for benchmarks and tests.
struct StoreStats {
  uint64_t submits = 0;      // Submit() calls accepted
  uint64_t requests = 0;     // requests accepted
  uint64_t page_writes = 0;  // PutPage requests accepted
  uint64_t bytes = 0;        // page bytes accepted
  uint64_t flushes = 0;      // Flush() calls that had completed writes to flush
  // Page bytes the store holds now, completed requests included: its live
  // data (a FreeInode or a Truncate gives bytes back). A memory store with a
  // volatile cache keeps two images sharing their pages and reports the
  // larger.
  uint64_t held_bytes = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Claims the store for one mounted Filesystem and returns its durable state.
  // Pages no record has mapped are forgotten here (and at Crash): the mount
  // cannot know them, so a later record must not make them visible. EBUSY if
  // another Filesystem holds it; the store's own errno (EIO for corruption)
  // if it cannot be read. Nothing changes on failure.
  virtual Result<DurableImage> Load() = 0;
  // Gives up the claim taken by Load(). In-flight requests still complete.
  virtual void Release() = 0;

  // Accepts `requests` for writing, in order, and returns a ticket for Wait().
  // A failure here (EIO, ENOSPC, EDQUOT) is a failure to start the writes:
  // none of `requests` is accepted.
  virtual Result<Ticket> Submit(std::vector<Request> requests) = 0;
  // Blocks until every request up to `ticket` has completed. Returns the
  // first error of `ticket`'s own requests (EIO, ENOSPC, EDQUOT); a request
  // that failed is not written. May be called again for the same ticket and
  // returns the same answer.
  virtual Result<void> Wait(Ticket ticket) = 0;
  // Makes every completed request durable (rule M3: the store's cache flush).
  // A store without a volatile cache returns at once.
  virtual Result<void> Flush() = 0;

  // The page of `ino` at `index` as the store holds it now, completed writes
  // included, or a null PageRef if it holds none (a hole). Used to read back
  // pages the cache evicted.
  virtual Result<PageRef> ReadPage(InodeId ino, PageIndex index) = 0;

  // Simulates a power cut: everything not durable is dropped (submitted and
  // completed-but-unflushed requests alike), and the claim is released.
  virtual void Crash() = 0;

  virtual bool has_volatile_cache() const = 0;
  virtual StoreStats Stats() const = 0;
};

// Forwards every call to another store. Decorators (the fault store) derive
// from it and override only what they change.
class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::shared_ptr<Store> base) : base_(std::move(base)) {}
  Result<DurableImage> Load() override { return base_->Load(); }
  void Release() override { base_->Release(); }
  Result<Ticket> Submit(std::vector<Request> requests) override {
    return base_->Submit(std::move(requests));
  }
  Result<void> Wait(Ticket ticket) override { return base_->Wait(ticket); }
  Result<void> Flush() override { return base_->Flush(); }
  Result<PageRef> ReadPage(InodeId ino, PageIndex index) override {
    return base_->ReadPage(ino, index);
  }
  void Crash() override { base_->Crash(); }
  bool has_volatile_cache() const override { return base_->has_volatile_cache(); }
  StoreStats Stats() const override { return base_->Stats(); }

 protected:
  Store& base() { return *base_; }

 private:
  std::shared_ptr<Store> base_;
};

}  // namespace vfs

#endif  // VFS_STORE_H_
