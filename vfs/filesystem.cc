// Descriptors, reads and writes, truncation and attributes. Path operations
// are in namespace.cc, the durability calls in sync.cc, mounting in mount.cc.
#include "vfs/filesystem.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "vfs/internal/filesystem_internal.h"

namespace vfs {

namespace {
// Linux's MAX_RW_COUNT (INT_MAX & PAGE_MASK): the most one read or write
// moves; a larger count is a short transfer.
constexpr size_t kMaxRwCount = 0x7ffff000;
}  // namespace

// [VFS choice] The coarse real-time clock, as Linux's current_time() uses
// for file timestamps: a tick (1-4 ms) of resolution, read without a
// hardware counter, so a write does not pay for a precise time.
Timespec RealTimeNow() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return Timespec{ts.tv_sec, ts.tv_nsec};
}

OpenFile::~OpenFile() {
  if (inode->is_fifo() && !is_path()) {
    MutexLock lock(&inode->mu);
    if (writable()) --inode->fifo_writers;
    if (readable()) --inode->fifo_readers;
  }
}

Timespec Filesystem::Now() const { return options_.clock ? options_.clock() : RealTimeNow(); }

// Rule M2: a timestamp update sets DIRTY_SYNC, or DIRTY_TIME under lazytime
// when no other flag is set (the flags exclude each other).
void Filesystem::TouchLocked(Inode& inode, bool mtime, bool ctime) {
  inode.mu.AssertHeld();  // the declaration cannot name inode.mu
  const Timespec now = Now();
  // As Linux's inode_needs_update_time(): times that already read `now`
  // need no update, so the inode is not dirtied again (a run of writes
  // within one clock tick dirties it once).
  if ((!mtime || inode.mtime == now) && (!ctime || inode.ctime == now)) return;
  if (mtime) inode.mtime = now;
  if (ctime) inode.ctime = now;
  if (options_.lazytime && !(inode.dirty & (kDirtySync | kDirtyDatasync))) {
    inode.dirty |= kDirtyTime;
  } else {
    inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
  }
}

Result<void> Filesystem::ReserveBytes(uint64_t pages) {
  if (pages == 0) return Ok();
  const uint64_t limit = options_.max_bytes >> page_shift_;  // a shift: on every new page
  uint64_t used = accounts_->used_pages.load(std::memory_order_relaxed);
  do {
    if (used > limit || limit - used < pages) return Error(ENOSPC);
  } while (!accounts_->used_pages.compare_exchange_weak(used, used + pages, std::memory_order_relaxed));
  return Ok();
}

void Filesystem::ReleaseBytes(uint64_t pages) {
  accounts_->used_pages.fetch_sub(pages, std::memory_order_relaxed);
}

// ---- Descriptor table ----

Result<FileRef> Filesystem::GetFile(Fd fd) {
  FileRef ref;
  if (fd_slots_.Get(fd.value(), &ref)) {
    if (ref.file_ == nullptr) return Error(EBADF);
    return ref;
  }
  // Every hazard slot of this thread is in use (nested calls): a reference.
  auto shared = GetFileShared(fd);
  if (!shared.ok()) return Error(shared.error());
  ref.owner_ = *std::move(shared);
  ref.file_ = ref.owner_.get();
  return ref;
}

Result<std::shared_ptr<OpenFile>> Filesystem::GetFileShared(Fd fd) {
  MutexLock lock(&fd_mu_);
  const int n = fd.value();
  if (n < 0 || static_cast<size_t>(n) >= fds_.size() || !fds_[n]) return Error(EBADF);
  return fds_[n];
}

Result<Fd> Filesystem::InstallFd(std::shared_ptr<OpenFile> file) {
  MutexLock lock(&fd_mu_);
  if (open_fds_ >= options_.max_open_fds) return Error(EMFILE);
  // Lowest free first (POSIX); no free slot lies below the hint, as
  // Linux's next_fd.
  const size_t slot = fd_used_.LowestFreeFrom(lowest_free_fd_);
  if (slot >= fds_.size()) fds_.resize(slot + 1);
  fd_used_.Set(slot);
  lowest_free_fd_ = slot + 1;
  fd_slots_.Set(static_cast<int>(slot), file.get());
  fds_[slot] = std::move(file);
  ++open_fds_;
  return Fd(static_cast<int>(slot));
}

Result<void> Filesystem::MissingRight() const {
  // Rules E6 / E7: Wasmer answers a missing right with EACCES, the spec with
  // notcapable.
  return Error(options_.wasi_mode == WasiMode::kSpec ? kENotCapable : EACCES);
}

Result<std::pair<uint64_t, uint64_t>> Filesystem::GetRights(Fd fd) {
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  MutexLock lock(&(*got)->err_mu);
  return std::make_pair((*got)->rights_base.load(), (*got)->rights_inheriting.load());
}

Result<int> Filesystem::GetStatusFlags(Fd fd) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  const OpenFile& file = **got;
  // What open() keeps in f_flags: no O_CLOEXEC (a descriptor flag), no
  // O_NOCTTY, nothing open() does not know; O_TMPFILE's bits stay (X4).
  constexpr int kReported = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT |
                            O_NOATIME | O_DIRECTORY | O_NOFOLLOW | O_PATH | O_TMPFILE |
                            kAixODefer;
  int flags = file.flags.load(std::memory_order_relaxed) & kReported;
  if (!file.is_path() && !file.inode->anonymous) flags |= kKernelLargefile;
  return flags;
}

