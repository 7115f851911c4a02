// Value types of the VFS API: distinct id types, timestamps, and the records
// that stat, readdir and statfs return.
//
// Open flags, modes and errnos are the host's Linux values from <fcntl.h>,
// <sys/stat.h> and <cerrno>, so code written against POSIX reads the same.
// Thread-safety: plain values.
#ifndef VFS_TYPES_H_
#define VFS_TYPES_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace vfs {

// A strongly typed integer id: InodeId, Fd and PageIndex do not mix.
template <typename Tag, typename T>
class Id {
 public:
  using ValueType = T;
  constexpr Id() = default;
  constexpr explicit Id(T value) : value_(value) {}
  constexpr T value() const { return value_; }
  friend constexpr auto operator<=>(Id, Id) = default;
  template <typename H>
  friend H AbslHashValue(H h, Id id) { return H::combine(std::move(h), id.value_); }

 private:
  T value_{};
};

using InodeId = Id<struct InodeIdTag, uint64_t>;
using Fd = Id<struct FdTag, int>;
using PageIndex = Id<struct PageIndexTag, uint64_t>;

// The root directory's inode number in every store.
inline constexpr InodeId kRootInode{1};
// The largest inode number the VFS gives out or a store may hold: beyond it
// creating a file is ENOSPC, so numbers never wrap to 0 or to the root's
// (issue 17), and a store's loader can refuse anything larger as forged.
inline constexpr uint64_t kMaxInodeNumber = uint64_t{1} << 62;
// The largest truncation and hole-punch generation (store.h) the VFS gives
// out or a store may hold: past it a truncation or punch that needs a new
// one is ENOSPC, and a mount that would need one fails with ENOSPC, so the
// VFS never writes a generation its store's loader refuses as forged. One
// is used per truncation or punch: 2^62 of them is out of any store's reach.
inline constexpr uint64_t kMaxGeneration = uint64_t{1} << 62;

struct Timespec {
  int64_t sec = 0;
  int64_t nsec = 0;
  friend constexpr auto operator<=>(const Timespec&, const Timespec&) = default;
};

// A source of timestamps. Tests install a deterministic one.
using Clock = std::function<Timespec()>;
Timespec RealTimeNow();

// stat(2) as the VFS reports it.
struct StatBuf {
  InodeId ino;
  uint32_t mode = 0;  // S_IFMT type bits | permission bits
  uint64_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;   // 512-byte units actually allocated (holes are free)
  uint32_t blksize = 0;  // the page size
  Timespec atime, mtime, ctime;
  uint64_t rdev = 0;     // rule X5: a device node's number, else 0
};

// One entry of readdir. `type` is a DT_* value from <dirent.h>.
struct DirEntry {
  InodeId ino;
  uint8_t type = 0;
  std::string name;
  friend bool operator==(const DirEntry&, const DirEntry&) = default;
};

// statfs(2) as the VFS reports it.
struct StatFs {
  uint32_t block_size = 0;  // the page size
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
  uint32_t name_max = 0;
  // Page bytes the store still holds for deleted files, freed once their
  // removal is durable (a directory fsync, syncfs, sync, unmount). Not
  // counted in blocks_free: max_bytes counts what a guest can reach.
  uint64_t unlinked_bytes = 0;
};

// sync_file_range(2) flags (Linux values).
inline constexpr unsigned kSyncFileRangeWaitBefore = 1;
inline constexpr unsigned kSyncFileRangeWrite = 2;
inline constexpr unsigned kSyncFileRangeWaitAfter = 4;

// AIX fsync_range(2) `how` values. O_DSYNC and O_SYNC are the host's values
// (Linux's O_SYNC contains the O_DSYNC bit); AIX's O_NOCACHE has no Linux
// counterpart, so it takes a bit no Linux open flag uses.
inline constexpr int kFsyncRangeDataSync = O_DSYNC;
inline constexpr int kFsyncRangeFileSync = O_SYNC;
inline constexpr int kFsyncRangeNoCache = 0x40000000;

// pwritev2(2) flags (Linux values) that Pwrite2 accepts.
inline constexpr int kRwfDsync = 0x2;
inline constexpr int kRwfSync = 0x4;
inline constexpr int kRwfAppend = 0x10;

// The bit Linux's F_GETFL shows for O_LARGEFILE, which open() forces on
// 64-bit kernels; the C library's O_LARGEFILE is 0 there, so it has no name.
#if defined(__x86_64__)
inline constexpr int kKernelLargefile = 0100000;
#elif defined(__aarch64__)
inline constexpr int kKernelLargefile = 0400000;
#else
inline constexpr int kKernelLargefile = 0;
#endif

// renameat2(2) flags (Linux values).
inline constexpr unsigned kRenameNoReplace = 1;
inline constexpr unsigned kRenameExchange = 2;

// utimensat(2) special nanosecond values (Linux values).
inline constexpr int64_t kUtimeNow = (1L << 30) - 1;
inline constexpr int64_t kUtimeOmit = (1L << 30) - 2;

}  // namespace vfs

#endif  // VFS_TYPES_H_
