// Filesystem: one mounted in-memory tree with real durability semantics.
//
// A syscall-shaped API (descriptors, exact errnos) over files, directories,
// symlinks and FIFOs kept in memory. Every change is first only visible; the
// durability calls commit the dirty state to the Store the tree was mounted
// on, as the numbered rules of docs/semantics.md say:
//   fsync / fdatasync (D1, D2), fsync of a directory (D3), sync_file_range
//   (D5, E2, S1-S5), AIX fsync_range (D6, E5), WASI fd_sync / fd_datasync
//   (D7, E6, E7), syncfs / sync, O_SYNC / O_DSYNC writes (O1-O3).
// Crash() drops everything that is not durable; mounting a new Filesystem on
// the same store then shows exactly the durable state.
//
//   auto store = vfs::NewMemoryStore();
//   auto fs = vfs::Filesystem::Mount(store).value();
//   vfs::Fd fd = fs->Open("/log", O_WRONLY | O_CREAT | O_APPEND, 0644).value();
//   fs->Write(fd, "record\n", 7);
//   fs->Fsync(fd);                    // data and inode durable, name not yet
//   fs->Fsync(fs->Open("/", O_RDONLY | O_DIRECTORY).value());  // the name too
//   fs->Crash();
//   auto after = vfs::Filesystem::Mount(store).value();        // "/log" is there
//
// Every call checks all its arguments before it changes anything, so a call
// that fails changes nothing. After Crash() or Unmount() every call returns
// EIO.
//
// Thread-safety: every method is thread-safe. Lock order: the namespace lock,
// then a description's position lock, then an inode's lock.
#ifndef VFS_FILESYSTEM_H_
#define VFS_FILESYSTEM_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "vfs/credentials.h"
#include "vfs/internal/mutex.h"
#include "vfs/options.h"
#include "vfs/errseq.h"
#include "vfs/fd_table.h"
#include "vfs/page_cache.h"
#include "vfs/result.h"
#include "vfs/store.h"
#include "vfs/types.h"
#include "vfs/wasi.h"

namespace vfs {

struct Inode;
struct OpenFile;

// The descriptor that names the current directory in the *At calls.
inline constexpr Fd kCwd{AT_FDCWD};

// fallocate(2) modes (Linux values), rule X3.
inline constexpr int kFallocKeepSize = 0x01;
inline constexpr int kFallocPunchHole = 0x02;
inline constexpr int kFallocZeroRange = 0x10;
// setxattr(2) flags (Linux values), rule X2.
inline constexpr int kXattrCreate = 1;
inline constexpr int kXattrReplace = 2;
// Rule X2 limits: the longest name and the largest value (Linux's
// XATTR_NAME_MAX and XATTR_SIZE_MAX).
inline constexpr size_t kXattrNameMax = 255;
inline constexpr size_t kXattrSizeMax = 65536;

// What a mount repaired in a durable image that a crash left inconsistent.
struct MountReport {
  uint64_t inodes = 0;             // inodes mounted
  uint64_t dropped_entries = 0;    // entries naming an inode with no record
  uint64_t orphans_freed = 0;      // records no entry reaches
  uint64_t pages_beyond_size = 0;  // pages past the durable size, dropped
};

class Filesystem {
 public:
  // Mounts the durable state of `store`, formatting it first if it is empty
  // (the root directory is made durable at once). EINVAL for bad options
  // (page size not a power of two in [512, 65536], or unlike the store's);
  // EBUSY if another Filesystem has the store mounted; the store's errno if it
  // cannot be read.
  static Result<std::unique_ptr<Filesystem>> Mount(std::shared_ptr<Store> store,
                                                   Options options = {});
  // Unmounts as Unmount() does, unless Crash() or Unmount() came first.
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Makes everything durable (as sync), waits for all store writes and gives
  // the store up. Returns the first error met; the store is released anyway.
  Result<void> Unmount();
  // Power cut: the store drops everything not durable and this Filesystem
  // stops (every later call returns EIO). Mount the store again to see what
  // survived.
  void Crash();

  // ---- Identity (rule X1) ----

  // The identity calls run with when no ScopedCredentials is alive on the
  // calling thread (vfs/credentials.h). Until this is called it is root with
  // every capability and umask 0. Thread-safe; calls already running keep
  // the identity they started with. Each call keeps its copy until the
  // Filesystem goes (see credentials_kept_): set it rarely, and give
  // per-request identities with ScopedCredentials, which keeps nothing.
  void SetCredentials(Credentials creds);
  // The identity a call made now on this thread runs with.
  const Credentials& caller() const;

  // ---- Files and descriptors ----