Result<void> Filesystem::SetStatusFlags(Fd fd, int flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  // As Linux's fcntl: F_SETFL is not among the commands an O_PATH
  // descriptor takes.
  if (file.is_path()) return Error(EBADF);
  if (auto allowed = CheckRights(file, wasi::kRightFdFdstatSetFlags); !allowed.ok()) return allowed;
  if (flags & O_NDELAY) flags |= O_NONBLOCK;
  // Rule X1, as Linux's setfl: turning O_NOATIME on needs the file's owner
  // or CAP_FOWNER (EPERM), before O_DIRECT is looked at.
  if ((flags & O_NOATIME) && !(file.flags.load(std::memory_order_relaxed) & O_NOATIME)) {
    MutexLock owner_lock(&file.inode->mu);
    if (!OwnerOrCapableLocked(caller(), *file.inode)) return Error(EPERM);
  }
  // As Linux's setfl: O_DIRECT needs a file that can do direct I/O
  // (FMODE_CAN_ODIRECT): on tmpfs a regular file, and a FIFO or pipe
  // (packet mode); not a directory.
  if ((flags & O_DIRECT) && !file.inode->is_reg() && !file.inode->is_fifo()) return Error(EINVAL);
  int old = file.flags.load(std::memory_order_relaxed);
  while (!file.flags.compare_exchange_weak(
      old, (flags & OpenFile::kSetflMask) | (old & ~OpenFile::kSetflMask), std::memory_order_relaxed)) {
  }
  return Ok();
}

Result<void> Filesystem::Close(Fd fd) {
  CallScope call(options_);
  // Declared first, so it runs after `file` is gone: an unlinked inode whose
  // last descriptor this was is freed in the store if its removal is durable.
  FreeOnReturn free_dead{this};
  std::shared_ptr<OpenFile> file;
  {
    MutexLock lock(&fd_mu_);
    const int n = fd.value();
    if (n < 0 || static_cast<size_t>(n) >= fds_.size() || !fds_[n]) return Error(EBADF);
    fd_slots_.Set(n, nullptr);
    file = std::move(fds_[n]);
    fd_used_.Clear(static_cast<size_t>(n));
    lowest_free_fd_ = std::min<size_t>(lowest_free_fd_, static_cast<size_t>(n));
    --open_fds_;
  }
  // Rule W5.5: close does not report writeback errors. The description (and
  // an unlinked inode) goes away when the last reference drops, outside the
  // table lock. After a crash the slot is freed all the same, and EIO says
  // the filesystem is gone.
  return CheckAlive();
}

Result<Fd> Filesystem::Dup(Fd fd) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto file = GetFileShared(fd);
  if (!file.ok()) return Error(file.error());
  return InstallFd(*std::move(file));
}

// ---- Reads ----

Result<PageRef> Filesystem::LoadPageLocked(Inode& inode, PageIndex index) {
  auto data = store_->ReadPage(inode.ino, index);
  if (!data.ok()) return Error(data.error());
  if (!*data) return PageRef();  // the store lost it (rule W1): a hole
  return *data;
}

Result<void> Filesystem::LoadStoredPagesLocked(Inode& inode, PageIndex first, PageIndex last) {
  for (uint64_t i = first.value(); i <= last.value(); ++i) {
    const PageIndex index(i);
    if (inode.pages.StateOf(index) != PageState::kOnStore) continue;
    auto data = LoadPageLocked(inode, index);
    if (!data.ok()) return Error(data.error());
    const bool stored = *data != nullptr;
    inode.pages.Insert(index, stored ? *std::move(data) : PageBuffer::Allocate(page_size_), stored);
  }
  return Ok();
}

uint64_t Filesystem::CachedPages() const {
  return accounts_->cached_pages.load(std::memory_order_relaxed);
}

void Filesystem::ShrinkCache() {
  MutexLock shrink(&shrink_mu_);
  if (!CacheOverLimit()) return;  // another thread's scan made room
  // Scan down to 7/8 of the limit, so one scan makes room for many inserts.
  const uint64_t target = cache_limit_pages_ - cache_limit_pages_ / 8;
  std::vector<std::shared_ptr<Inode>> files;
  {
    ReaderLock lock(&ns_mu_);
    for (const auto& [ino, inode] : inodes_) {
      if (inode->is_reg()) files.push_back(inode);
    }
  }
  if (files.empty()) return;
  // Two rounds of the clock: the first spares pages used since the last scan
  // (clearing their mark), the second takes any clean page left.
  for (int round = 0; round < 2; ++round) {
    for (size_t visited = 0; visited < files.size(); ++visited) {
      const uint64_t cached = accounts_->cached_pages.load(std::memory_order_relaxed);
      if (cached <= target) return;
      Inode& inode = *files[shrink_hand_++ % files.size()];
      MutexLock lock(&inode.mu);
      inode.pages.EvictClean(cached - target, /*second_chance=*/round == 0);
    }
  }
}

namespace {

// As Linux's rw_verify_area: a count past SSIZE_MAX, or a range whose end
// passes INT64_MAX, is EINVAL (checked after the descriptor's mode, before
// the file's type).
bool RangeInvalid(int64_t pos, size_t count) {
  if (count > static_cast<uint64_t>(INT64_MAX)) return true;
  return pos >= 0 && count > static_cast<uint64_t>(INT64_MAX - pos);
}

}  // namespace

Result<size_t> Filesystem::ReadAt(OpenFile& file, char* buf, size_t count, int64_t offset) {
  auto n = ReadPages(file, buf, count, offset);
  ShrinkCacheIfOver();
  return n;
}

