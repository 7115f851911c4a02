// The durability calls. Every one is built from the same steps, so they differ
// only in their argument checks and errno tables (docs/semantics.md section 7):
//   StartWriteback  - dirty pages of a range to the store (M1: dirty ->
//                     writeback), with the snapshot of rule D4;
//   WaitWriteback   - wait for pages of a range in writeback; a failed write
//                     sets the error sequence (W1);
//   WriteRecord     - the inode record, whole (D1.4) or data-only (D2);
//   SyncDirectory   - pending entry changes of a directory (D3);
//   store Flush     - the store's volatile cache (D1.5);
//   CheckAndAdvance - report an unseen writeback error to this description
//                     (W4).
#include <algorithm>
#include <cerrno>
#include <limits>

#include "vfs/internal/filesystem_internal.h"

namespace vfs {
namespace {

InodeRecord RecordOf(const Inode& inode) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  InodeRecord record;
  record.ino = inode.ino;
  record.mode = inode.mode;
  record.uid = inode.uid;
  record.gid = inode.gid;
  record.size = inode.size;
  record.atime = inode.atime;
  record.mtime = inode.mtime;
  record.ctime = inode.ctime;
  record.symlink_target = inode.symlink_target();
  record.rdev = inode.rdev();
  if (const Inode::XattrMap* xattrs = inode.xattrs()) {
    record.xattrs.insert(xattrs->begin(), xattrs->end());
  }
  return record;
}

constexpr uint64_t kLastByte = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// The host errno of an fd_sync / fd_datasync answer, for the wasi
// personality's fsync and fdatasync (what wasi-libc hands its caller).
int HostErrnoOf(wasi::Errno err) {
  switch (err) {
    case wasi::kSuccess: return 0;
    case wasi::kAcces: return EACCES;
    case wasi::kBadf: return EBADF;
    case wasi::kDquot: return EDQUOT;
    case wasi::kInval: return EINVAL;
    case wasi::kIsdir: return EISDIR;
    case wasi::kNospc: return ENOSPC;
    case wasi::kRofs: return EROFS;
    case wasi::kSpipe: return ESPIPE;
    case wasi::kNotcapable: return kENotCapable;
    default: return EIO;
  }
}

}  // namespace

namespace wasi {
Errno FromHostErrno(int err) {
  switch (err) {
    case 0: return kSuccess;
    case EBADF: return kBadf;
    case EINVAL: return kInval;
    case EISDIR: return kIsdir;
    case ENOSPC: return kNospc;
    case EDQUOT: return kDquot;
    case EROFS: return kRofs;
    case ESPIPE: return kSpipe;
    case EACCES: return kAcces;
    case kENotCapable: return kNotcapable;
    default: return kIo;
  }
}
}  // namespace wasi

// ---- The steps ----

int Filesystem::CheckAndAdvance(OpenFile& file) {
  Inode& inode = *file.inode;
  if (options_.writeback_errors == WritebackErrorModel::kLegacyFlags) {
    // W6 before 4.13: test and clear the flags; whoever checks first gets
    // the error, every other description misses it. EIO wins over ENOSPC,
    // as filemap_check_errors.
    const uint8_t flags = inode.legacy_errors.exchange(0);
    if (flags & Inode::kAsEio) return EIO;
    if (flags & Inode::kAsEnospc) return ENOSPC;
    return 0;
  }
  // W4: a cursor that matches the word has nothing to report; no lock, as
  // Linux's file_check_and_advance_wb_err. A racing check on the same
  // description may advance it meanwhile; either order is one it could see.
  if (inode.wb_err.raw() == file.wb_cursor.load(std::memory_order_acquire)) return 0;
  MutexLock lock(&file.err_mu);
  uint32_t cursor = file.wb_cursor.load(std::memory_order_relaxed);
  const int err = inode.wb_err.CheckAndAdvance(&cursor);
  file.wb_cursor.store(cursor, std::memory_order_release);
  return err;
}

uint32_t Filesystem::SampleCursor(const Errseq& seq) const {
  // W6 for 4.13-4.16: open sampled the current word, seen or not.
  if (options_.writeback_errors == WritebackErrorModel::kErrseqNoLateReport) return seq.raw();
  return seq.Sample();  // W3
}

