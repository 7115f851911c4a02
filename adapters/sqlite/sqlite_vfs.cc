// The SQLite VFS over a vfs::Filesystem (docs/sqlite.md).
//
// SQLite hands every sqlite3_file a block of szOsFile bytes; SqliteFile is
// built in it with placement new in xOpen and destroyed in xClose. The lock
// state SQLite's connections share (the rollback-journal lock levels and the
// WAL shared memory with its lock slots) lives in one process-wide table
// keyed by (Filesystem, inode), so two connections to the same file see each
// other's locks even through different registrations, and a file that was
// unlinked and created again is a new file, as with POSIX advisory locks.
#include "adapters/sqlite/sqlite_vfs.h"

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "vfs/internal/mutex.h"

namespace vfs {
namespace {

// ---- Shared lock state ----

// One lock guards every FileLocks, SharedMemory's lock slots and region
// list, and each SqliteFile's lock fields. It is a leaf: no Filesystem or
// SQLite call is made while it is held. Lock order: g_registry_mu, then
// SQLite's own mutexes; g_locks_mu and SqliteVfs::random_mu are leaves.
// SQLite's reads and writes of mapped shared memory go around it, as they go
// around the kernel on a mmap'ed -shm file; xShmBarrier orders them.
Mutex g_locks_mu;

// The WAL index of one database file: SQLite's "-shm" regions, kept in this
// process only (the Filesystem is in this process too, so no other process
// can open the database), with the SQLITE_SHM_NLOCK lock slots.
struct SharedMemory {
  // Each `region_size` bytes, never moved while mapped.
  std::vector<std::unique_ptr<char[]>> regions ABSL_GUARDED_BY(g_locks_mu);
  int region_size ABSL_GUARDED_BY(g_locks_mu) = 0;
  // Holders of each slot's shared lock, and whether one holds it exclusive.
  std::array<int, SQLITE_SHM_NLOCK> shared ABSL_GUARDED_BY(g_locks_mu){};
  std::array<bool, SQLITE_SHM_NLOCK> exclusive ABSL_GUARDED_BY(g_locks_mu){};
  int users ABSL_GUARDED_BY(g_locks_mu) = 0;  // files that mapped it
};

struct SqliteFile;

// The locks of one file, shared by every connection of the process that has
// it open (SQLite's SHARED, RESERVED, PENDING and EXCLUSIVE levels, as the
// unix VFS keeps them in its unixInodeInfo for the connections of one
// process).
struct FileLocks {
  int users ABSL_GUARDED_BY(g_locks_mu) = 0;   // open SqliteFiles on this file
  int shared ABSL_GUARDED_BY(g_locks_mu) = 0;  // connections holding SHARED or more
  const SqliteFile* reserved ABSL_GUARDED_BY(g_locks_mu) = nullptr;
  const SqliteFile* pending ABSL_GUARDED_BY(g_locks_mu) = nullptr;
  const SqliteFile* exclusive ABSL_GUARDED_BY(g_locks_mu) = nullptr;
  std::unique_ptr<SharedMemory> shm ABSL_GUARDED_BY(g_locks_mu);
};

struct FileKey {
  const Filesystem* fs;
  InodeId ino;
  friend bool operator==(const FileKey&, const FileKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const FileKey& k) {
    return H::combine(std::move(h), k.fs, k.ino);
  }
};

absl::flat_hash_map<FileKey, std::unique_ptr<FileLocks>> g_locks ABSL_GUARDED_BY(g_locks_mu);

// ---- The VFS and its files ----

struct SqliteVfs {
  sqlite3_vfs base{};  // base.pAppData points back here
  std::string name;
  Filesystem* fs = nullptr;
  bool sync_directory_of_new_journals = true;
  std::atomic<int> open_files{0};
  Mutex random_mu;
  uint64_t random_state ABSL_GUARDED_BY(random_mu) = 0;
};

struct SqliteFile {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file*
  SqliteVfs* vfs = nullptr;
  Filesystem* fs = nullptr;
  Fd fd{-1};
  std::string path;
  InodeId ino;                 // with `fs`, the key of `locks` in g_locks
  FileLocks* locks = nullptr;  // owned by g_locks
  // Read by other connections' lock checks.
  int lock_level ABSL_GUARDED_BY(g_locks_mu) = SQLITE_LOCK_NONE;
  uint32_t shm_shared ABSL_GUARDED_BY(g_locks_mu) = 0;     // the shm slots held shared
  uint32_t shm_exclusive ABSL_GUARDED_BY(g_locks_mu) = 0;  // ... and exclusive
  bool shm_mapped ABSL_GUARDED_BY(g_locks_mu) = false;
  // The parent directory still needs an fsync to make this file's name
  // durable (a journal or WAL this open created: see Sync).
  bool dir_sync_pending = false;
};

SqliteFile* AsFile(sqlite3_file* file) { return reinterpret_cast<SqliteFile*>(file); }
SqliteVfs* AsVfs(sqlite3_vfs* vfs) { return static_cast<SqliteVfs*>(vfs->pAppData); }

// The errno of the last failed Filesystem call on this thread, for
// xGetLastError.
thread_local int t_last_errno = 0;

int Fail(int err, int sqlite_code) {
  t_last_errno = err;
  return sqlite_code;
}

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// fsync of the directory that holds `path`: rule D3, the only way an entry
// change (the create of a journal, the unlink of one) becomes durable.
Result<void> SyncParent(Filesystem& fs, const std::string& path) {
  auto dir = fs.Open(ParentOf(path), O_RDONLY | O_DIRECTORY);
  if (!dir.ok()) return Error(dir.error());
  Result<void> synced = fs.Fsync(*dir);
  // The close of a directory opened read-only cannot lose anything.
  (void)fs.Close(*dir);
  return synced;
}

// ---- sqlite3_io_methods ----

int FileClose(sqlite3_file* file);
int FileRead(sqlite3_file* file, void* buf, int amount, sqlite3_int64 offset);
int FileWrite(sqlite3_file* file, const void* buf, int amount, sqlite3_int64 offset);
int FileTruncate(sqlite3_file* file, sqlite3_int64 size);
int FileSync(sqlite3_file* file, int flags);
int FileSize(sqlite3_file* file, sqlite3_int64* size);
int FileLock(sqlite3_file* file, int level);
int FileUnlock(sqlite3_file* file, int level);
int FileCheckReservedLock(sqlite3_file* file, int* reserved);
int FileControl(sqlite3_file* file, int op, void* arg);
int FileSectorSize(sqlite3_file* file);
int FileDeviceCharacteristics(sqlite3_file* file);
int FileShmMap(sqlite3_file* file, int region, int region_size, int extend, void volatile** out);
int FileShmLock(sqlite3_file* file, int offset, int n, int flags);
void FileShmBarrier(sqlite3_file* file);
int FileShmUnmap(sqlite3_file* file, int delete_flag);

constexpr sqlite3_io_methods kIoMethods = {
    2,  // iVersion: shared memory; no xFetch (SQLite reads through xRead)
    FileClose,
    FileRead,
    FileWrite,
    FileTruncate,
    FileSync,
    FileSize,
    FileLock,
    FileUnlock,
    FileCheckReservedLock,
    FileControl,
    FileSectorSize,
    FileDeviceCharacteristics,
    FileShmMap,
    FileShmLock,
    FileShmBarrier,
    FileShmUnmap,
    nullptr,
    nullptr,
};

// Drops this file's shared-memory slot locks and its mapping; the regions go
// with the last mapping. SQLite's "-shm" contents need not outlive the last
// connection: the unix VFS makes the next first connection rebuild them from
// the WAL (it truncates the file when it wins the DMS lock), and a fresh
// zeroed region set makes SQLite do the same.
void ShmDetachLocked(SqliteFile& f) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_locks_mu) {
  if (!f.shm_mapped) return;
  SharedMemory& shm = *f.locks->shm;
  for (int slot = 0; slot < SQLITE_SHM_NLOCK; ++slot) {
    if (f.shm_shared & (1u << slot)) --shm.shared[slot];
    if (f.shm_exclusive & (1u << slot)) shm.exclusive[slot] = false;
  }
  f.shm_shared = 0;
  f.shm_exclusive = 0;
  f.shm_mapped = false;
  if (--shm.users == 0) f.locks->shm.reset();
}

void UnlockLocked(SqliteFile& f, int level) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_locks_mu) {
  FileLocks& locks = *f.locks;
  if (f.lock_level <= level) return;
  if (f.lock_level > SQLITE_LOCK_SHARED) {
    if (locks.reserved == &f) locks.reserved = nullptr;
    if (locks.pending == &f) locks.pending = nullptr;
    if (locks.exclusive == &f) locks.exclusive = nullptr;
  }
  if (level == SQLITE_LOCK_NONE) --locks.shared;
  f.lock_level = level;
}