Result<size_t> Filesystem::ReadPages(OpenFile& file, char* buf, size_t count, int64_t offset) {
  Inode& inode = *file.inode;
  MutexLock lock(&inode.mu);
  // As Linux: rw_verify_area checks the whole range, then vfs_read caps it.
  if (offset < 0 || RangeInvalid(offset, count)) return Error(EINVAL);
  count = std::min(count, kMaxRwCount);  // a short read past MAX_RW_COUNT
  const uint64_t pos = static_cast<uint64_t>(offset);
  if (pos >= inode.size || count == 0) return size_t{0};
  const size_t n = static_cast<size_t>(std::min<uint64_t>(count, inode.size - pos));
  // Over the cache limit, pages read from the store are copied out and not
  // kept, so one large read cannot grow the cache past it.
  const bool keep = !CacheOverLimit();
  size_t done = 0;
  while (done < n) {
    const uint64_t at = pos + done;
    const PageIndex index(at >> page_shift_);
    const uint32_t in_page = static_cast<uint32_t>(at & (page_size_ - 1));
    const size_t chunk = std::min<size_t>(n - done, page_size_ - in_page);
    CachedPage* page = inode.pages.Find(index);
    PageRef uncached;
    if (page == nullptr && inode.pages.OnStore(index)) {
      auto data = LoadPageLocked(inode, index);
      if (!data.ok()) return Error(data.error());
      if (*data && keep) {
        page = inode.pages.Insert(index, *std::move(data), /*stored=*/true);
      } else {
        uncached = *std::move(data);
      }
    }
    if (page != nullptr) {
      std::memcpy(buf + done, page->data()->data() + in_page, chunk);
    } else if (uncached) {
      std::memcpy(buf + done, uncached->data() + in_page, chunk);
    } else {
      std::memset(buf + done, 0, chunk);  // a hole reads as zeros
    }
    done += chunk;
  }
  // [VFS choice] noatime: reads leave atime alone, as a noatime mount.
  return n;
}

Result<size_t> Filesystem::Read(Fd fd, void* buf, size_t count) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  // Rule E6/E7 [VFS choice]: the access mode's EBADF before a missing
  // right, as Linux (an access mode narrows the rights, see OpenAt).
  if (!file.readable()) return Error(EBADF);
  if (auto allowed = CheckRights(file, wasi::kRightFdRead); !allowed.ok()) return Error(allowed.error());
  Inode& inode = *file.inode;
  if (inode.is_dir()) {
    // As Linux's vfs_read: rw_verify_area (EINVAL when the range from the
    // position passes INT64_MAX; a directory may be seeked anywhere)
    // comes before the directory's EISDIR.
    MutexLock pos_lock(&file.pos_mu);
    if (RangeInvalid(file.offset, count)) return Error(EINVAL);
    return Error(EISDIR);
  }
  if (inode.is_fifo()) {
    MutexLock lock(&inode.mu);
    if (count == 0) return size_t{0};
    if (inode.fifo_data == nullptr || inode.fifo_data->empty()) {
      if (inode.fifo_writers > 0) return Error(EAGAIN);
      return size_t{0};
    }
    std::string& fifo = *inode.fifo_data;
    const size_t n = std::min(count, fifo.size());
    std::memcpy(buf, fifo.data(), n);
    fifo.erase(0, n);
    if (!inode.anonymous) {
      const uint64_t pages = (fifo.size() + page_size_ - 1) >> page_shift_;
      ReleaseBytes(inode.fifo_pages - pages);
      inode.fifo_pages = pages;
    }
    return n;
  }
  MutexLock pos_lock(&file.pos_mu);
  auto n = ReadAt(file, static_cast<char*>(buf), count, file.offset);
  if (n.ok()) file.offset += static_cast<int64_t>(*n);
  return n;
}

Result<size_t> Filesystem::Pread(Fd fd, void* buf, size_t count, int64_t offset) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  if (offset < 0) return Error(EINVAL);  // before the descriptor (ksys_pread64)
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  // Rule X6, as Linux's ksys_pread64: a FIFO has no FMODE_PREAD, so
  // ESPIPE comes before the access mode's EBADF (an O_PATH descriptor is
  // EBADF first: fdget does not return it). A missing right comes after
  // both, as in Read.
  if (file.is_path()) return Error(EBADF);
  if (file.inode->is_fifo()) return Error(ESPIPE);
  if (!file.readable()) return Error(EBADF);
  if (auto allowed = CheckRights(file, wasi::kRightFdRead | wasi::kRightFdSeek); !allowed.ok()) {
    return Error(allowed.error());
  }
  if (RangeInvalid(offset, count)) return Error(EINVAL);
  if (file.inode->is_dir()) return Error(EISDIR);
  if (offset < 0) return Error(EINVAL);
  return ReadAt(file, static_cast<char*>(buf), count, offset);
}

// ---- Writes ----