void Filesystem::RecordWritebackError(Inode& inode, int err) {
  inode.wb_err.Set(err);  // W1: errseq_set on the inode ...
  sb_err_.Set(err);       // ... and on the filesystem, for syncfs
  // ... and the legacy flag: AS_ENOSPC for ENOSPC, otherwise AS_EIO.
  inode.legacy_errors.fetch_or(err == ENOSPC ? Inode::kAsEnospc : Inode::kAsEio);
}

int Filesystem::CheckAndAdvanceSb(OpenFile& file) {
  MutexLock lock(&file.err_mu);
  return sb_err_.CheckAndAdvance(&file.sb_cursor);
}

Result<void> Filesystem::StartWriteback(Inode& inode, PageIndex first, PageIndex last,
                                        bool sync_all) {
  // D1.2 / S2 with all three flags: a page already in writeback is waited on
  // first, then written again if dirty.
  if (sync_all) WaitWriteback(inode, first, last);
  MutexLock lock(&inode.mu);
  if (!inode.pages.HasDirtyIn(first, last)) return Ok();  // O(log n)
  // Rule D4: the pages dirty now are the ones this call writes; pages
  // dirtied while it waits are left to a later call, so a steady writer
  // cannot keep it going.
  std::vector<CachedPage*> pages;
  inode.pages.ForEachDirty(first, last, [&](CachedPage* page) {
    // S2: without WB_SYNC_ALL a page already in writeback is skipped.
    if (sync_all || !page->in_writeback()) pages.push_back(page);
  });
  if (pages.empty()) return Ok();
  std::vector<Request> requests;
  requests.reserve(pages.size());
  WritebackBatch batch;
  batch.first = pages.front()->index();
  batch.last = pages.back()->index();
  batch.pages.reserve(pages.size());
  bool allocates = false;
  for (CachedPage* page : pages) {
    allocates = allocates || !page->stored();
    requests.push_back(PutPage{inode.ino, page->index(), inode.pages.Share(page), inode.generation});
    batch.pages.push_back(page->index());
    // M1: starting writeback clears dirty. Rule W1: if the write fails the
    // page stays clean; it is never retried.
    inode.pages.ClearDirty(page);
  }
  auto ticket = store_->Submit(std::move(requests));
  if (!ticket.ok()) {
    // The writes could not be started: rule W1 as for a failed write.
    for (CachedPage* page : pages) {
      if (options_.drop_failed_pages && !page->in_writeback()) inode.pages.Evict(page);
    }
    RecordWritebackError(inode, ticket.error());
    return Error(ticket.error());
  }
  inode.has_store_pages = true;
  // A page the store has never held is a new allocation, which only a later
  // record makes readable (M3, D5). A record written since the page was
  // dirtied (by a racing fsync or syncfs) did not cover it, so the inode is
  // dirty again, as delayed allocation re-dirties a Linux inode at writeback.
  if (allocates) inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync | kDirtyDatasync;
  batch.ticket = *ticket;
  for (CachedPage* page : pages) inode.pages.SetWriteback(page, *ticket);
  inode.pages.batches().push_back(std::move(batch));
  return Ok();
}

void Filesystem::WaitWriteback(Inode& inode, PageIndex first, PageIndex last) {
  std::vector<Ticket> tickets;
  {
    MutexLock lock(&inode.mu);
    if (!inode.pages.HasWriteback()) return;
    tickets = inode.pages.TicketsIn(first, last);
  }
  for (Ticket ticket : tickets) {
    // Wait without the inode lock: readers and writers go on meanwhile.
    auto done = store_->Wait(ticket);
    MutexLock lock(&inode.mu);
    FinishBatch(inode, ticket, done.error());
  }
}

void Filesystem::FinishBatch(Inode& inode, Ticket ticket, int err) {
  inode.mu.AssertHeld();  // the declaration cannot name inode.mu
  auto& batches = inode.pages.batches();
  auto it = std::find_if(batches.begin(), batches.end(),
                         [ticket](const WritebackBatch& b) { return b.ticket == ticket; });
  if (it == batches.end()) return;  // another waiter finished it
  for (PageIndex index : it->pages) {
    CachedPage* page = inode.pages.Find(index);
    if (page == nullptr || page->writeback_ticket() != ticket) continue;
    inode.pages.EndWriteback(page);  // M1: completion clears writeback
    // W1 [VFS choice]: the page keeps the new bytes unless the knob drops it.
    if (err != 0 && options_.drop_failed_pages && !page->dirty()) inode.pages.Evict(page);
  }
  if (err != 0) RecordWritebackError(inode, err);
  batches.erase(it);
}