  // open(2) / openat(2). Flags: O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL,
  // O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_SYNC, O_DSYNC (others
  // are accepted and ignored, as Linux ignores unknown flags). `dir` is
  // kCwd or a directory descriptor for a relative path. Errors: ENOENT,
  // ENOTDIR, EISDIR (directory opened for writing, or O_CREAT on one or on a
  // name followed by a slash), EEXIST
  // (O_CREAT|O_EXCL), ELOOP (O_NOFOLLOW on a symlink, or too many symlinks),
  // ENAMETOOLONG, EINVAL (O_CREAT with O_DIRECTORY, or a NUL in the path),
  // EACCES / kENotCapable (wasi personality: a path through `dir` that would
  // leave it by an absolute path, "..", or an absolute symlink),
  // EMFILE, ENOSPC (inode limit), EBADF (bad `dir`). O_TRUNC truncates a
  // regular file, as on Linux. Access mode 3 is accepted, as Linux does, and
  // gives a descriptor that can neither read nor write.
  Result<Fd> Open(std::string_view path, int flags, uint32_t mode = 0);
  //
  // Rule X1: search permission on every directory walked, read / write
  // permission for the access mode (and O_TRUNC), write and search on the
  // parent to create; the new inode takes the caller's uid, the caller's
  // gid or a setgid parent's, and `mode` less the caller's umask (EACCES,
  // EPERM). Rule X4: O_TMPFILE makes an unnamed regular file in the
  // directory `path` names (EINVAL without write access, ENOTDIR, EISDIR
  // never); LinkAt with AT_EMPTY_PATH names it unless O_EXCL was given.
  // Rule X5: a device or socket node gives ENXIO (O_PATH excepted). Rule X6:
  // a FIFO opened O_WRONLY|O_NONBLOCK with no reader gives ENXIO.
  Result<Fd> OpenAt(Fd dir, std::string_view path, int flags, uint32_t mode = 0);
  // close(2). EBADF if `fd` is not open. Never reports writeback errors (W5.5).
  // After Crash() or Unmount() the descriptor is freed and EIO returned.
  Result<void> Close(Fd fd);
  // dup(2): the lowest free descriptor, sharing the open file description.
  Result<Fd> Dup(Fd fd);
  // fcntl(F_GETFL): the description's access mode and status flags as Linux
  // reports them: O_CLOEXEC, O_NOCTTY and bits open() does not know are not
  // among them, and a description made by open() other than O_PATH carries
  // the kernel's O_LARGEFILE bit (kKernelLargefile; glibc's O_LARGEFILE is
  // 0 on 64-bit targets), a pipe's does not. EBADF if `fd` is not open.
  Result<int> GetStatusFlags(Fd fd);
  // fcntl(F_SETFL): sets O_APPEND, O_NONBLOCK, O_DIRECT and O_NOATIME to their
  // values in `flags` (O_NDELAY is O_NONBLOCK) and ignores every other bit:
  // the access mode, and O_SYNC / O_DSYNC, which Linux silently ignores here
  // (rule O3), so a description's sync mode is the one it was opened with.
  // O_ASYNC is ignored too (the VFS sends no signals). The description is
  // shared, so dups see the change. EBADF (not open, or O_PATH, as Linux),
  // and the WASI right fd_fdstat_set_flags (EACCES or kENotCapable).
  Result<void> SetStatusFlags(Fd fd, int flags);

  // read(2), write(2), pread(2), pwrite(2). EBADF (not open, O_PATH, or the
  // wrong access mode), EISDIR (read of a directory), ESPIPE (pread/pwrite on
  // a FIFO), EINVAL (negative offset), EFBIG (past max_file_size), ENOSPC
  // (max_bytes; nothing is written), EAGAIN (empty FIFO with a writer, or a
  // full one: FIFOs never block). With O_APPEND every write goes to the end,
  // pwrite included (as Linux). With O_SYNC / O_DSYNC a write is followed by
  // the sync of rule O2 / O1 over its range; if that fails the write returns
  // the error and the offset does not move.
  Result<size_t> Read(Fd fd, void* buf, size_t count);
  Result<size_t> Write(Fd fd, const void* buf, size_t count);
  Result<size_t> Pread(Fd fd, void* buf, size_t count, int64_t offset);
  Result<size_t> Pwrite(Fd fd, const void* buf, size_t count, int64_t offset);
  // pwritev2(2) with one buffer. `rwf_flags`: RWF_DSYNC and RWF_SYNC (rule
  // O3); offset -1 means the current offset (on a FIFO, a plain write).
  // EOPNOTSUPP for other flags.
  Result<size_t> Pwrite2(Fd fd, const void* buf, size_t count, int64_t offset, int rwf_flags);
  // lseek(2): SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE (holes are
  // page-granular). EINVAL (bad whence or negative result), ENXIO
  // (SEEK_DATA/SEEK_HOLE at or past the end, or no data after), ESPIPE (FIFO).
  // A position past INT64_MAX is EINVAL.
  Result<int64_t> Lseek(Fd fd, int64_t offset, int whence);
  // truncate(2) / ftruncate(2). EINVAL (negative length; ftruncate on a
  // descriptor not open for writing or not a regular file), EISDIR (truncate
  // of a directory), EFBIG, ENOSPC.
  Result<void> Truncate(std::string_view path, int64_t length);
  Result<void> Ftruncate(Fd fd, int64_t length);