// Writes `count` bytes at *offset (at the end with `append`) and moves
// *offset past them. `sync_flags` is O_DSYNC or O_SYNC to follow the write
// with the sync of rules O1 / O2; *offset moves only if that succeeds.
Result<size_t> Filesystem::WriteAt(OpenFile& file, const char* buf, size_t count, int64_t* offset,
                                   bool append, int sync_flags) {
  Inode& inode = *file.inode;
  if (count == 0) return size_t{0};
  if (*offset < 0 && !append) return Error(EINVAL);
  if (RangeInvalid(*offset, count)) return Error(EINVAL);
  // As Linux (rw_verify_area, then vfs_write): one call moves at most
  // MAX_RW_COUNT bytes, a short write past it. This also bounds the work
  // below, done under the inode's lock, by the cap rather than by what the
  // caller asked for.
  count = std::min(count, kMaxRwCount);
  uint64_t pos = 0;
  uint64_t end = 0;
  {
    MutexLock lock(&inode.mu);
    pos = append ? inode.size : static_cast<uint64_t>(*offset);
    const uint64_t limit = options_.max_file_size;
    if (pos >= limit) return Error(EFBIG);
    // As Linux: a write crossing the limit is cut short at it.
    count = static_cast<size_t>(std::min<uint64_t>(count, limit - pos));
    end = pos + count;
    const PageIndex first(pos >> page_shift_);
    const PageIndex last((end - 1) >> page_shift_);

    // Check and prepare everything before the first byte changes: a failed
    // write changes nothing.
    uint64_t new_pages = 0;
    bool on_store = false;  // some page must be read back before the write
    // The common case, a write within one cached page, needs one lookup.
    CachedPage* const single = first == last ? inode.pages.Find(first) : nullptr;
    // More new pages than max_bytes has room for is ENOSPC as soon as it is
    // known: the count stops there, so a huge write under a small quota
    // costs the quota's pages, not the write's.
    // Worked out only when a page may be new: the common write into one
    // cached page pays neither the load nor the arithmetic.
    uint64_t room = 0;
    if (single == nullptr) {
      const uint64_t quota = options_.max_bytes >> page_shift_;
      const uint64_t used = accounts_->used_pages.load(std::memory_order_relaxed);
      room = used >= quota ? 0 : quota - used;
    }
    for (uint64_t i = first.value(); single == nullptr && i <= last.value(); ++i) {
      const PageState state = inode.pages.StateOf(PageIndex(i));
      if (state == PageState::kHole && ++new_pages > room) return Error(ENOSPC);
      if (state == PageState::kOnStore) on_store = true;
    }
    if (new_pages > 0) {  // a write into cached pages makes no call here
      if (auto reserved = ReserveBytes(new_pages); !reserved.ok()) return Error(reserved.error());
    }
    if (on_store) {
      if (auto loaded = LoadStoredPagesLocked(inode, first, last); !loaded.ok()) {
        ReleaseBytes(new_pages);
        return Error(loaded.error());
      }
    }

    size_t done = 0;
    while (done < count) {
      const uint64_t at = pos + done;
      const PageIndex index(at >> page_shift_);
      const uint32_t in_page = static_cast<uint32_t>(at & (page_size_ - 1));
      const size_t chunk = std::min<size_t>(count - done, page_size_ - in_page);
      CachedPage* page = single != nullptr ? single : inode.pages.Find(index);
      if (page == nullptr) {
        page = inode.pages.Insert(index, PageBuffer::Allocate(page_size_), /*stored=*/false);
      }
      std::memcpy(inode.pages.BeginWrite(page) + in_page, buf + done, chunk);
      done += chunk;
    }
    // Rule M2: a new allocation or a size extension needs the record for the
    // data to be readable after a crash: DIRTY_DATASYNC with DIRTY_SYNC.
    if (new_pages > 0 || end > inode.size) inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync | kDirtyDatasync;
    if (end > inode.size) inode.size = end;
    TouchLocked(inode, /*mtime=*/true, /*ctime=*/true);
    // Rule X1 (file_remove_privs): one test of the mode on the common path.
    if (inode.mode & (S_ISUID | S_ISGID)) [[unlikely]] {
      if (const uint32_t kill = PrivsToClearLocked(caller(), inode); kill != 0) {
        inode.mode &= ~kill;
        inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
      }
    }
  }
  ShrinkCacheIfOver();
  if (sync_flags != 0) {
    // Rules O1 / O2: vfs_fsync_range over the bytes just written.
    const int mode = (sync_flags & (O_SYNC & ~O_DSYNC)) ? kSyncFile : kSyncData;
    auto synced = SyncRange(file, PageIndex(pos >> page_shift_), PageIndex((end - 1) >> page_shift_),
                            mode, /*escalate=*/false);
    if (!synced.ok()) return Error(synced.error());
  }
  *offset = static_cast<int64_t>(end);
  return count;
}

namespace {
// The O_SYNC / O_DSYNC part of a description's flags (O_SYNC contains O_DSYNC).
int SyncFlagsOf(int flags) {
  if ((flags & O_SYNC) == O_SYNC) return O_SYNC;
  if (flags & O_DSYNC) return O_DSYNC;
  return 0;
}
}  // namespace

