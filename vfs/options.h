// Options: the limits and behaviour knobs of one mounted Filesystem.
//
// Every limit answers with its errno when exceeded (ENOSPC, EMFILE,
// ENAMETOOLONG, ELOOP, EFBIG); nothing aborts. Knobs marked [VFS choice]
// select between behaviours the semantics reference (docs/semantics.md)
// allows.
#ifndef VFS_OPTIONS_H_
#define VFS_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <limits>

#include "vfs/types.h"

namespace vfs {

// Which platform's answers the durability calls give (semantics E5).
enum class Personality {
  kLinux,  // default
  kAix,    // fsync and fdatasync need a descriptor open for writing (E5);
           // kAixOSync alone is data integrity (O5); kAixODefer (O6)
  kWasi,   // fsync and fdatasync answer as fd_sync and fd_datasync (E6, E7,
           // after wasi_mode), their WASI errno given back as the host errno
};

// AIX open flags, meaningful in the aix personality. AIX's O_SYNC is the bit
// of Linux's O_SYNC that is not O_DSYNC, so Linux's O_SYNC reads as AIX's
// O_SYNC|O_DSYNC (file integrity) and kAixOSync alone as AIX's O_SYNC, which
// gives data integrity (rule O5) unless Options::aix_xpg_sus_env. In the
// other personalities kAixOSync is O_SYNC, as Linux's open() makes it.
inline constexpr int kAixOSync = O_SYNC & ~O_DSYNC;
// Rule O6: pages dirtied through such a description are left out of sync()
// and syncfs() (the VFS's stand-in for background writeback); only fsync,
// fdatasync, fsync_range, an O_SYNC write or unmount write them. It takes a
// bit no Linux open flag uses; other personalities ignore it.
inline constexpr int kAixODefer = 0x20000000;

// The errno a call answers, in WasiMode::kSpec, when a descriptor lacks the
// WASI right the call needs (WASI's notcapable). Linux has no such errno; this
// value lies past Linux's last one (EHWPOISON, 133). In WasiMode::kWasmer a
// missing right is EACCES, as Wasmer answers.
inline constexpr int kENotCapable = 134;

// How WASI fd_sync / fd_datasync answer (semantics E6, E7).
enum class WasiMode {
  kWasmer,  // default: Wasmer's answers exactly (E7)
  kSpec,    // the preview1 spec's, with notcapable for a missing right (E6)
};

// How writeback errors reach descriptors (semantics W6: Linux history).
enum class WritebackErrorModel {
  kErrseq,               // default, Linux >= 4.17: W2-W5, late openers see an unseen error
  kErrseqNoLateReport,   // Linux 4.13-4.16: open samples the current word, so a
                         // late opener never sees an earlier error
  kLegacyFlags,          // Linux < 4.13: AS_EIO / AS_ENOSPC per inode; the first
                         // check clears them, other descriptors miss the error
};

struct Options {
  // Page size in bytes: a power of two from 512 to 65536. 0 takes the store's
  // page size, or 4096 for an empty store. A store formatted with another
  // page size refuses the mount with EINVAL.
  uint32_t page_size = 0;
  // Limits. Bytes count allocated pages, so holes are free.
  uint64_t max_bytes = std::numeric_limits<uint64_t>::max();
  uint64_t max_inodes = std::numeric_limits<uint64_t>::max();
  uint32_t max_open_fds = 1024;
  uint32_t max_name_length = 255;   // NAME_MAX
  uint32_t max_path_length = 4096;  // PATH_MAX, including the final NUL
  uint32_t max_symlink_depth = 40;  // symlinks followed in one lookup
  uint64_t max_file_size = std::numeric_limits<int64_t>::max();
  // [VFS choice] The page cache's size. Above it, clean pages the
  // store holds are dropped (least recently used first, by a clock scan) and
  // read back from the store when needed, so a filesystem larger than memory
  // works on a store that keeps its pages elsewhere (the disk store). Dirty
  // pages and pages in write-back are never dropped: only a sync cleans
  // them. Reads above it copy from the store without caching.
  uint64_t max_cache_bytes = std::numeric_limits<uint64_t>::max();
  // Entries in one directory ("." and ".." not counted). A create, link or
  // rename that would add one more answers ENOSPC, as a full ext4 directory
  // index does.
  uint64_t max_dir_entries = std::numeric_limits<uint64_t>::max();

  Personality personality = Personality::kLinux;
  WasiMode wasi_mode = WasiMode::kWasmer;
  // Rule E3: sync_file_range checks arguments in the order of Linux < 5.2.
  bool sync_file_range_pre_5_2 = false;
  // Rule E5 [VFS choice]: fsync_range accepts read-only descriptors, as BSD.
  bool fsync_range_bsd_lenient = false;
  // Rule O5: in the aix personality, O_SYNC alone (kAixOSync) gives file
  // integrity, as AIX with XPG_SUS_ENV=ON.
  bool aix_xpg_sus_env = false;
  // Rule M2: timestamp-only changes set DIRTY_TIME, which fsync converts and
  // fdatasync ignores.
  bool lazytime = false;
  // Rule W1 [VFS choice]: drop a page whose write-back failed at once, so
  // reads return what the store holds, instead of keeping the new bytes.
  bool drop_failed_pages = false;
  // Rule W6: which Linux generation's writeback error reporting to follow.
  WritebackErrorModel writeback_errors = WritebackErrorModel::kErrseq;
  // Timestamps come from here; the real-time clock when empty.
  Clock clock;
  // Called on the calling thread when a durability call returns (fsync,
  // fdatasync, sync_file_range, fsync_range, fd_sync, fd_datasync, syncfs,
  // sync), whether it succeeded or not: the crash explorer's "after every
  // sync call" crash points. It must not call the filesystem's durability
  // calls itself.
  std::function<void()> after_sync_call;
  // Called on the calling thread when a public call of the syscall-shaped API
  // returns (open, read, write, rename, fsync, ... but not Mount, Unmount,
  // Crash or the introspection calls), whether it succeeded or not, once per
  // call even when one call runs another inside it (open runs openat): the
  // crash explorer's "after every syscall" crash points. For a durability
  // call it runs after after_sync_call. It must not call the filesystem.
  // Empty costs one test per call.
  std::function<void()> after_call;
};

}  // namespace vfs

#endif  // VFS_OPTIONS_H_