  // ---- Namespace ----
  //
  // Paths resolve as on Linux. A lookup (open without O_CREAT, Stat, Lstat,
  // Chdir, Chmod, Utimens, Truncate, Readlink, Link's `from`) follows a final
  // symlink when a slash follows its name, even Lstat and O_NOFOLLOW, and
  // then needs a directory (ENOTDIR). The calls that act on the last name
  // itself (Mkdir, Mkfifo, Symlink, Link's `to`, Rmdir, Unlink, Rename,
  // O_CREAT) never follow it; their answers for a trailing slash are below.
  // Inside a removed directory "." and ".." still resolve (".." to the
  // directory it was removed from); any other name is ENOENT.

  // mkdir(2): EEXIST if anything, a symlink included, has the name (even
  // with a trailing slash).
  Result<void> Mkdir(std::string_view path, uint32_t mode);
  // rmdir(2): ENOTEMPTY, ENOTDIR (a symlink too, with or without a trailing
  // slash), EBUSY (the root), EINVAL (last component ".").
  Result<void> Rmdir(std::string_view path);
  // unlink(2): EISDIR for a directory; ENOTDIR for anything else followed by
  // a slash. An open file keeps its data until its last descriptor closes.
  Result<void> Unlink(std::string_view path);
  // renameat2(2) semantics: atomic, replaces a target; flags kRenameNoReplace
  // (EEXIST if the target exists) and kRenameExchange (ENOENT if it does not).
  // EINVAL (a directory into its own subtree, or bad flags), EISDIR, ENOTDIR
  // (also a trailing slash on a side that is not a directory), ENOTEMPTY,
  // EBUSY ("." or ".." or the root; EEXIST for the target with
  // kRenameNoReplace).
  Result<void> Rename(std::string_view from, std::string_view to, unsigned flags = 0);
  // link(2): EEXIST if `to` exists, ENOENT if it is missing and followed by a
  // slash, then EPERM for a directory. A symlink `from` is linked, not
  // followed.
  Result<void> Link(std::string_view from, std::string_view to);
  // symlink(2): EEXIST if `path` exists; ENOENT if it is missing and followed
  // by a slash.
  Result<void> Symlink(std::string_view target, std::string_view path);
  // readlink(2): EINVAL if `path` is not a symlink.
  Result<std::string> Readlink(std::string_view path);
  // mkfifo(3): as Symlink for `path`.
  Result<void> Mkfifo(std::string_view path, uint32_t mode);
  // mknod(2), rule X5: S_IFREG (or type 0), S_IFIFO, S_IFSOCK, S_IFCHR,
  // S_IFBLK; `rdev` is kept for devices (0 for the others). EINVAL for
  // another type (a directory or symlink included), EPERM for a device
  // without CAP_MKNOD, then as Mkfifo.
  Result<void> Mknod(std::string_view path, uint32_t mode, uint64_t rdev);

  // ---- The *at forms ----
  //
  // Every path call relative to a directory descriptor `dir` (kCwd: the
  // current directory), which may be an O_PATH descriptor. The path forms
  // above are these with kCwd. `flags` are Linux's AT_* values; a flag a call
  // does not take is EINVAL. AT_EMPTY_PATH with an empty path acts on `dir`
  // itself (any kind of file, an O_PATH descriptor of a symlink included).
  // A relative path through a descriptor that is not a directory is ENOTDIR;
  // a bad descriptor EBADF (an absolute path ignores `dir`, as Linux).