Result<size_t> Filesystem::Write(Fd fd, const void* buf, size_t count) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  if (!file.writable()) return Error(EBADF);  // before the rights, as Read
  if (auto allowed = CheckRights(file, wasi::kRightFdWrite); !allowed.ok()) return Error(allowed.error());
  Inode& inode = *file.inode;
  if (inode.is_fifo()) {
    constexpr size_t kFifoCapacity = 65536;  // Linux's default pipe size
    MutexLock lock(&inode.mu);
    if (count == 0) return size_t{0};
    // Rule X6: no reader left, EPIPE (the embedder decides about SIGPIPE).
    if (inode.fifo_readers == 0) return Error(EPIPE);
    if (inode.fifo_data == nullptr) inode.fifo_data = std::make_unique<std::string>();
    std::string& fifo = *inode.fifo_data;
    const size_t room = kFifoCapacity - fifo.size();
    if (room == 0) return Error(EAGAIN);
    const size_t n = std::min(count, room);
    if (!inode.anonymous) {
      // [VFS choice] A named FIFO keeps its bytes with no descriptor open,
      // so they count against max_bytes as file pages do (a pipe's die with
      // its descriptors, which max_open_fds bounds).
      const uint64_t pages = (fifo.size() + n + page_size_ - 1) >> page_shift_;
      if (auto reserved = ReserveBytes(pages - inode.fifo_pages); !reserved.ok()) {
        return Error(reserved.error());
      }
      inode.fifo_pages = pages;
    }
    fifo.append(static_cast<const char*>(buf), n);
    return n;
  }
  // One read of the flags word F_SETFL may change under this call.
  const int flags = file.flags.load(std::memory_order_relaxed);
  if (flags & kAixODefer) {
    MutexLock lock(&inode.mu);
    inode.deferred = true;  // Rule O6: sync() leaves these pages alone
  }
  MutexLock pos_lock(&file.pos_mu);
  return WriteAt(file, static_cast<const char*>(buf), count, &file.offset,
                 (flags & O_APPEND) != 0, SyncFlagsOf(flags));
}

Result<size_t> Filesystem::Pwrite(Fd fd, const void* buf, size_t count, int64_t offset) {
  // Only pwritev2 gives -1 a meaning. pwrite(2) refuses every negative
  // offset, before it looks at the descriptor (ksys_pwrite64); a stopped
  // filesystem's EIO comes first. Pwrite2 makes those checks and the call's
  // scope for the others, so the common path is one call.
  if (offset < 0) [[unlikely]] {
    CallScope call(options_);
    if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
    return Error(EINVAL);
  }
  return Pwrite2(fd, buf, count, offset, 0);
}

Result<size_t> Filesystem::Pwrite2(Fd fd, const void* buf, size_t count, int64_t offset,
                                   int rwf_flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  // Rule X6, as Linux's ksys_pwrite64: ESPIPE on a FIFO (no FMODE_PWRITE)
  // before the access mode's EBADF; O_PATH is EBADF first. A missing right
  // and unknown RWF_* flags come after them, as in Pread.
  // pwritev2 at -1 is a plain write (do_writev), a FIFO's too.
  // One read of the flags word for all of them: F_SETFL may change it, but
  // never O_PATH or the access mode.
  const int flags = file.flags.load(std::memory_order_relaxed);
  if (flags & O_PATH) return Error(EBADF);
  if (file.inode->is_fifo() && offset != -1) return Error(ESPIPE);
  if ((flags & O_ACCMODE) != O_WRONLY && (flags & O_ACCMODE) != O_RDWR) return Error(EBADF);
  // pwritev2 at -1 uses the current offset: fd_write alone, as write.
  if (auto allowed = CheckRights(file, wasi::kRightFdWrite | (offset == -1 ? 0 : wasi::kRightFdSeek));
      !allowed.ok()) {
    return Error(allowed.error());
  }
  if (rwf_flags & ~(kRwfDsync | kRwfSync | kRwfAppend)) return Error(EOPNOTSUPP);
  // A FIFO has no pages to sync: its RWF_* flags change nothing (rule X6).
  if (file.inode->is_fifo()) return Write(fd, buf, count);
  // Rule O3: RWF_DSYNC / RWF_SYNC apply O1 / O2 to this call only.
  int sync_flags = SyncFlagsOf(flags);
  if (rwf_flags & kRwfSync) sync_flags = O_SYNC;
  else if ((rwf_flags & kRwfDsync) && sync_flags == 0) sync_flags = O_DSYNC;
  // As Linux: pwrite on an O_APPEND description appends.
  const bool append = (flags & O_APPEND) || (rwf_flags & kRwfAppend);
  if (flags & kAixODefer) {
    MutexLock lock(&file.inode->mu);
    file.inode->deferred = true;  // Rule O6
  }
  if (offset == -1) {  // pwritev2: -1 uses and moves the current offset
    MutexLock pos_lock(&file.pos_mu);
    return WriteAt(file, static_cast<const char*>(buf), count, &file.offset, append, sync_flags);
  }
  if (offset < 0) return Error(EINVAL);
  int64_t at = offset;
  return WriteAt(file, static_cast<const char*>(buf), count, &at, append, sync_flags);
}

// ---- Seeking ----