Result<void> Filesystem::WriteRecord(Inode& inode, bool data_only) {
  std::vector<Request> requests;
  uint8_t cleared = 0;
  PendingTruncations sent_truncations;
  bool had_record = false;
  std::vector<Inode::Punch> sent_punches;
  // A failed write keeps the punches for the next record.
  auto restore_punches = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (sent_punches.empty()) return;
    std::vector<Inode::Punch>& punches = inode.mutable_punches();
    punches.insert(punches.begin(), sent_punches.begin(), sent_punches.end());
  };
  Ticket ticket = 0;
  {
    MutexLock lock(&inode.mu);
    // D1.4: any flag; D2: only DIRTY_DATASYNC. A new inode always needs one.
    const uint8_t due = data_only ? (inode.dirty & kDirtyDatasync) : inode.dirty;
    if (due == 0 && inode.has_record) return Ok();
    // [VFS choice] fdatasync writes only the size and allocation of an
    // existing record, so timestamps keep their durable values (D2 minimum).
    const bool whole = !data_only || !inode.has_record;
    // The truncations go with the size that records them (see store.h),
    // each with its own generation, in the order they were made.
    for (const auto& [size, generation] : inode.truncations) {
      requests.push_back(vfs::Truncate{inode.ino, size, generation});
    }
    // Rule X3: hole punches go with the record fsync or fdatasync writes.
    if (std::vector<Inode::Punch>* punches = inode.punches(); punches != nullptr) {
      for (const Inode::Punch& p : *punches) {
        requests.push_back(vfs::Truncate{inode.ino, p.first << page_shift_, p.generation, p.end});
      }
      sent_punches = std::move(*punches);
      punches->clear();
    }
    requests.push_back(PutInode{RecordOf(inode), !whole});
    cleared = whole ? inode.dirty : static_cast<uint8_t>(kDirtyDatasync);
    sent_truncations = std::move(inode.truncations);
    inode.truncations.clear();
    had_record = inode.has_record;
    inode.dirty &= ~cleared;
    inode.has_record = true;
    auto submitted = store_->Submit(std::move(requests));
    if (submitted.ok()) {
      ticket = *submitted;
    } else {
      inode.dirty |= cleared;
      inode.truncations.Restore(sent_truncations);
      inode.has_record = had_record;
      restore_punches();
      return Error(submitted.error());
    }
  }
  auto done = store_->Wait(ticket);
  if (!done.ok()) {
    // Metadata is not dropped on failure: still dirty, written next time.
    MutexLock lock(&inode.mu);
    inode.dirty |= cleared;
    if (inode.dirty & (kDirtySync | kDirtyDatasync)) inode.dirty &= ~kDirtyTime;
    inode.truncations.Restore(sent_truncations);
    inode.has_record = had_record;
    restore_punches();
    return done;
  }
  return Ok();
}

void Filesystem::RestorePendingLocked(Inode& dir, absl::btree_map<std::string, InodeId, std::less<>> sent,
                                      std::unique_ptr<Inode::StoredNames> hidden) {
  // A name changed again meanwhile keeps its newer change (and what that
  // change found stored).
  for (auto& [name, now] : sent) {
    if (!dir.pending_entries.emplace(name, now).second || hidden == nullptr) continue;
    if (auto h = hidden->find(name); h != hidden->end()) {
      dir.mutable_stored_under().insert_or_assign(name, h->second);
    }
  }
}