  // mkdirat(2).
  Result<void> MkdirAt(Fd dir, std::string_view path, uint32_t mode);
  // unlinkat(2): AT_REMOVEDIR makes it rmdir.
  Result<void> UnlinkAt(Fd dir, std::string_view path, int flags);
  // renameat2(2).
  Result<void> RenameAt(Fd from_dir, std::string_view from, Fd to_dir, std::string_view to,
                        unsigned flags = 0);
  // linkat(2): AT_SYMLINK_FOLLOW follows a final symlink of `from`;
  // AT_EMPTY_PATH links the file `from_dir` is open on (an O_TMPFILE file,
  // rule X4; ENOENT for a file with no link left that is not one).
  Result<void> LinkAt(Fd from_dir, std::string_view from, Fd to_dir, std::string_view to,
                      int flags);
  // A front end's link of a file it holds open for its clients (a FUSE
  // server's LINK, which the kernel sends after its own checks): as
  // LinkAt(node, "", to_dir, to, AT_EMPTY_PATH) under the caller's identity,
  // except that who opened `node` does not matter (the server did). The
  // caller's permission on the new name and protected_hardlinks apply.
  Result<void> LinkHandle(Fd node, Fd to_dir, std::string_view to);
  // symlinkat(2).
  Result<void> SymlinkAt(std::string_view target, Fd dir, std::string_view path);
  // readlinkat(2): an empty path reads the symlink `dir` is open on
  // (O_PATH|O_NOFOLLOW); ENOENT if that file is not a symlink, as Linux.
  Result<std::string> ReadlinkAt(Fd dir, std::string_view path);
  // mknodat(2) and mkfifoat(3).
  Result<void> MknodAt(Fd dir, std::string_view path, uint32_t mode, uint64_t rdev);
  Result<void> MkfifoAt(Fd dir, std::string_view path, uint32_t mode);
  // fstatat(2): AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH (AT_NO_AUTOMOUNT ignored).
  Result<StatBuf> FstatAt(Fd dir, std::string_view path, int flags);
  // fchmodat(2): AT_SYMLINK_NOFOLLOW on a symlink is EOPNOTSUPP, as Linux;
  // AT_EMPTY_PATH (fchmodat2).
  Result<void> FchmodAt(Fd dir, std::string_view path, uint32_t mode, int flags);
  // fchownat(2): AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
  Result<void> FchownAt(Fd dir, std::string_view path, uint32_t uid, uint32_t gid, int flags);
  // utimensat(2): AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
  Result<void> UtimensAt(Fd dir, std::string_view path, const std::array<Timespec, 2>& times,
                         int flags);
  // truncate(2) relative to `dir` (AT_EMPTY_PATH: the file `dir` is open on,
  // which, unlike ftruncate, need not be open for writing).
  Result<void> TruncateAt(Fd dir, std::string_view path, int64_t length, int flags);
  // pipe(2): {read end, write end}. Pipes never block: EAGAIN instead.
  Result<std::pair<Fd, Fd>> Pipe();
  Result<void> Chdir(std::string_view path);
  // getcwd(3). ENOENT (the directory was removed), ENAMETOOLONG (the path
  // with its NUL is longer than max_path_length, PATH_MAX, as Linux).
  Result<std::string> Getcwd();

  // ---- Attributes ----

  Result<StatBuf> Stat(std::string_view path);
  Result<StatBuf> Lstat(std::string_view path);
  Result<StatBuf> Fstat(Fd fd);
  // chmod(2): the permission bits (07777) of `mode`. Rule X1: the owner or
  // CAP_FOWNER (EPERM); S_ISGID is dropped when the caller is not in the
  // file's group and lacks CAP_FSETID.
  Result<void> Chmod(std::string_view path, uint32_t mode);
  Result<void> Fchmod(Fd fd, uint32_t mode);
  // chown(2), lchown(2), fchown(2), rule X1. kNoId (-1) leaves a field as it
  // is. EPERM: changing the owner without CAP_CHOWN, or the group to one
  // the caller (the owner) is not in. Clears S_ISUID, and S_ISGID with
  // group-execute, on a non-directory. Durable by fsync (M2).
  static constexpr uint32_t kNoId = ~uint32_t{0};
  Result<void> Chown(std::string_view path, uint32_t uid, uint32_t gid);
  Result<void> Lchown(std::string_view path, uint32_t uid, uint32_t gid);
  Result<void> Fchown(Fd fd, uint32_t uid, uint32_t gid);
  // utimensat(2): {atime, mtime}; nsec kUtimeNow or kUtimeOmit as in Linux.
  // EINVAL for nsec outside [0, 1e9) other than those two.
  Result<void> Utimens(std::string_view path, const std::array<Timespec, 2>& times,
                       bool follow = true);
  Result<void> Futimens(Fd fd, const std::array<Timespec, 2>& times);
  // The next entries of a directory ("." and ".." first, then names in byte
  // order), at most `max`; empty at the end. lseek(fd, 0, SEEK_SET) rewinds.
  // ENOTDIR if `fd` is not a directory, EBADF if not open or O_PATH, ENOENT
  // if the directory was removed.
  Result<std::vector<DirEntry>> ReadDir(Fd fd, size_t max = SIZE_MAX);
  Result<StatFs> Statfs();