Result<int64_t> Filesystem::Lseek(Fd fd, int64_t offset, int whence) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  // As WASI's fd_seek: SEEK_CUR by 0 only tells, and needs fd_tell alone.
  const uint64_t needed = (whence == SEEK_CUR && offset == 0) ? wasi::kRightFdTell : wasi::kRightFdSeek;
  if (auto allowed = CheckRights(file, needed); !allowed.ok()) return Error(allowed.error());
  if (file.is_path()) return Error(EBADF);
  // As Linux's ksys_lseek: an unknown whence is EINVAL before the file's
  // type is looked at (a FIFO's ESPIPE comes after it).
  if (whence < SEEK_SET || whence > SEEK_HOLE) return Error(EINVAL);
  Inode& inode = *file.inode;
  if (inode.is_fifo()) return Error(ESPIPE);
  if (inode.is_dir()) {
    // As tmpfs (dcache_dir_lseek): a directory's position counts entries,
    // "." at 0, ".." at 1, then the names in order; SEEK_SET and SEEK_CUR
    // to any non-negative position, and readdir goes on from there.
    ReaderLock ns_lock(&ns_mu_);
    MutexLock pos_lock(&file.pos_mu);
    int64_t target = 0;
    if (whence == SEEK_SET) {
      target = offset;
    } else if (whence == SEEK_CUR) {
      if (__builtin_add_overflow(file.offset, offset, &target)) return Error(EINVAL);
    } else {
      return Error(EINVAL);
    }
    if (target < 0) return Error(EINVAL);
    file.offset = target;
    file.dir_stage = target < 2 ? static_cast<int>(target) : 2;
    file.dir_last.clear();
    if (target > 2) {
      // Names before the position are taken as read: the last of them is
      // where readdir resumes. Past the last name readdir returns nothing
      // until the next lseek, names made later included (tmpfs gives new
      // names positions below it), and the position never grows past
      // INT64_MAX.
      uint64_t skip = static_cast<uint64_t>(target - 2);
      if (skip > inode.children.size()) {
        file.dir_stage = kDirPastEnd;
      } else {
        for (const auto& [name, child] : inode.children) {
          file.dir_last = name;
          if (--skip == 0) break;
        }
      }
    }
    return target;
  }
  MutexLock pos_lock(&file.pos_mu);
  MutexLock lock(&inode.mu);
  const int64_t size = static_cast<int64_t>(inode.size);
  int64_t result = 0;
  switch (whence) {
    case SEEK_SET:
      result = offset;
      break;
    case SEEK_CUR:
      if (__builtin_add_overflow(file.offset, offset, &result)) return Error(EINVAL);
      break;
    case SEEK_END:
      if (__builtin_add_overflow(size, offset, &result)) return Error(EINVAL);
      break;
    case SEEK_DATA: {
      if (offset < 0 || offset >= size) return Error(ENXIO);
      auto next = inode.pages.NextAllocated(PageIndex(static_cast<uint64_t>(offset) >> page_shift_));
      if (!next) return Error(ENXIO);
      const int64_t start = static_cast<int64_t>(next->value() << page_shift_);
      result = std::max(offset, start);
      if (result >= size) return Error(ENXIO);
      break;
    }
    case SEEK_HOLE: {
      if (offset < 0 || offset >= size) return Error(ENXIO);
      const PageIndex hole = inode.pages.NextHole(PageIndex(static_cast<uint64_t>(offset) >> page_shift_));
      // The hole may start at or past the end, even at 2^63 (the page after
      // the last one below it), whose byte offset does not fit int64: the
      // answer is then the size, the implicit hole at the end of the file.
      const uint64_t end = static_cast<uint64_t>(size);
      const uint64_t start =
          hole.value() > (end >> page_shift_) ? end : std::min(hole.value() << page_shift_, end);
      result = std::max<int64_t>(offset, static_cast<int64_t>(start));
      break;
    }
    default:
      return Error(EINVAL);
  }
  if (result < 0) return Error(EINVAL);
  file.offset = result;
  return result;
}

// ---- Truncation ----

Result<uint64_t> Filesystem::NextGeneration() {
  uint64_t current = generation_.load(std::memory_order_relaxed);
  do {
    if (current >= kMaxGeneration) return Error(ENOSPC);
  } while (!generation_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return current + 1;
}

Result<void> Filesystem::TruncateInode(Inode& inode, int64_t length) {
  if (length < 0) return Error(EINVAL);
  if (static_cast<uint64_t>(length) > options_.max_file_size) return Error(EFBIG);
  const uint64_t new_size = static_cast<uint64_t>(length);
  const PageIndex keep((new_size + page_size_ - 1) >> page_shift_);  // first page dropped
  for (;;) {
    // Pages in writeback past the new end are waited for first, as Linux's
    // truncate_inode_pages, so their completion cannot touch dropped pages.
    WaitWriteback(inode, keep, kLastPage);
    MutexLock lock(&inode.mu);
    if (!inode.pages.TicketsIn(keep, kLastPage).empty()) continue;
    const uint32_t tail = static_cast<uint32_t>(new_size & (page_size_ - 1));
    const PageIndex tail_index(new_size >> page_shift_);
    // As shmem_setattr: a size that does not grow drops every page past it,
    // those fallocate(KEEP_SIZE) allocated beyond the old end included (rule
    // X3), so ftruncate to the current size frees them too.
    const bool drop = new_size < inode.size ||
                      (new_size == inode.size && inode.pages.NextAllocated(keep).has_value());
    if (drop) {
      // Load the partial last page before changing anything.
      if (tail != 0 && inode.pages.Find(tail_index) == nullptr && inode.pages.OnStore(tail_index)) {
        auto data = LoadPageLocked(inode, tail_index);
        if (!data.ok()) return Error(data.error());
        const bool stored = *data != nullptr;
        inode.pages.Insert(tail_index, stored ? *std::move(data) : PageBuffer::Allocate(page_size_),
                           stored);
      }
      // Its generation too: past the last one the call is ENOSPC, unchanged.
      auto generation = NextGeneration();
      if (!generation.ok()) return Error(generation.error());
      const uint64_t before = inode.pages.allocated_pages();
      inode.pages.DropFrom(keep);
      ReleaseBytes(before - inode.pages.allocated_pages());
      if (tail != 0) {
        if (CachedPage* page = inode.pages.Find(tail_index); page && !page->data()->ZeroFrom(tail)) {
          std::memset(inode.pages.BeginWrite(page) + tail, 0, page_size_ - tail);
        }
      }
      // The next record carries the truncation (see Truncate in store.h),
      // with its own size and generation. Not the size at that record: pages
      // written and sent since then below the new size are live, and a
      // Truncate to an older, smaller size would drop them (found by the
      // fuzzer: fuzz/regressions/truncate_keeps_page_in_writeback); nor one
      // Truncate for all pending ones (issue 17: see Inode::truncations).
      inode.generation = *generation;
      inode.truncations.Add(new_size, inode.generation);
    }
    if (new_size != inode.size) inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync | kDirtyDatasync;
    inode.size = new_size;
    // Rule X1: a truncation by a caller without CAP_FSETID clears S_ISUID
    // (and S_ISGID with group-execute), as do_truncate's ATTR_KILL_*.
    if (inode.mode & (S_ISUID | S_ISGID)) {
      if (const uint32_t kill = PrivsToClearLocked(caller(), inode); kill != 0) {
        inode.mode &= ~kill;
        inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
      }
    }
    // As Linux: truncate updates mtime and ctime even when the size stays.
    TouchLocked(inode, /*mtime=*/true, /*ctime=*/true);
    return Ok();
  }
}

Result<void> Filesystem::Ftruncate(Fd fd, int64_t length) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (length < 0) return Error(EINVAL);  // checked before the fd, as Linux
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  OpenFile& file = **got;
  if (auto allowed = CheckRights(file, wasi::kRightFdFilestatSetSize); !allowed.ok()) return allowed;
  if (file.is_path()) return Error(EBADF);
  if (!file.inode->is_reg() || !file.writable()) return Error(EINVAL);
  return TruncateInode(*file.inode, length);
}