Result<void> Filesystem::SyncDirectory(Inode& dir) {
  absl::btree_map<std::string, InodeId, std::less<>> sent;
  std::unique_ptr<Inode::StoredNames> hidden;
  uint8_t cleared = 0;
  Ticket ticket = 0;
  {
    WriterLock lock(&ns_mu_);
    std::vector<Request> requests;
    sent = std::move(dir.pending_entries);
    dir.pending_entries.clear();
    hidden = dir.take_stored_under();
    // What the store's entries name changes with the send: counted once it
    // is accepted. A removed directory's entries stopped counting when it
    // was removed (DropLinkLocked).
    const bool counted = dir.parent != nullptr;
    std::vector<Inode*> named;
    std::vector<InodeId> unnamed;
    for (const auto& [name, now] : sent) {
      InodeId stored(0);  // what the store holds under the name
      if (hidden != nullptr) {
        if (auto h = hidden->find(name); h != hidden->end()) stored = h->second;
      }
      const bool changes = counted && now != stored;
      if (changes && stored != InodeId(0)) unnamed.push_back(stored);
      if (now == InodeId(0)) {
        requests.push_back(DelDirent{dir.ino, name});
        continue;
      }
      Inode& child = *dir.children.at(name);
      {
        // An entry must not name an inode the store has never seen: a new
        // inode goes with its entry, as created (empty: its data and size
        // need its own fsync, rule D3).
        MutexLock child_lock(&child.mu);
        if (!child.has_record) {
          InodeRecord record = RecordOf(child);
          record.size = 0;
          requests.push_back(PutInode{std::move(record), false});
          child.has_record = true;
        }
      }
      requests.push_back(PutDirent{dir.ino, name, now});
      if (changes) named.push_back(&child);
    }
    {
      // D3: the directory's own inode too.
      MutexLock dir_lock(&dir.mu);
      if (dir.dirty != 0 || !dir.has_record) {
        requests.push_back(PutInode{RecordOf(dir), false});
        cleared = dir.dirty;
        dir.dirty = 0;
        dir.has_record = true;
      }
    }
    if (requests.empty()) return Ok();
    // Submitted under the namespace lock, so entry changes of one directory
    // reach the store in the order they were made; and under the orphans'
    // lock, so a deleted file this send unnames is freed (FreeDeadInodes)
    // only after it.
    Result<Ticket> submitted = Error(EIO);
    {
      MutexLock accounts_lock(&accounts_->mu);
      submitted = store_->Submit(std::move(requests));
      if (submitted.ok()) {
        for (Inode* child : named) ++child->store_links;
        for (InodeId ino : unnamed) DropStoreLinkLocked(ino, *submitted);
      }
    }
    if (!submitted.ok()) {
      RestorePendingLocked(dir, std::move(sent), std::move(hidden));
      MutexLock dir_lock(&dir.mu);
      dir.dirty |= cleared;
      return Error(submitted.error());
    }
    ticket = *submitted;
  }
  auto done = store_->Wait(ticket);
  if (!done.ok()) {
    // The store may hold some of the batch and not the rest, so what its
    // entries name is unknown: no more frees until the next mount, whose
    // repair frees every inode no entry reaches.
    {
      MutexLock accounts_lock(&accounts_->mu);
      accounts_->frees_stopped = true;
    }
    // Nothing is dropped: the changes are pending again unless newer ones
    // replaced them meanwhile.
    WriterLock lock(&ns_mu_);
    RestorePendingLocked(dir, std::move(sent), std::move(hidden));
    MutexLock dir_lock(&dir.mu);
    dir.dirty |= cleared;
    return done;
  }
  return Ok();
}

void Filesystem::FreeDeadInodes(bool unmounting) {
  if (accounts_->ready_count.load(std::memory_order_relaxed) == 0) return;
  // After a crash the store is another mount's to read.
  if (!unmounting && stopped_.load(std::memory_order_relaxed)) return;
  std::vector<Accounts::Ready> ready;
  {
    MutexLock lock(&accounts_->mu);
    if (accounts_->frees_stopped) return;
    ready.swap(accounts_->ready);
    accounts_->ready_count.store(0, std::memory_order_relaxed);
  }
  if (ready.empty()) return;
  auto put_back = [this, &ready] {
    MutexLock lock(&accounts_->mu);
    accounts_->ready.insert(accounts_->ready.end(), ready.begin(), ready.end());
    accounts_->ready_count.store(accounts_->ready.size(), std::memory_order_relaxed);
  };
  Ticket after = 0;
  uint64_t bytes = 0;
  std::vector<Request> requests;
  requests.reserve(ready.size());
  for (const Accounts::Ready& r : ready) {
    after = std::max(after, r.after);
    bytes += r.bytes;
    requests.push_back(FreeInode{r.ino});
  }
  // The removals that unnamed them are durable first: the store never frees
  // an inode a durable entry names, and a crash keeps either the name and
  // the data or neither (rule D3: until the removal is durable the name may
  // come back). A failed removal stops the frees (see SyncDirectory); a
  // failed flush is retried by the next call.
  if (after != 0 && !store_->Wait(after).ok()) {
    MutexLock lock(&accounts_->mu);
    accounts_->frees_stopped = true;
    accounts_->ready.insert(accounts_->ready.end(), ready.begin(), ready.end());
    return;
  }
  if (!store_->Flush().ok()) return put_back();
  auto ticket = store_->Submit(std::move(requests));
  if (!ticket.ok()) return put_back();
  // A failed free leaves the inode to the next mount's repair (an inode no
  // entry reaches); its bytes stay counted as held.
  if (!store_->Wait(*ticket).ok()) return;
  accounts_->unlinked_bytes.fetch_sub(bytes, std::memory_order_relaxed);
  // A store with a volatile cache keeps the freed pages in its durable
  // image until a flush. Its failure loses nothing: the next mount frees
  // what the free did not.
  (void)store_->Flush();
}