  // ---- Extended attributes (rule X2) ----
  //
  // Names carry their namespace: "user." (regular files and directories),
  // "trusted." (CAP_SYS_ADMIN), "security." (any file; changing one needs
  // CAP_SYS_ADMIN, EPERM; security.capability is EOPNOTSUPP); "system." is
  // EOPNOTSUPP.
  // The At forms take AT_SYMLINK_NOFOLLOW (the l* forms) and AT_EMPTY_PATH
  // (the f* forms, through any descriptor, O_PATH included), as Linux's
  // setxattrat(2) family. Set flags: kXattrCreate (EEXIST), kXattrReplace
  // (ENODATA). ERANGE for an empty name or one longer than kXattrNameMax,
  // E2BIG for a value larger than kXattrSizeMax, ENODATA for a missing
  // attribute, ENOSPC past max_bytes. A change is durable by fsync, not by
  // fdatasync, and atomic in a crash.
  Result<void> SetXattrAt(Fd dir, std::string_view path, int at_flags, std::string_view name,
                          std::string_view value, int flags);
  Result<std::string> GetXattrAt(Fd dir, std::string_view path, int at_flags,
                                 std::string_view name);
  // The names the caller may see, in byte order ("trusted." only with
  // CAP_SYS_ADMIN).
  Result<std::vector<std::string>> ListXattrAt(Fd dir, std::string_view path, int at_flags);
  Result<void> RemoveXattrAt(Fd dir, std::string_view path, int at_flags, std::string_view name);
  Result<void> SetXattr(std::string_view path, std::string_view name, std::string_view value,
                        int flags) {
    return SetXattrAt(kCwd, path, 0, name, value, flags);
  }
  Result<void> LsetXattr(std::string_view path, std::string_view name, std::string_view value,
                         int flags) {
    return SetXattrAt(kCwd, path, AT_SYMLINK_NOFOLLOW, name, value, flags);
  }
  Result<void> FsetXattr(Fd fd, std::string_view name, std::string_view value, int flags);
  Result<std::string> GetXattr(std::string_view path, std::string_view name) {
    return GetXattrAt(kCwd, path, 0, name);
  }
  Result<std::string> LgetXattr(std::string_view path, std::string_view name) {
    return GetXattrAt(kCwd, path, AT_SYMLINK_NOFOLLOW, name);
  }
  Result<std::string> FgetXattr(Fd fd, std::string_view name);
  Result<std::vector<std::string>> ListXattr(std::string_view path) {
    return ListXattrAt(kCwd, path, 0);
  }
  Result<std::vector<std::string>> LlistXattr(std::string_view path) {
    return ListXattrAt(kCwd, path, AT_SYMLINK_NOFOLLOW);
  }
  Result<std::vector<std::string>> FlistXattr(Fd fd);
  Result<void> RemoveXattr(std::string_view path, std::string_view name) {
    return RemoveXattrAt(kCwd, path, 0, name);
  }
  Result<void> LremoveXattr(std::string_view path, std::string_view name) {
    return RemoveXattrAt(kCwd, path, AT_SYMLINK_NOFOLLOW, name);
  }
  Result<void> FremoveXattr(Fd fd, std::string_view name);

  // ---- Allocation (rule X3) ----

  // fallocate(2): mode 0, kFallocKeepSize, kFallocPunchHole|kFallocKeepSize,
  // kFallocZeroRange (|kFallocKeepSize). EBADF unless open for writing,
  // EINVAL (offset < 0, len <= 0), EFBIG, ESPIPE (FIFO), ENODEV (not a
  // regular file), EOPNOTSUPP (another mode), ENOSPC (max_bytes; nothing
  // changed).
  Result<void> Fallocate(Fd fd, int mode, int64_t offset, int64_t len);

  // ---- Durability ----

  // fsync(2), rules D1, D3 (for a directory), D4, D8, E1. EBADF (not open,
  // O_PATH, or, in the aix personality, not open for writing), EINVAL (FIFO
  // or pipe), EIO / ENOSPC / EDQUOT (write-back failed: rules E1.3, E1.5).
  Result<void> Fsync(Fd fd);
  // fdatasync(2), rule D2: the data and the size, not timestamps.
  Result<void> Fdatasync(Fd fd);
  // sync_file_range(2), rules D5, E2 (E3 with sync_file_range_pre_5_2),
  // S1-S5. Never writes metadata or flushes the store's cache.
  Result<void> SyncFileRange(Fd fd, int64_t offset, int64_t nbytes, unsigned flags);
  // AIX fsync_range(2), rules D6, E5. `how`: kFsyncRangeDataSync,
  // kFsyncRangeFileSync, kFsyncRangeNoCache (combinable). length 0: the whole
  // file.
  Result<void> FsyncRange(Fd fd, int how, int64_t start, int64_t length);
  // WASI fd_sync / fd_datasync, rules D7, E6, E7, answering WASI errnos.
  wasi::Errno FdSync(Fd fd);
  wasi::Errno FdDatasync(Fd fd);
  // Narrows a descriptor's WASI rights (vfs/wasi.h). EPERM if it would widen
  // them. Rights belong to the open file description, so a dup shares them.
  // Every call through a descriptor checks the rights it needs first (read:
  // fd_read; pread: fd_read|fd_seek; write: fd_write; pwrite: fd_write|
  // fd_seek; lseek: fd_seek, or fd_tell for SEEK_CUR 0; ftruncate:
  // fd_filestat_set_size; fstat: fd_filestat_get; fchmod, futimens:
  // fd_filestat_set_times; readdir: fd_readdir; fsync, syncfs,
  // fsync_range(O_SYNC): fd_sync; fdatasync, sync_file_range,
  // fsync_range(O_DSYNC): fd_datasync; OpenAt through a descriptor:
  // path_open, with path_create_file for O_CREAT, path_filestat_set_size for
  // O_TRUNC, and fd_sync / fd_datasync in its inheriting rights for O_SYNC /
  // O_DSYNC). A missing right answers EACCES (WasiMode::kWasmer) or
  // kENotCapable (kSpec). A descriptor opened through another gets the
  // other's inheriting rights as both its base (less fd_read for O_WRONLY,
  // less fd_write for O_RDONLY) and inheriting rights: narrowed, never widened.
  Result<void> SetRights(Fd fd, uint64_t base, uint64_t inheriting);
  // The {base, inheriting} rights of a descriptor; EBADF if it is not open.
  Result<std::pair<uint64_t, uint64_t>> GetRights(Fd fd);
  // syncfs(2): everything dirty in the filesystem, data, records and entries,
  // made durable; reports a write-back error not yet seen through this
  // description's filesystem cursor (W1).
  Result<void> Syncfs(Fd fd);
  // sync(2): as syncfs, without an error report.
  void Sync();