Result<void> Filesystem::Truncate(std::string_view path, int64_t length) {
  CallScope call(options_);
  return TruncateAt(kCwd, path, length, 0);
}

Result<void> Filesystem::TruncateAt(Fd dir, std::string_view path, int64_t length, int flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (flags & ~AT_EMPTY_PATH) return Error(EINVAL);
  if (length < 0) return Error(EINVAL);
  auto inode = ResolveAtFlags(dir, path, flags, /*follow_default=*/true);
  if (!inode.ok()) return Error(inode.error());
  if ((*inode)->is_dir()) return Error(EISDIR);
  if (!(*inode)->is_reg()) return Error(EINVAL);
  // Rule X1: truncate(2) needs write permission on the file (vfs_truncate).
  if (auto ok = CheckPermission(caller(), **inode, kMayWrite); !ok.ok()) return ok;
  return TruncateInode(**inode, length);
}

// ---- Attributes ----

StatBuf Filesystem::StatOf(Inode& inode) {
  MutexLock lock(&inode.mu);
  StatBuf st;
  st.ino = inode.ino;
  st.mode = inode.mode;
  st.nlink = inode.nlink;
  st.uid = inode.uid;
  st.gid = inode.gid;
  if (inode.is_dir()) {
    // Rule V1: as tmpfs, 20 bytes per entry and 40 for "." and "..".
    st.size = 40 + 20 * uint64_t{inode.dir_entries};
  } else {
    st.size = inode.is_symlink() ? inode.symlink_target().size() : inode.size;
  }
  st.blocks = inode.pages.allocated_pages() * (page_size_ / 512);
  st.blksize = page_size_;
  st.atime = inode.atime;
  st.mtime = inode.mtime;
  st.ctime = inode.ctime;
  st.rdev = inode.rdev();
  return st;
}

Result<StatBuf> Filesystem::Fstat(Fd fd) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  if (auto allowed = CheckRights(**got, wasi::kRightFdFilestatGet); !allowed.ok()) {
    return Error(allowed.error());
  }
  return StatOf(*(*got)->inode);
}

Result<StatBuf> Filesystem::Stat(std::string_view path) {
  CallScope call(options_);
  return FstatAt(kCwd, path, 0);
}

Result<StatBuf> Filesystem::Lstat(std::string_view path) {
  CallScope call(options_);
  return FstatAt(kCwd, path, AT_SYMLINK_NOFOLLOW);
}

Result<StatBuf> Filesystem::FstatAt(Fd dir, std::string_view path, int flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) return Error(EINVAL);
  auto inode = ResolveAtFlags(dir, path, flags, /*follow_default=*/true);
  if (!inode.ok()) return Error(inode.error());
  return StatOf(**inode);
}

Result<void> Filesystem::Chmod(std::string_view path, uint32_t mode) {
  CallScope call(options_);
  return FchmodAt(kCwd, path, mode, 0);
}

Result<void> Filesystem::Fchmod(Fd fd, uint32_t mode) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  if (auto allowed = CheckRights(**got, wasi::kRightFdFilestatSetTimes); !allowed.ok()) return allowed;
  if ((*got)->is_path()) return Error(EBADF);
  return ChmodInode(*(*got)->inode, mode);
}

Result<void> Filesystem::FchmodAt(Fd dir, std::string_view path, uint32_t mode, int flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Error(EINVAL);
  auto inode = ResolveAtFlags(dir, path, flags, /*follow_default=*/true);
  if (!inode.ok()) return Error(inode.error());
  // As Linux's fchmodat2: a symlink's mode cannot be changed.
  if ((*inode)->is_symlink()) return Error(EOPNOTSUPP);
  return ChmodInode(**inode, mode);
}

Result<void> Filesystem::Chown(std::string_view path, uint32_t uid, uint32_t gid) {
  CallScope call(options_);
  return FchownAt(kCwd, path, uid, gid, 0);
}