int FileClose(sqlite3_file* file) {
  SqliteFile* f = AsFile(file);
  {
    MutexLock lock(&g_locks_mu);
    ShmDetachLocked(*f);
    UnlockLocked(*f, SQLITE_LOCK_NONE);
    if (--f->locks->users == 0) g_locks.erase(FileKey{f->fs, f->ino});
  }
  Result<void> closed = f->fs->Close(f->fd);
  SqliteVfs* vfs = f->vfs;
  f->~SqliteFile();
  --vfs->open_files;
  // Close never reports writeback errors (rule W5.5), so a failure here is
  // EBADF or EIO after a crash of the Filesystem: either way nothing is left
  // to save.
  return closed.ok() ? SQLITE_OK : Fail(closed.error(), SQLITE_IOERR_CLOSE);
}

int FileRead(sqlite3_file* file, void* buf, int amount, sqlite3_int64 offset) {
  SqliteFile* f = AsFile(file);
  char* out = static_cast<char*>(buf);
  size_t done = 0;
  while (done < static_cast<size_t>(amount)) {
    auto n = f->fs->Pread(f->fd, out + done, amount - done, offset + static_cast<int64_t>(done));
    if (!n.ok()) return Fail(n.error(), SQLITE_IOERR_READ);
    if (*n == 0) break;
    done += *n;
  }
  if (done < static_cast<size_t>(amount)) {
    // SQLite requires the unread tail zeroed on a short read.
    std::memset(out + done, 0, amount - done);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int FileWrite(sqlite3_file* file, const void* buf, int amount, sqlite3_int64 offset) {
  SqliteFile* f = AsFile(file);
  const char* in = static_cast<const char*>(buf);
  size_t done = 0;
  while (done < static_cast<size_t>(amount)) {
    auto n = f->fs->Pwrite(f->fd, in + done, amount - done, offset + static_cast<int64_t>(done));
    if (!n.ok()) {
      const int err = n.error();
      return Fail(
          err, err == ENOSPC || err == EDQUOT || err == EFBIG ? SQLITE_FULL : SQLITE_IOERR_WRITE);
    }
    done += *n;
  }
  return SQLITE_OK;
}

int FileTruncate(sqlite3_file* file, sqlite3_int64 size) {
  SqliteFile* f = AsFile(file);
  Result<void> done = f->fs->Ftruncate(f->fd, size);
  return done.ok() ? SQLITE_OK : Fail(done.error(), SQLITE_IOERR_TRUNCATE);
}

int FileSync(sqlite3_file* file, int flags) {
  SqliteFile* f = AsFile(file);
  // SQLITE_SYNC_DATAONLY: SQLite needs the bytes and the size back, not the
  // timestamps, which is fdatasync (rule D2). NORMAL and FULL without it get
  // fsync (rule D1); both leave the file's name to the directory (D3).
  Result<void> synced =
      (flags & SQLITE_SYNC_DATAONLY) != 0 ? f->fs->Fdatasync(f->fd) : f->fs->Fsync(f->fd);
  if (!synced.ok()) return Fail(synced.error(), SQLITE_IOERR_FSYNC);
  if (f->dir_sync_pending) {
    // A journal or WAL this connection created: its name must be durable
    // before SQLite relies on it. A rollback journal that vanished in a crash
    // cannot undo the database pages SQLite overwrites next. SQLite asks for
    // no directory sync here; its unix VFS makes this one at the first sync
    // of such a file, and so does this one.
    Result<void> dir = SyncParent(*f->fs, f->path);
    if (!dir.ok()) return Fail(dir.error(), SQLITE_IOERR_DIR_FSYNC);
    f->dir_sync_pending = false;
  }
  return SQLITE_OK;
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  SqliteFile* f = AsFile(file);
  auto st = f->fs->Fstat(f->fd);
  if (!st.ok()) return Fail(st.error(), SQLITE_IOERR_FSTAT);
  *size = static_cast<sqlite3_int64>(st->size);
  return SQLITE_OK;
}

// SQLite's lock levels for connections of this process (sqlite3.h "File
// Locking Levels"). A connection holding PENDING keeps new readers out; one
// holding EXCLUSIVE is the only connection with any lock. SQLite moves one
// level at a time except SHARED -> EXCLUSIVE, which passes through PENDING;
// when the other readers keep it from EXCLUSIVE, the file is left at PENDING
// and SQLITE_BUSY returned, as SQLite expects.
int FileLock(sqlite3_file* file, int level) {
  SqliteFile* f = AsFile(file);
  MutexLock lock(&g_locks_mu);
  if (f->lock_level >= level) return SQLITE_OK;
  FileLocks& locks = *f->locks;
  const auto other = [f](const SqliteFile* holder) { return holder != nullptr && holder != f; };
  if (level == SQLITE_LOCK_SHARED) {
    if (f->lock_level != SQLITE_LOCK_NONE) return SQLITE_MISUSE;
    if (other(locks.pending) || other(locks.exclusive)) return SQLITE_BUSY;
    ++locks.shared;
    f->lock_level = SQLITE_LOCK_SHARED;
    return SQLITE_OK;
  }
  // Every level above SHARED needs SHARED first.
  if (f->lock_level == SQLITE_LOCK_NONE) return SQLITE_MISUSE;
  if (level == SQLITE_LOCK_RESERVED) {
    if (other(locks.reserved) || other(locks.pending) || other(locks.exclusive)) return SQLITE_BUSY;
    locks.reserved = f;
    f->lock_level = SQLITE_LOCK_RESERVED;
    return SQLITE_OK;
  }
  if (other(locks.pending) || other(locks.exclusive)) return SQLITE_BUSY;
  locks.pending = f;
  f->lock_level = SQLITE_LOCK_PENDING;
  if (level == SQLITE_LOCK_PENDING) return SQLITE_OK;
  if (locks.shared > 1) return SQLITE_BUSY;  // readers still in: stay PENDING
  locks.exclusive = f;
  f->lock_level = SQLITE_LOCK_EXCLUSIVE;
  return SQLITE_OK;
}

int FileUnlock(sqlite3_file* file, int level) {
  SqliteFile* f = AsFile(file);
  if (level != SQLITE_LOCK_NONE && level != SQLITE_LOCK_SHARED) return SQLITE_MISUSE;
  MutexLock lock(&g_locks_mu);
  UnlockLocked(*f, level);
  return SQLITE_OK;
}

int FileCheckReservedLock(sqlite3_file* file, int* reserved) {
  SqliteFile* f = AsFile(file);
  MutexLock lock(&g_locks_mu);
  const FileLocks& locks = *f->locks;
  *reserved = f->lock_level >= SQLITE_LOCK_RESERVED || locks.reserved != nullptr ||
              locks.pending != nullptr || locks.exclusive != nullptr;
  return SQLITE_OK;
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  SqliteFile* f = AsFile(file);
  switch (op) {
    case SQLITE_FCNTL_LOCKSTATE: {
      MutexLock lock(&g_locks_mu);
      *static_cast<int*>(arg) = f->lock_level;
      return SQLITE_OK;
    }
    case SQLITE_FCNTL_VFSNAME:
      *static_cast<char**>(arg) = sqlite3_mprintf("%s", f->vfs->name.c_str());
      return SQLITE_OK;
    default:
      return SQLITE_NOTFOUND;  // SQLite treats every other op as a hint it may skip
  }
}

// Rule C3: a crash keeps each 512-byte sector of a page all old or all new,
// never torn inside (the explorer's weakest profile tears at that size and
// no smaller). A larger store atomic unit is not claimed.
int FileSectorSize(sqlite3_file*) { return 512; }

// What the Filesystem guarantees under every crash profile it models:
// POWERSAFE_OVERWRITE, because a page reaches the store as the cached page,
// whose bytes outside a write are the bytes that were there, so a crash
// (whole page, or any mix of its sectors, rule C3) never changes bytes a
// write did not cover. Not SAFE_APPEND: under rule C5 (writeback) and C6
// (weakest) a size may persist before the appended data. Not SEQUENTIAL:
// unsynced writes persist in any order (C2). No ATOMIC flag: the weakest
// profile tears a page write at the sector.
int FileDeviceCharacteristics(sqlite3_file*) { return SQLITE_IOCAP_POWERSAFE_OVERWRITE; }

int FileShmMap(sqlite3_file* file, int region, int region_size, int extend, void volatile** out) {
  SqliteFile* f = AsFile(file);
  if (region < 0 || region_size <= 0) return SQLITE_IOERR_SHMMAP;
  MutexLock lock(&g_locks_mu);
  FileLocks& locks = *f->locks;
  if (!f->shm_mapped) {
    if (!locks.shm) locks.shm = std::make_unique<SharedMemory>();
    ++locks.shm->users;
    f->shm_mapped = true;
  }
  SharedMemory& shm = *locks.shm;
  if (shm.region_size == 0) shm.region_size = region_size;
  if (shm.region_size != region_size) return SQLITE_IOERR_SHMSIZE;
  if (static_cast<size_t>(region) >= shm.regions.size()) {
    if (!extend) {
      *out = nullptr;  // SQLite asks without extending to learn whether it exists
      return SQLITE_OK;
    }
    while (shm.regions.size() <= static_cast<size_t>(region)) {
      std::unique_ptr<char[]> bytes(new (std::nothrow) char[region_size]());
      if (!bytes) return SQLITE_NOMEM;
      shm.regions.push_back(std::move(bytes));
    }
  }
  *out = shm.regions[region].get();
  return SQLITE_OK;
}

// The WAL index lock slots (sqlite3.h xShmLock): each slot is held shared by
// any number of connections or exclusive by one; a request that cannot be
// granted at once is SQLITE_BUSY (SQLite retries, never waits here).
int FileShmLock(sqlite3_file* file, int offset, int n, int flags) {
  SqliteFile* f = AsFile(file);
  if (offset < 0 || n < 1 || offset + n > SQLITE_SHM_NLOCK) return SQLITE_MISUSE;
  const uint32_t mask = ((1u << (offset + n)) - 1) & ~((1u << offset) - 1);
  MutexLock lock(&g_locks_mu);
  if (!f->shm_mapped) return SQLITE_IOERR_SHMLOCK;
  SharedMemory& shm = *f->locks->shm;
  if (flags & SQLITE_SHM_UNLOCK) {
    for (int slot = offset; slot < offset + n; ++slot) {
      const uint32_t bit = 1u << slot;
      if ((flags & SQLITE_SHM_SHARED) && (f->shm_shared & bit)) --shm.shared[slot];
      if ((flags & SQLITE_SHM_EXCLUSIVE) && (f->shm_exclusive & bit)) shm.exclusive[slot] = false;
    }
    if (flags & SQLITE_SHM_SHARED) f->shm_shared &= ~mask;
    if (flags & SQLITE_SHM_EXCLUSIVE) f->shm_exclusive &= ~mask;
    return SQLITE_OK;
  }
  if (flags & SQLITE_SHM_SHARED) {
    for (int slot = offset; slot < offset + n; ++slot) {
      if (shm.exclusive[slot] && !(f->shm_exclusive & (1u << slot))) return SQLITE_BUSY;
    }
    for (int slot = offset; slot < offset + n; ++slot) {
      if (!(f->shm_shared & (1u << slot))) ++shm.shared[slot];
    }
    f->shm_shared |= mask;
    return SQLITE_OK;
  }
  for (int slot = offset; slot < offset + n; ++slot) {
    const uint32_t bit = 1u << slot;
    if (f->shm_exclusive & bit) continue;
    const int others = shm.shared[slot] - ((f->shm_shared & bit) ? 1 : 0);
    if (shm.exclusive[slot] || others > 0) return SQLITE_BUSY;
  }
  for (int slot = offset; slot < offset + n; ++slot) shm.exclusive[slot] = true;
  f->shm_exclusive |= mask;
  return SQLITE_OK;
}

void FileShmBarrier(sqlite3_file*) {
  // Connections of this process share the regions' memory directly; a full
  // fence orders this thread's stores to them before its later loads and
  // stores, which is all xShmBarrier asks.
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

int FileShmUnmap(sqlite3_file* file, int delete_flag) {
  SqliteFile* f = AsFile(file);
  MutexLock lock(&g_locks_mu);
  // `delete_flag` asks to remove the -shm file; there is none, and the
  // regions go with the last mapping whether it is set or not.
  ShmDetachLocked(*f);
  return SQLITE_OK;
}

// ---- sqlite3_vfs methods ----

int VfsOpen(sqlite3_vfs* sqlite_vfs, const char* name, sqlite3_file* file, int flags,
            int* out_flags) {
  SqliteVfs* vfs = AsVfs(sqlite_vfs);
  Filesystem& fs = *vfs->fs;
  file->pMethods = nullptr;  // SQLite calls xClose only if the open succeeded
  const int type = flags & 0x0FFFFF00;
  int oflags = (flags & SQLITE_OPEN_READWRITE) ? O_RDWR : O_RDONLY;
  if (flags & SQLITE_OPEN_CREATE) oflags |= O_CREAT;
  if (flags & SQLITE_OPEN_EXCLUSIVE) oflags |= O_EXCL;
  std::string path;
  Result<Fd> fd = Error(EINVAL);
  if (name == nullptr) {
    // A temporary file SQLite names nothing: a fresh name in the root,
    // unlinked below at once (SQLite passes DELETEONCLOSE).
    static std::atomic<uint64_t> next_temp{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      path = "/.sqlite-temp-" + std::to_string(next_temp.fetch_add(1));
      fd = fs.Open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
      if (fd.ok() || fd.error() != EEXIST) break;
    }
  } else {
    path = name;
    fd = fs.Open(path, oflags, 0644);
  }
  if (!fd.ok()) return Fail(fd.error(), SQLITE_CANTOPEN);
  if (flags & SQLITE_OPEN_DELETEONCLOSE) {
    // The data stays while the descriptor is open (unlink keeps an open
    // file), and no crash can leave the name behind once this is durable.
    Result<void> unlinked = fs.Unlink(path);
    if (!unlinked.ok()) {
      (void)fs.Close(*fd);  // a fresh descriptor: nothing written to lose
      return Fail(unlinked.error(), SQLITE_CANTOPEN);
    }
  }
  auto st = fs.Fstat(*fd);
  if (!st.ok()) {
    (void)fs.Close(*fd);  // nothing written yet
    return Fail(st.error(), SQLITE_CANTOPEN);
  }
  if (S_ISDIR(st->mode)) {
    (void)fs.Close(*fd);
    return Fail(EISDIR, SQLITE_CANTOPEN);
  }
  SqliteFile* f = new (file) SqliteFile();
  f->base.pMethods = &kIoMethods;
  f->vfs = vfs;
  f->fs = &fs;
  f->fd = *fd;
  f->path = std::move(path);
  f->ino = st->ino;
  f->dir_sync_pending = vfs->sync_directory_of_new_journals && (flags & SQLITE_OPEN_CREATE) &&
                        (type == SQLITE_OPEN_MAIN_JOURNAL || type == SQLITE_OPEN_SUPER_JOURNAL ||
                         type == SQLITE_OPEN_WAL);
  {
    MutexLock lock(&g_locks_mu);
    std::unique_ptr<FileLocks>& locks = g_locks[FileKey{&fs, st->ino}];
    if (!locks) locks = std::make_unique<FileLocks>();
    ++locks->users;
    f->locks = locks.get();
  }
  ++vfs->open_files;
  if (out_flags != nullptr) *out_flags = flags;
  return SQLITE_OK;
}

int VfsDelete(sqlite3_vfs* sqlite_vfs, const char* name, int sync_dir) {
  Filesystem& fs = *AsVfs(sqlite_vfs)->fs;
  Result<void> unlinked = fs.Unlink(name);
  if (!unlinked.ok()) {
    return Fail(unlinked.error(),
                unlinked.error() == ENOENT ? SQLITE_IOERR_DELETE_NOENT : SQLITE_IOERR_DELETE);
  }
  if (sync_dir) {
    // Rule D3: the unlink is durable only once its directory is fsynced.
    Result<void> synced = SyncParent(fs, name);
    if (!synced.ok()) return Fail(synced.error(), SQLITE_IOERR_DIR_FSYNC);
  }
  return SQLITE_OK;
}

int VfsAccess(sqlite3_vfs* sqlite_vfs, const char* name, int flags, int* result) {
  Filesystem& fs = *AsVfs(sqlite_vfs)->fs;
  auto st = fs.Stat(name);
  *result = 0;
  if (!st.ok()) return SQLITE_OK;  // absent (or unreachable) is an answer, not an error
  switch (flags) {
    case SQLITE_ACCESS_EXISTS:
      // An empty regular file does not count, as in the unix VFS: SQLite
      // leaves empty journals and WAL files behind and relies on that.
      *result = !S_ISREG(st->mode) || st->size > 0;
      break;
    case SQLITE_ACCESS_READWRITE:
      *result = (st->mode & 0200) != 0;
      break;
    default:  // SQLITE_ACCESS_READ
      *result = (st->mode & 0400) != 0;
      break;
  }
  return SQLITE_OK;
}

int VfsFullPathname(sqlite3_vfs* sqlite_vfs, const char* name, int out_size, char* out) {
  std::string full = name;
  if (full.empty() || full[0] != '/') {
    auto cwd = AsVfs(sqlite_vfs)->fs->Getcwd();
    if (!cwd.ok()) return Fail(cwd.error(), SQLITE_CANTOPEN);
    full = *cwd + (cwd->back() == '/' ? "" : "/") + full;
  }
  if (full.size() + 1 > static_cast<size_t>(out_size)) return Fail(ENAMETOOLONG, SQLITE_CANTOPEN);
  std::memcpy(out, full.c_str(), full.size() + 1);
  return SQLITE_OK;
}

// No loadable extensions from inside the Filesystem: a shared object has to
// be mapped by the host's loader.
void* VfsDlOpen(sqlite3_vfs*, const char*) { return nullptr; }
void VfsDlError(sqlite3_vfs*, int size, char* out) {
  sqlite3_snprintf(size, out, "loadable extensions are not supported by this VFS");
}
void (*VfsDlSym(sqlite3_vfs*, void*, const char*))(void) { return nullptr; }
void VfsDlClose(sqlite3_vfs*, void*) {}

// splitmix64: a full-period generator; with a fixed seed the same stream on
// every run.
uint64_t NextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int VfsRandomness(sqlite3_vfs* sqlite_vfs, int size, char* out) {
  SqliteVfs* vfs = AsVfs(sqlite_vfs);
  MutexLock lock(&vfs->random_mu);
  for (int i = 0; i < size; i += 8) {
    const uint64_t word = NextRandom(vfs->random_state);
    std::memcpy(out + i, &word, std::min(8, size - i));
  }
  return size;
}

int VfsSleep(sqlite3_vfs*, int microseconds) {
  std::this_thread::sleep_for(std::chrono::microseconds(microseconds));
  return microseconds;
}

// Milliseconds since the Julian epoch (noon in Greenwich on November 24,
// 4714 B.C.), the unit of xCurrentTimeInt64.
int VfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* now) {
  constexpr sqlite3_int64 kUnixEpochInJulianMs = 24405875 * sqlite3_int64{8640000};
  const auto since_unix = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  *now = kUnixEpochInJulianMs + since_unix.count();
  return SQLITE_OK;
}

int VfsCurrentTime(sqlite3_vfs* vfs, double* now) {
  sqlite3_int64 ms = 0;
  const int rc = VfsCurrentTimeInt64(vfs, &ms);
  *now = ms / 86400000.0;
  return rc;
}

int VfsGetLastError(sqlite3_vfs*, int size, char* out) {
  if (size > 0 && out != nullptr) sqlite3_snprintf(size, out, "%s", std::strerror(t_last_errno));
  return t_last_errno;
}

// ---- Registry ----

Mutex g_registry_mu;
absl::flat_hash_map<std::string, std::unique_ptr<SqliteVfs>> g_registry
    ABSL_GUARDED_BY(g_registry_mu);

}  // namespace

int RegisterSqliteVfs(const char* name, Filesystem* fs, bool make_default,
                      SqliteVfsOptions options) {
  if (name == nullptr || *name == '\0' || fs == nullptr) return EINVAL;
  if (sqlite3_initialize() != SQLITE_OK) return ENOMEM;
  MutexLock lock(&g_registry_mu);
  if (g_registry.contains(name) || sqlite3_vfs_find(name) != nullptr) return EEXIST;
  auto vfs = std::make_unique<SqliteVfs>();
  vfs->name = name;
  vfs->fs = fs;
  vfs->sync_directory_of_new_journals = options.sync_directory_of_new_journals;
  {
    MutexLock random(&vfs->random_mu);
    vfs->random_state = options.random_seed != 0
                            ? options.random_seed
                            : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  }
  sqlite3_vfs& base = vfs->base;
  base.iVersion = 2;  // up to xCurrentTimeInt64
  base.szOsFile = sizeof(SqliteFile);
  base.mxPathname = static_cast<int>(fs->options().max_path_length);
  base.zName = vfs->name.c_str();
  base.pAppData = vfs.get();
  base.xOpen = VfsOpen;
  base.xDelete = VfsDelete;
  base.xAccess = VfsAccess;
  base.xFullPathname = VfsFullPathname;
  base.xDlOpen = VfsDlOpen;
  base.xDlError = VfsDlError;
  base.xDlSym = VfsDlSym;
  base.xDlClose = VfsDlClose;
  base.xRandomness = VfsRandomness;
  base.xSleep = VfsSleep;
  base.xCurrentTime = VfsCurrentTime;
  base.xGetLastError = VfsGetLastError;
  base.xCurrentTimeInt64 = VfsCurrentTimeInt64;
  if (sqlite3_vfs_register(&base, make_default ? 1 : 0) != SQLITE_OK) return ENOMEM;
  g_registry.emplace(name, std::move(vfs));
  return 0;
}

int UnregisterSqliteVfs(const char* name) {
  if (name == nullptr) return ENOENT;
  MutexLock lock(&g_registry_mu);
  auto it = g_registry.find(name);
  if (it == g_registry.end()) return ENOENT;
  if (it->second->open_files.load() > 0) return EBUSY;
  // Unregistering a VFS that is registered cannot fail.
  (void)sqlite3_vfs_unregister(&it->second->base);
  g_registry.erase(it);
  return 0;
}

}  // namespace vfs