  // ---- Introspection (tests, benchmarks, the crash harness) ----

  Result<PageState> PageStateAt(Fd fd, PageIndex index);
  // Rule M2 flags of the inode (DirtyFlag bits in vfs/inode.h).
  Result<uint8_t> InodeDirtyFlags(Fd fd);
  // Number of directory-entry changes of a directory not yet durable (D3).
  Result<size_t> PendingEntryCount(std::string_view dir);
  // What of an inode is not yet handed to the store: dirty pages, pages in
  // writeback, M2 flags, and whether the store has its record at all.
  struct DirtySummary {
    uint64_t dirty_pages = 0;
    bool writeback = false;
    uint8_t flags = 0;
    bool has_record = false;
    size_t punches = 0;  // rule X3: hole punches not yet sent
  };
  Result<DirtySummary> DirtySummaryOf(Fd fd);
  // Pages in the page cache, over every file (Options::max_cache_bytes).
  uint64_t CachedPages() const;
  const MountReport& mount_report() const { return mount_report_; }
  uint32_t page_size() const { return page_size_; }
  const Options& options() const { return options_; }
  Store& store() { return *store_; }

 private:
  struct Lookup;
  struct Accounts;
  class SyncCallScope;
  enum SyncMode { kSyncData = 1, kSyncFile = 2 };  // D2 / D1

  Filesystem(std::shared_ptr<Store> store, Options options, uint32_t page_size);

  // namespace.cc: linkat after the source descriptor's checks; `by_fd` is
  // the file to link, or null to look `from` up.
  Result<void> LinkSource(std::shared_ptr<Inode> by_fd, Fd from_dir, std::string_view from,
                          Fd to_dir, std::string_view to, int flags);

  // mount.cc
  Result<void> Format();
  Result<void> Build(DurableImage image);

  // filesystem.cc
  // The description behind `fd` for the length of a call, or EBADF. No
  // lock and no reference count: a hazard pointer (fd_table.h).
  Result<FileRef> GetFile(Fd fd);
  // The same as a reference that may outlive the call (dup).
  Result<std::shared_ptr<OpenFile>> GetFileShared(Fd fd);
  Result<Fd> InstallFd(std::shared_ptr<OpenFile> file);
  // Ok if `file` holds every right in `needed`; else EACCES or kENotCapable.
  // (Both checks are inline, in internal/filesystem_internal.h: every call
  // on a descriptor makes them.)
  Result<void> CheckRights(const OpenFile& file, uint64_t needed) const;
  Result<void> MissingRight() const;  // the error CheckRights answers
  Timespec Now() const;
  void TouchLocked(Inode& inode, bool mtime, bool ctime);
  Result<void> ReserveBytes(uint64_t pages);
  void ReleaseBytes(uint64_t pages);
  Result<size_t> ReadAt(OpenFile& file, char* buf, size_t count, int64_t offset);
  Result<size_t> ReadPages(OpenFile& file, char* buf, size_t count, int64_t offset);
  // Options::max_cache_bytes: drops clean pages until the cache is below the
  // limit. Call with no inode lock held.
  bool CacheOverLimit() const;
  void ShrinkCacheIfOver() {
    if (CacheOverLimit()) ShrinkCache();
  }
  void ShrinkCache();
  Result<size_t> WriteAt(OpenFile& file, const char* buf, size_t count, int64_t* offset,
                         bool append, int sync_flags);
  Result<void> TruncateInode(Inode& inode, int64_t length);
  // A new truncation or punch generation, or ENOSPC past kMaxGeneration
  // (vfs/types.h). Taken before the call changes anything.
  Result<uint64_t> NextGeneration();
  Result<PageRef> LoadPageLocked(Inode& inode, PageIndex index);
  // Brings every page of [first, last] that only the store holds into the
  // cache (clean), so a change that follows cannot fail half-way on a read.
  // On an error the pages loaded so far stay cached, clean: nothing visible
  // changed.
  Result<void> LoadStoredPagesLocked(Inode& inode, PageIndex first, PageIndex last);
  StatBuf StatOf(Inode& inode);
  std::shared_ptr<Inode> NewInode(InodeId ino, uint32_t mode);
  // Sends FreeInode for every deleted inode that is ready (dead, no stored
  // entry names it), once the removals that unnamed it are durable. Call with
  // no lock held (docs/architecture.md, "Deleted files"). Nothing after a
  // crash; `unmounting`: during Unmount, which stops the calls first.
  void FreeDeadInodes(bool unmounting = false);
  struct FreeOnReturn {
    Filesystem* fs;
    ~FreeOnReturn() { fs->FreeDeadInodes(); }
  };