// D1 (mode kSyncFile) or D2 (kSyncData) over pages [first, last]. With
// `escalate` (AIX O_SYNC), dirty metadata widens the range to the whole file.
Result<void> Filesystem::SyncRange(OpenFile& file, PageIndex first, PageIndex last, int mode,
                                   bool escalate) {
  Inode& inode = *file.inode;
  bool clean = false;
  {
    MutexLock lock(&inode.mu);
    // D1.1: fsync turns lazytime timestamps into DIRTY_SYNC; fdatasync not.
    if (mode == kSyncFile && (inode.dirty & kDirtyTime)) {
      inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
    }
    // D6: O_SYNC with dirty metadata writes all dirty data of the file.
    if (escalate && (inode.dirty & (kDirtySync | kDirtyDatasync))) {
      first = PageIndex(0);
      last = kLastPage;
    }
    const uint8_t due = mode == kSyncData ? (inode.dirty & kDirtyDatasync) : inode.dirty;
    clean = !inode.pages.HasDirty() && !inode.pages.HasWriteback() && due == 0 && inode.has_record;
  }
  if (clean) {
    // Nothing to write: O(1). The store flush still runs (a page completed
    // by sync_file_range may sit in a volatile cache), and so does the error
    // check (D8).
    if (auto flushed = store_->Flush(); !flushed.ok()) {
      CheckAndAdvance(file);
      return flushed;
    }
    return FromErrno(CheckAndAdvance(file));
  }
  // D1.2-D1.3 and E1.5: a start error is returned; EIO skips the wait; the
  // cursor advances even when a different error is returned.
  auto started = StartWriteback(inode, first, last, /*sync_all=*/true);
  if (started.error() != EIO) WaitWriteback(inode, first, last);
  {
    // Rule O6: a file an explicit sync left clean is no longer deferred.
    MutexLock lock(&inode.mu);
    if (inode.deferred && !inode.pages.HasDirty()) inode.deferred = false;
  }
  const int seen = CheckAndAdvance(file);
  if (!started.ok()) return started;
  if (seen != 0) return Error(seen);
  // D1.4 / D2: the inode record; its error is returned directly.
  if (auto written = WriteRecord(inode, mode == kSyncData); !written.ok()) return written;
  // D1.5: the store's volatile cache.
  if (auto flushed = store_->Flush(); !flushed.ok()) return flushed;
  // D1.6: errors that arrived meanwhile.
  if (const int late = CheckAndAdvance(file); late != 0) return Error(late);
  return Ok();
}

Result<void> Filesystem::SyncAll(bool include_deferred) {
  std::vector<std::shared_ptr<Inode>> inodes;
  {
    ReaderLock lock(&ns_mu_);
    inodes.reserve(inodes_.size());
    for (const auto& [ino, inode] : inodes_) inodes.push_back(inode);
  }
  // In inode order, not the hash map's, which differs between runs: the same
  // calls must send the same requests, or a crash state's name would not
  // replay it (docs/crash-testing.md).
  std::sort(inodes.begin(), inodes.end(),
            [](const std::shared_ptr<Inode>& a, const std::shared_ptr<Inode>& b) { return a->ino < b->ino; });
  int first_error = 0;
  auto note = [&first_error](const Result<void>& r) {
    if (!r.ok() && first_error == 0) first_error = r.error();
  };
  // Data first, then records, then entries: an entry never reaches the
  // store before the inode it names.
  for (auto& inode : inodes) {
    if (!inode->is_reg()) continue;
    if (!include_deferred) {
      // Rule O6: deferred pages wait for an explicit sync of their file.
      MutexLock lock(&inode->mu);
      if (inode->deferred) continue;
    }
    (void)StartWriteback(*inode, PageIndex(0), kLastPage, true);  // W1: via errseq
  }
  for (auto& inode : inodes) {
    if (inode->is_reg()) WaitWriteback(*inode, PageIndex(0), kLastPage);
  }
  for (auto& inode : inodes) {
    if (inode->is_dir()) continue;
    if (!include_deferred) {
      // Rule O6: nor its record, whose size would expose unwritten data.
      MutexLock lock(&inode->mu);
      if (inode->deferred) continue;
    }
    note(WriteRecord(*inode, /*data_only=*/false));
  }
  for (auto& inode : inodes) {
    if (inode->is_dir()) note(SyncDirectory(*inode));
  }
  note(store_->Flush());
  // Deleted files whose removals this made durable (Unmount calls this
  // after stopping the calls).
  FreeDeadInodes(/*unmounting=*/true);
  return FromErrno(first_error);
}