Result<void> Filesystem::Lchown(std::string_view path, uint32_t uid, uint32_t gid) {
  CallScope call(options_);
  return FchownAt(kCwd, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

Result<void> Filesystem::Fchown(Fd fd, uint32_t uid, uint32_t gid) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  if (auto allowed = CheckRights(**got, wasi::kRightFdFilestatSetTimes); !allowed.ok()) return allowed;
  if ((*got)->is_path()) return Error(EBADF);  // fchown needs a full descriptor, as Linux
  return ChownInode(*(*got)->inode, uid, gid);
}

Result<void> Filesystem::FchownAt(Fd dir, std::string_view path, uint32_t uid, uint32_t gid,
                                  int flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Error(EINVAL);
  auto inode = ResolveAtFlags(dir, path, flags, /*follow_default=*/true);
  if (!inode.ok()) return Error(inode.error());
  return ChownInode(**inode, uid, gid);
}

Result<void> Filesystem::UtimensInode(Inode& inode, const std::array<Timespec, 2>& times) {
  for (const Timespec& t : times) {
    if (t.nsec != kUtimeNow && t.nsec != kUtimeOmit && (t.nsec < 0 || t.nsec >= 1000000000)) {
      return Error(EINVAL);
    }
  }
  const Timespec now = Now();
  const Credentials& creds = caller();
  MutexLock lock(&inode.mu);
  if (times[0].nsec == kUtimeOmit && times[1].nsec == kUtimeOmit) return Ok();
  // Rule X1: explicit times need ownership or CAP_FOWNER (EPERM); "now"
  // needs that or write permission (EACCES).
  if (!OwnerOrCapableLocked(creds, inode)) {
    const auto explicit_time = [](const Timespec& t) { return t.nsec != kUtimeNow && t.nsec != kUtimeOmit; };
    if (explicit_time(times[0]) || explicit_time(times[1])) return Error(EPERM);
    if (!PermittedLocked(creds, inode, kMayWrite)) return Error(EACCES);
  }
  if (times[0].nsec != kUtimeOmit) inode.atime = times[0].nsec == kUtimeNow ? now : times[0];
  if (times[1].nsec != kUtimeOmit) inode.mtime = times[1].nsec == kUtimeNow ? now : times[1];
  inode.ctime = now;
  // Rule M2 [VFS choice]: utimes sets DIRTY_SYNC only.
  inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
  return Ok();
}

Result<void> Filesystem::Utimens(std::string_view path, const std::array<Timespec, 2>& times,
                                 bool follow) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  // As Linux's utimensat: both omitted returns before the path is looked up.
  if (times[0].nsec == kUtimeOmit && times[1].nsec == kUtimeOmit) return Ok();
  return UtimensAt(kCwd, path, times, follow ? 0 : AT_SYMLINK_NOFOLLOW);
}

Result<void> Filesystem::UtimensAt(Fd dir, std::string_view path,
                                   const std::array<Timespec, 2>& times, int flags) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Error(EINVAL);
  if (times[0].nsec == kUtimeOmit && times[1].nsec == kUtimeOmit) return Ok();
  auto inode = ResolveAtFlags(dir, path, flags, /*follow_default=*/true);
  if (!inode.ok()) return Error(inode.error());
  return UtimensInode(**inode, times);
}

Result<void> Filesystem::Futimens(Fd fd, const std::array<Timespec, 2>& times) {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return alive;
  if (times[0].nsec == kUtimeOmit && times[1].nsec == kUtimeOmit) return Ok();
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  if (auto allowed = CheckRights(**got, wasi::kRightFdFilestatSetTimes); !allowed.ok()) return allowed;
  if ((*got)->is_path()) return Error(EBADF);
  return UtimensInode(*(*got)->inode, times);
}

Result<StatFs> Filesystem::Statfs() {
  CallScope call(options_);
  if (auto alive = CheckAlive(); !alive.ok()) return Error(alive.error());
  StatFs st;
  st.block_size = page_size_;
  st.blocks = options_.max_bytes / page_size_;
  const uint64_t used = accounts_->used_pages.load(std::memory_order_relaxed);
  st.blocks_free = used >= st.blocks ? 0 : st.blocks - used;
  st.files = options_.max_inodes;
  const uint64_t inodes = accounts_->inodes.load(std::memory_order_relaxed);
  st.files_free = inodes >= st.files ? 0 : st.files - inodes;
  st.name_max = options_.max_name_length;
  st.unlinked_bytes = accounts_->unlinked_bytes.load(std::memory_order_relaxed);
  return st;
}

// ---- Introspection ----

Result<PageState> Filesystem::PageStateAt(Fd fd, PageIndex index) {
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  Inode& inode = *(*got)->inode;
  MutexLock lock(&inode.mu);
  return inode.pages.StateOf(index);
}

Result<Filesystem::DirtySummary> Filesystem::DirtySummaryOf(Fd fd) {
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  Inode& inode = *(*got)->inode;
  MutexLock lock(&inode.mu);
  DirtySummary summary;
  summary.dirty_pages = inode.pages.dirty_pages();
  summary.writeback = inode.pages.HasWriteback();
  summary.flags = inode.dirty;
  summary.has_record = inode.has_record;
  if (auto* punches = inode.punches()) summary.punches = punches->size();
  return summary;
}

Result<uint8_t> Filesystem::InodeDirtyFlags(Fd fd) {
  auto got = GetFile(fd);
  if (!got.ok()) return Error(got.error());
  Inode& inode = *(*got)->inode;
  MutexLock lock(&inode.mu);
  return inode.dirty;
}

}  // namespace vfs