  // namespace.cc
  // What Resolve does with the last name of a path, as Linux's path walk
  // does for each kind of call.
  enum class Final {
    // A lookup that follows a final symlink (stat, open, chdir).
    kFollow,
    // A lookup that does not, unless a slash follows the name (lstat,
    // O_NOFOLLOW, readlink, link's source): Linux's lookup_last.
    kNoFollow,
    // The entry itself, never followed; a trailing slash is the call's to
    // judge (mkdir, rmdir, unlink, rename, symlink, mkfifo, link's new name,
    // O_CREAT|O_EXCL): Linux's filename_parentat callers.
    kEntry,
    // open with O_CREAT: a final symlink is followed unless a slash follows
    // its name (then open_last_lookups answers EISDIR).
    kCreate,
  };
  // For kFollow and kNoFollow a name followed by a slash must be a
  // directory (ENOTDIR); for kEntry and kCreate Lookup::trailing_slash says
  // there was one. With defer_last_lookup the last name is not refused for
  // its length nor for a removed directory: the caller checks both in its
  // own order (rename, as Linux's do_renameat2).
  Result<Lookup> Resolve(Fd dir, std::string_view path, Final final,
                         bool defer_last_lookup = false) ABSL_SHARED_LOCKS_REQUIRED(ns_mu_);
  Result<std::shared_ptr<Inode>> ResolveInode(Fd dir, std::string_view path, bool follow_last);
  // What a new inode inherits from its directory (rule X1): the directory's
  // group when its S_ISGID bit is set.
  struct ParentGroup {
    bool setgid;
    uint32_t gid;
  };
  // Names `child` `name` in `dir` (replacing what the name held) and
  // reports `dir`'s setgid bit and group, read under the lock it takes.
  ParentGroup AddEntryLocked(Inode& dir, std::string_view name, Inode& child)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ns_mu_);
  void RemoveEntryLocked(Inode& dir, std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ns_mu_);
  // Drops one link of `inode` (named in a directory just removed from);
  // forgets it when no link is left, making it an orphan (Accounts::Orphan).
  void DropLinkLocked(Inode& inode) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ns_mu_);
  // Rule D3: records a change of `name` in `dir` (to `now`, InodeId(0) for a
  // removal; `before` is what the name held until now).
  void NotePendingLocked(Inode& dir, std::string_view name, InodeId now, InodeId before)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ns_mu_);
  // One entry the store may hold naming `ino` was sent as removed or
  // replaced under `ticket`. Requires accounts_->mu too.
  void DropStoreLinkLocked(InodeId ino, Ticket ticket) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ns_mu_);
  // No stored entry names orphan `ino` once `ticket` is durable: ready if
  // dead; the entries of a removed directory stop counting. Requires
  // accounts_->mu too.
  void OrphanUnnamedLocked(InodeId ino, Ticket ticket) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ns_mu_);
  Result<void> CreateLocked(const Lookup& where, uint32_t mode, std::string_view symlink_target,
                            std::shared_ptr<Inode>* created) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ns_mu_);
  Result<void> UtimensInode(Inode& inode, const std::array<Timespec, 2>& times);
  // The inode `path` names relative to `dir` under the *at flags: an empty
  // path with AT_EMPTY_PATH names `dir`'s own file (the cwd for kCwd).
  Result<std::shared_ptr<Inode>> ResolveAtFlags(Fd dir, std::string_view path, int at_flags,
                                                bool follow_default);
  Result<void> CreateNode(Fd dir, std::string_view path, uint32_t mode, uint64_t rdev);
  Result<void> RemoveAt(Fd dir, std::string_view path, bool dir_only);
  Result<void> OpenTmpfile(Fd dir, std::string_view path, int flags, uint32_t mode,
                           std::shared_ptr<Inode>* out);

  // xattr.cc (rules X2, X3)
  Result<std::shared_ptr<Inode>> XattrTarget(Fd dir, std::string_view path, int at_flags,
                                             bool by_fd);
  Result<void> SetXattrIn(Fd dir, std::string_view path, int at_flags, bool by_fd,
                          std::string_view name, std::string_view value, int flags);
  Result<std::string> GetXattrIn(Fd dir, std::string_view path, int at_flags, bool by_fd,
                                 std::string_view name);
  Result<std::vector<std::string>> ListXattrIn(Fd dir, std::string_view path, int at_flags,
                                               bool by_fd);
  Result<void> RemoveXattrIn(Fd dir, std::string_view path, int at_flags, bool by_fd,
                             std::string_view name);

  Result<void> AllocateRange(Inode& inode, uint64_t offset, uint64_t end, bool zero,
                             bool keep_size);
  Result<void> PunchHole(Inode& inode, uint64_t offset, uint64_t end);

  // permissions.cc (rule X1)
  Result<void> ChmodInode(Inode& inode, uint32_t mode);
  Result<void> ChownInode(Inode& inode, uint32_t uid, uint32_t gid);

  // EIO once the filesystem stopped (a crash or an unmount); inline in
  // internal/filesystem_internal.h.
  Result<void> CheckAlive() const;
  // sync.cc
  Result<void> SyncRange(OpenFile& file, PageIndex first, PageIndex last, int mode, bool escalate);
  Result<void> StartWriteback(Inode& inode, PageIndex first, PageIndex last, bool sync_all);
  void WaitWriteback(Inode& inode, PageIndex first, PageIndex last);
  // Requires inode.mu (not annotated: Inode is incomplete here).
  void FinishBatch(Inode& inode, Ticket ticket, int err);
  Result<void> WriteRecord(Inode& inode, bool data_only);
  Result<void> SyncDirectory(Inode& dir);
  // Puts back the entry changes of a send that failed (SyncDirectory).
  void RestorePendingLocked(Inode& dir, absl::btree_map<std::string, InodeId, std::less<>> sent,
                            std::unique_ptr<absl::btree_map<std::string, InodeId, std::less<>>> hidden)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ns_mu_);
  // Everything dirty to the store. Without `include_deferred` (sync,
  // syncfs) the data of files an O_DEFER description dirtied stays (O6).
  Result<void> SyncAll(bool include_deferred = true);
  int CheckAndAdvance(OpenFile& file);
  // Rule W1: records a failed write-back of `inode` everywhere it is seen.
  void RecordWritebackError(Inode& inode, int err);
  // Rule W3 (W6 for the older models): the cursor a new description starts at.
  uint32_t SampleCursor(const Errseq& seq) const;
  int CheckAndAdvanceSb(OpenFile& file);
  Result<FileRef> SyncTarget(Fd fd);

  // Rule X1: the default identity, root until SetCredentials. Every
  // identity ever set stays alive in credentials_kept_ until the Filesystem
  // goes, so a call that loaded the pointer may use it without a reference.
  const Credentials root_creds_ = Credentials::Root();
  std::atomic<const Credentials*> default_creds_{&root_creds_};
  Mutex creds_mu_;
  std::vector<std::unique_ptr<Credentials>> credentials_kept_ ABSL_GUARDED_BY(creds_mu_);

  const std::shared_ptr<Store> store_;
  const Options options_;
  const uint32_t page_size_;
  const uint32_t page_shift_;
  const uint64_t cache_limit_pages_;  // Options::max_cache_bytes in pages
  std::atomic<bool> stopped_{false};
  MountReport mount_report_;

  // Counters every inode's deleter updates, and the deleted inodes waiting
  // to be freed in the store. Shared with the deleters.
  std::shared_ptr<Accounts> accounts_;
  // Orders page writes against truncations (see Truncate in store.h).
  std::atomic<uint64_t> generation_{0};

  // The namespace lock: the tree, `inodes_`, and every directory's children,
  // parent and pending entries.
  mutable SharedMutex ns_mu_;
  absl::flat_hash_map<InodeId, std::shared_ptr<Inode>> inodes_ ABSL_GUARDED_BY(ns_mu_);
  std::shared_ptr<Inode> root_;
  std::shared_ptr<Inode> cwd_ ABSL_GUARDED_BY(ns_mu_);
  uint64_t next_ino_ ABSL_GUARDED_BY(ns_mu_) = 2;

  // The descriptor table: lowest free slot first. fds_ owns the
  // descriptions; fd_slots_ mirrors it for lookups without the lock.
  mutable Mutex fd_mu_;
  std::vector<std::shared_ptr<OpenFile>> fds_ ABSL_GUARDED_BY(fd_mu_);
  FdSlots fd_slots_;  // Set under fd_mu_; Get from anywhere
  size_t lowest_free_fd_ ABSL_GUARDED_BY(fd_mu_) = 0;  // no free slot below it
  FdBitmap fd_used_ ABSL_GUARDED_BY(fd_mu_);  // the slots of fds_ in use
  uint32_t open_fds_ ABSL_GUARDED_BY(fd_mu_) = 0;

  // The cache's clock hand: where the next eviction scan starts, as an index
  // into the inodes it lists. Only one scan runs at a time.
  Mutex shrink_mu_;
  size_t shrink_hand_ ABSL_GUARDED_BY(shrink_mu_) = 0;

  // Rule W1: the filesystem-wide error sequence syncfs reports.
  Errseq sb_err_;
};

// Inline: every call asks, most more than once.
inline const Credentials& Filesystem::caller() const {
  if (const Credentials* scoped = ScopedCredentials::Current()) return *scoped;
  return *default_creds_.load(std::memory_order_acquire);
}

}  // namespace vfs

#endif  // VFS_FILESYSTEM_H_