// ---- The calls ----

// Runs Options::after_sync_call when the outermost durability call of this
// thread returns (fdatasync of a directory runs fsync inside it).
class Filesystem::SyncCallScope {
 public:
  explicit SyncCallScope(const Filesystem* fs) : fs_(fs) { ++depth_; }
  ~SyncCallScope() {
    if (--depth_ == 0 && fs_->options_.after_sync_call) fs_->options_.after_sync_call();
  }
  SyncCallScope(const SyncCallScope&) = delete;
  SyncCallScope& operator=(const SyncCallScope&) = delete;

 private:
  static thread_local int depth_;
  const Filesystem* fs_;
};
thread_local int Filesystem::SyncCallScope::depth_ = 0;

Result<FileRef> Filesystem::SyncTarget(Fd fd) {
  // One object returned on every path, so it is built in the caller's
  // (named return value): no move of the reference on the fsync path.
  Result<FileRef> file = GetFile(fd);
  if (auto alive = CheckAlive(); !alive.ok()) {
    file = Error(alive.error());
  } else if (file.ok() && (*file)->is_path()) {
    file = Error(EBADF);  // E1.1: fdget ignores O_PATH
  }
  return file;
}

Result<void> Filesystem::Fsync(Fd fd) {
  CallScope call(options_);
  SyncCallScope scope(this);
  if (options_.personality == Personality::kWasi) return FromErrno(HostErrnoOf(FdSync(fd)));
  auto got = SyncTarget(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  if (auto allowed = CheckRights(file, wasi::kRightFdSync); !allowed.ok()) return allowed;
  // E5: in the aix personality fsync needs a descriptor open for writing.
  if (options_.personality == Personality::kAix && !file.writable()) return Error(EBADF);
  Inode& inode = *file.inode;
  if (inode.is_fifo()) return Error(EINVAL);  // E1.2: no sync operation
  if (inode.is_dir()) {
    // D3: the directory's pending entries and its inode.
    auto synced = SyncDirectory(inode);
    const int seen = CheckAndAdvance(file);  // D8
    if (!synced.ok()) return synced;
    if (auto flushed = store_->Flush(); !flushed.ok()) return flushed;
    // Deleted files whose removal is durable now give their data back.
    FreeDeadInodes();
    return FromErrno(seen);
  }
  return SyncRange(file, PageIndex(0), kLastPage, kSyncFile, /*escalate=*/false);
}

Result<void> Filesystem::Fdatasync(Fd fd) {
  CallScope call(options_);
  SyncCallScope scope(this);
  if (options_.personality == Personality::kWasi) return FromErrno(HostErrnoOf(FdDatasync(fd)));
  auto got = SyncTarget(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  if (auto allowed = CheckRights(file, wasi::kRightFdDatasync); !allowed.ok()) return allowed;
  if (options_.personality == Personality::kAix && !file.writable()) return Error(EBADF);
  Inode& inode = *file.inode;
  if (inode.is_fifo()) return Error(EINVAL);
  if (inode.is_dir()) return Fsync(fd);  // D3 [VFS choice]: as fsync
  return SyncRange(file, PageIndex(0), kLastPage, kSyncData, /*escalate=*/false);
}

Result<void> Filesystem::SyncFileRange(Fd fd, int64_t offset, int64_t nbytes, unsigned flags) {
  CallScope call(options_);
  SyncCallScope scope(this);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  constexpr unsigned kAll = kSyncFileRangeWaitBefore | kSyncFileRangeWrite | kSyncFileRangeWaitAfter;
  // E2.3: wrapping 64-bit addition, never signed overflow.
  const int64_t sum = static_cast<int64_t>(static_cast<uint64_t>(offset) + static_cast<uint64_t>(nbytes));
  auto argument_check = [&]() -> int {
    if (flags & ~kAll) return EINVAL;                         // E2.2
    if (offset < 0 || sum < 0 || sum < offset) return EINVAL;  // E2.4
    return 0;
  };
  FileRef file;
  if (options_.sync_file_range_pre_5_2) {
    // E3: all EINVAL checks before EBADF.
    if (int err = argument_check(); err != 0) return Error(err);
  }
  {
    auto got = GetFile(fd);
    if (!got.ok() || (*got)->is_path()) return Error(EBADF);  // E2.1
    file = *std::move(got);
  }
  // Data only, never metadata (D5): the fd_datasync right.
  if (auto allowed = CheckRights(*file, wasi::kRightFdDatasync); !allowed.ok()) return allowed;
  if (int err = argument_check(); err != 0) return Error(err);
  // E2.6: inclusive end; nbytes == 0 means to the end of the file and beyond.
  const uint64_t endbyte = nbytes == 0 ? kLastByte : static_cast<uint64_t>(sum) - 1;
  Inode& inode = *file->inode;
  // E2.7: pipes, FIFOs, sockets: ESPIPE.
  if (!inode.is_reg() && !inode.is_dir() && !inode.is_symlink()) return Error(ESPIPE);
  if (flags == 0) return Ok();  // E2.8: after every check
  const PageIndex first(static_cast<uint64_t>(offset) >> page_shift_);
  const PageIndex last(endbyte >> page_shift_);
  if (flags & kSyncFileRangeWaitBefore) {
    // S1: wait for pages in writeback, then collect the error.
    WaitWriteback(inode, first, last);
    if (int err = CheckAndAdvance(*file); err != 0) return Error(err);
  }
  if (flags & kSyncFileRangeWrite) {
    // S2: WB_SYNC_ALL only with all three flags. Never metadata, never a
    // store flush (D5); the cursor is not touched.
    auto started = StartWriteback(inode, first, last, /*sync_all=*/flags == kAll);
    if (!started.ok()) return started;
  }
  if (flags & kSyncFileRangeWaitAfter) {
    // S3: as S1, after the writes.
    WaitWriteback(inode, first, last);
    if (int err = CheckAndAdvance(*file); err != 0) return Error(err);
  }
  return Ok();
}

Result<void> Filesystem::FsyncRange(Fd fd, int how, int64_t start, int64_t length) {
  CallScope call(options_);
  SyncCallScope scope(this);
  auto got = SyncTarget(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  const bool wants_file_sync = (how & (kFsyncRangeFileSync & ~kFsyncRangeDataSync)) != 0;
  if (auto allowed = CheckRights(file, wants_file_sync ? wasi::kRightFdSync : wasi::kRightFdDatasync);
      !allowed.ok()) {
    return allowed;
  }
  // E5: the descriptor must be open for writing, unless BSD-lenient.
  if (!file.writable() && !options_.fsync_range_bsd_lenient) return Error(EBADF);
  constexpr int kKnown = kFsyncRangeDataSync | kFsyncRangeFileSync | kFsyncRangeNoCache;
  if ((how & ~kKnown) != 0 || (how & kKnown) == 0) return Error(EINVAL);
  int64_t end = 0;
  if (start < 0 || length < 0 || __builtin_add_overflow(start, length, &end)) return Error(EINVAL);
  Inode& inode = *file.inode;
  if (!inode.is_reg()) return Error(EINVAL);
  // D6: length 0 covers all of the file, whatever `start` is.
  const PageIndex first = length == 0 ? PageIndex(0) : PageIndex(static_cast<uint64_t>(start) >> page_shift_);
  const PageIndex last = length == 0 ? kLastPage : PageIndex(static_cast<uint64_t>(end - 1) >> page_shift_);
  // D6: O_SYNC (whose bits include O_DSYNC's) is file integrity with the
  // escalation rule; O_DSYNC and O_NOCACHE are data integrity.
  const bool file_sync = (how & (kFsyncRangeFileSync & ~kFsyncRangeDataSync)) != 0;
  auto synced = SyncRange(file, first, last, file_sync ? kSyncFile : kSyncData, file_sync);
  if (!synced.ok()) return synced;
  if (how & kFsyncRangeNoCache) {
    // D6 O_NOCACHE: evict every page lying entirely inside the range, even
    // one never modified; partial edge pages stay.
    const uint64_t first_full =
        length == 0 ? 0 : (static_cast<uint64_t>(start) + page_size_ - 1) >> page_shift_;
    const uint64_t end_full = length == 0 ? kLastPage.value() : static_cast<uint64_t>(end) >> page_shift_;
    if (first_full < end_full) {
      MutexLock lock(&inode.mu);
      // Collected first: evicting erases from the map being walked.
      std::vector<CachedPage*> clean;
      inode.pages.ForEachCached(PageIndex(first_full), PageIndex(end_full - 1), [&](CachedPage* page) {
        if (!page->dirty() && !page->in_writeback()) clean.push_back(page);
      });
      for (CachedPage* page : clean) inode.pages.Evict(page);
    }
  }
  return Ok();
}

wasi::Errno Filesystem::FdSync(Fd fd) {
  CallScope call(options_);
  SyncCallScope scope(this);
  auto got = SyncTarget(fd);
  if (!got.ok()) return wasi::kBadf;
  OpenFile& file = **got;
  uint64_t rights = 0;
  {
    MutexLock lock(&file.err_mu);
    rights = file.rights_base;
  }
  const bool spec = options_.wasi_mode == WasiMode::kSpec;
  // E7.2 / E6: a missing right is EACCES in Wasmer, notcapable in the spec.
  if (!(rights & wasi::kRightFdSync)) return spec ? wasi::kNotcapable : wasi::kAcces;
  Inode& inode = *file.inode;
  if (inode.is_dir()) return wasi::kIsdir;   // E7.3
  if (!inode.is_reg()) return wasi::kInval;  // E7.3: pipes, symlinks, ...
  auto synced = SyncRange(file, PageIndex(0), kLastPage, kSyncFile, false);  // D7: as D1
  if (synced.ok()) return wasi::kSuccess;
  if (spec) return (synced.error() == ENOSPC || synced.error() == EDQUOT) ? wasi::kNospc : wasi::kIo;
  return wasi::FromHostErrno(synced.error());
}

wasi::Errno Filesystem::FdDatasync(Fd fd) {
  CallScope call(options_);
  SyncCallScope scope(this);
  auto got = SyncTarget(fd);
  if (!got.ok()) return wasi::kBadf;
  OpenFile& file = **got;
  uint64_t rights = 0;
  {
    MutexLock lock(&file.err_mu);
    rights = file.rights_base;
  }
  const bool spec = options_.wasi_mode == WasiMode::kSpec;
  if (!(rights & wasi::kRightFdDatasync)) return spec ? wasi::kNotcapable : wasi::kAcces;
  Inode& inode = *file.inode;
  if (inode.is_dir()) return wasi::kIsdir;
  if (!inode.is_reg()) {
    // E7: Wasmer's flush answers io for other kinds; the spec mode inval.
    return spec ? wasi::kInval : wasi::kIo;
  }
  auto synced = SyncRange(file, PageIndex(0), kLastPage, kSyncData, false);  // D7: as D2
  if (synced.ok()) return wasi::kSuccess;
  if (spec) return (synced.error() == ENOSPC || synced.error() == EDQUOT) ? wasi::kNospc : wasi::kIo;
  return wasi::kIo;  // E7: any failure of a file flush is io
}

Result<void> Filesystem::SetRights(Fd fd, uint64_t base, uint64_t inheriting) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  MutexLock lock(&file.err_mu);
  if ((base & ~file.rights_base) || (inheriting & ~file.rights_inheriting)) return Error(EPERM);
  file.rights_base = base;
  file.rights_inheriting = inheriting;
  return Ok();
}

Result<void> Filesystem::Syncfs(Fd fd) {
  CallScope call(options_);
  SyncCallScope scope(this);
  auto got = SyncTarget(fd);
  if (!got.ok()) return Error(got.error());
  if (auto allowed = CheckRights(**got, wasi::kRightFdSync); !allowed.ok()) return allowed;
  auto synced = SyncAll(/*include_deferred=*/false);
  const int seen = CheckAndAdvanceSb(**got);
  if (!synced.ok()) return synced;
  return FromErrno(seen);
}

void Filesystem::Sync() {
  CallScope call(options_);
  SyncCallScope scope(this);
  if (!CheckAlive().ok()) return;
  // sync(2) reports nothing; write-back errors stay in the error sequences.
  (void)SyncAll(/*include_deferred=*/false);
}

}  // namespace vfs
