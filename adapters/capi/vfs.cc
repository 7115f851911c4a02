// The C API (vfs/vfs.h) over vfs::Filesystem.
//
// Each function checks its pointers, converts its arguments, calls the C++
// method of the same name and hands back the errno of the Result negated.
// Nothing may unwind into C: every body runs inside Guard, which turns an
// allocation failure into -ENOMEM.
#include "vfs/vfs.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/disk/disk_store.h"
#include "backends/memory/memory_store.h"
#include "vfs/filesystem.h"

struct vfs_fs {
  std::shared_ptr<vfs::Store> store;
  vfs::Options options;
  std::unique_ptr<vfs::Filesystem> fs;
  // vfs_set_credentials' identity, set again after a crash and remount.
  std::unique_ptr<vfs::Credentials> creds;
};

namespace {

// The header's constants must be the library's values.
static_assert(VFS_AT_FDCWD == AT_FDCWD);
static_assert(VFS_ENOTCAPABLE == vfs::kENotCapable);
static_assert(VFS_AIX_O_SYNC == vfs::kAixOSync);
static_assert(VFS_AIX_O_DEFER == vfs::kAixODefer);
static_assert(VFS_FSYNC_RANGE_DSYNC == vfs::kFsyncRangeDataSync);
static_assert(VFS_FSYNC_RANGE_SYNC == vfs::kFsyncRangeFileSync);
static_assert(VFS_FSYNC_RANGE_NOCACHE == vfs::kFsyncRangeNoCache);
static_assert(VFS_RENAME_NOREPLACE == vfs::kRenameNoReplace);
static_assert(VFS_AT_SYMLINK_NOFOLLOW == AT_SYMLINK_NOFOLLOW && VFS_AT_REMOVEDIR == AT_REMOVEDIR &&
              VFS_AT_SYMLINK_FOLLOW == AT_SYMLINK_FOLLOW && VFS_AT_EMPTY_PATH == AT_EMPTY_PATH);
static_assert(VFS_FALLOC_FL_KEEP_SIZE == vfs::kFallocKeepSize &&
              VFS_FALLOC_FL_PUNCH_HOLE == vfs::kFallocPunchHole &&
              VFS_FALLOC_FL_ZERO_RANGE == vfs::kFallocZeroRange);
static_assert(VFS_XATTR_CREATE == vfs::kXattrCreate && VFS_XATTR_REPLACE == vfs::kXattrReplace);
static_assert(VFS_CAP_CHOWN == vfs::kCapChown && VFS_CAP_DAC_OVERRIDE == vfs::kCapDacOverride &&
              VFS_CAP_DAC_READ_SEARCH == vfs::kCapDacReadSearch &&
              VFS_CAP_FOWNER == vfs::kCapFowner && VFS_CAP_FSETID == vfs::kCapFsetid &&
              VFS_CAP_MKNOD == vfs::kCapMknod && VFS_CAP_SYS_ADMIN == vfs::kCapSysAdmin &&
              VFS_CAP_ALL == vfs::kAllCapabilities);
static_assert(VFS_RENAME_EXCHANGE == vfs::kRenameExchange);
static_assert(VFS_UTIME_NOW == vfs::kUtimeNow && VFS_UTIME_OMIT == vfs::kUtimeOmit);
static_assert(VFS_RWF_DSYNC == vfs::kRwfDsync && VFS_RWF_SYNC == vfs::kRwfSync &&
              VFS_RWF_APPEND == vfs::kRwfAppend);
static_assert(VFS_RIGHT_FD_DATASYNC == vfs::wasi::kRightFdDatasync);
static_assert(VFS_RIGHT_FD_SYNC == vfs::wasi::kRightFdSync);
static_assert(VFS_RIGHT_FD_WRITE == vfs::wasi::kRightFdWrite);
static_assert(VFS_RIGHT_PATH_OPEN == vfs::wasi::kRightPathOpen);
static_assert(VFS_RIGHT_FD_FILESTAT_SET_TIMES == vfs::wasi::kRightFdFilestatSetTimes);
static_assert(VFS_WASI_NOTCAPABLE == vfs::wasi::kNotcapable && VFS_WASI_ACCES == vfs::wasi::kAcces);

// Runs `body`; an exception (only std::bad_alloc can arise) becomes -ENOMEM.
template <typename F>
auto Guard(F&& body) noexcept -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (...) {
    return -EIO;  // no other exception is thrown by the library
  }
}

int Status(const vfs::Result<void>& result) { return result.ok() ? 0 : -result.error(); }

template <typename T>
int64_t Count(const vfs::Result<T>& result) {
  return result.ok() ? static_cast<int64_t>(*result) : -static_cast<int64_t>(result.error());
}

int FdOrError(const vfs::Result<vfs::Fd>& result) {
  return result.ok() ? result->value() : -result.error();
}

vfs_stat_buf ToC(const vfs::StatBuf& st) {
  vfs_stat_buf out;
  std::memset(&out, 0, sizeof out);
  out.ino = st.ino.value();
  out.mode = st.mode;
  out.nlink = st.nlink;
  out.uid = st.uid;
  out.gid = st.gid;
  out.size = st.size;
  out.blocks = st.blocks;
  out.blksize = st.blksize;
  out.atime = {st.atime.sec, st.atime.nsec};
  out.mtime = {st.mtime.sec, st.mtime.nsec};
  out.ctime = {st.ctime.sec, st.ctime.nsec};
  out.rdev = st.rdev;
  return out;
}

int StatOut(const vfs::Result<vfs::StatBuf>& result, vfs_stat_buf* st) {
  if (!result.ok()) return -result.error();
  *st = ToC(*result);
  return 0;
}

// listxattr(2)'s answer: the names, each ended by a NUL; with size 0 only
// the size needed; ERANGE for a buffer too small.
int64_t ListOut(const vfs::Result<std::vector<std::string>>& result, char* list, size_t size) {
  if (!result.ok()) return -result.error();
  size_t needed = 0;
  for (const std::string& name : *result) needed += name.size() + 1;
  if (size == 0) return static_cast<int64_t>(needed);
  if (needed > size) return -ERANGE;
  char* at = list;
  for (const std::string& name : *result) {
    std::memcpy(at, name.c_str(), name.size() + 1);
    at += name.size() + 1;
  }
  return static_cast<int64_t>(needed);
}

std::array<vfs::Timespec, 2> Times(const vfs_timespec times[2]) {
  return {vfs::Timespec{times[0].sec, times[0].nsec}, vfs::Timespec{times[1].sec, times[1].nsec}};
}

// Options from the C struct; EINVAL for values the C++ enums do not have.
int ToOptions(const vfs_options& in, vfs::Options* out) {
  switch (in.personality) {
    case VFS_PERSONALITY_LINUX: out->personality = vfs::Personality::kLinux; break;
    case VFS_PERSONALITY_WASI: out->personality = vfs::Personality::kWasi; break;
    case VFS_PERSONALITY_AIX: out->personality = vfs::Personality::kAix; break;
    default: return EINVAL;
  }
  switch (in.wasi_mode) {
    case VFS_WASI_WASMER: out->wasi_mode = vfs::WasiMode::kWasmer; break;
    case VFS_WASI_SPEC: out->wasi_mode = vfs::WasiMode::kSpec; break;
    default: return EINVAL;
  }
  // readdir hands names back in fixed VFS_NAME_MAX + 1 byte fields.
  if (in.max_name_length == 0 || in.max_name_length > VFS_NAME_MAX) return EINVAL;
  if (in.max_path_length < 2) return EINVAL;
  out->page_size = in.page_size;
  out->max_bytes = in.max_bytes;
  out->max_inodes = in.max_inodes;
  out->max_open_fds = in.max_open_fds;
  out->max_name_length = in.max_name_length;
  out->max_path_length = in.max_path_length;
  out->max_symlink_depth = in.max_symlink_depth;
  out->max_file_size = in.max_file_size;
  out->max_dir_entries = in.max_dir_entries;
  out->fsync_range_bsd_lenient = in.fsync_range_bsd_lenient != 0;
  out->aix_xpg_sus_env = in.aix_xpg_sus_env != 0;
  out->lazytime = in.lazytime != 0;
  return 0;
}

}  // namespace

extern "C" {

const char* vfs_version(void) { return VFS_VERSION_STRING; }

void vfs_options_init(vfs_options* options) {
  if (options == nullptr) return;
  const vfs::Options defaults;
  std::memset(options, 0, sizeof *options);
  options->store_kind = VFS_STORE_MEMORY;
  options->disk_dir = nullptr;
  options->page_size = defaults.page_size;
  options->max_bytes = defaults.max_bytes;
  options->max_inodes = defaults.max_inodes;
  options->max_open_fds = defaults.max_open_fds;
  options->max_name_length = defaults.max_name_length;
  options->max_path_length = defaults.max_path_length;
  options->max_symlink_depth = defaults.max_symlink_depth;
  options->max_file_size = defaults.max_file_size;
  options->max_dir_entries = defaults.max_dir_entries;
  options->personality = VFS_PERSONALITY_LINUX;
  options->wasi_mode = VFS_WASI_WASMER;
  options->fsync_range_bsd_lenient = defaults.fsync_range_bsd_lenient;
  options->aix_xpg_sus_env = defaults.aix_xpg_sus_env;
  options->lazytime = defaults.lazytime;
}

int vfs_mount(const vfs_options* options, vfs_fs** out) {
  if (options == nullptr || out == nullptr) return -EFAULT;
  *out = nullptr;
  return Guard([&]() -> int {
    auto handle = std::make_unique<vfs_fs>();
    if (int err = ToOptions(*options, &handle->options); err != 0) return -err;
    switch (options->store_kind) {
      case VFS_STORE_MEMORY:
        handle->store = vfs::NewMemoryStore();
        break;
      case VFS_STORE_DISK: {
        if (options->disk_dir == nullptr || options->disk_dir[0] == '\0') return -EINVAL;
        std::string why;  // the errno says enough to a C caller
        auto store = vfs::OpenDiskStore(options->disk_dir, {}, &why);
        if (!store.ok()) return -store.error();
        handle->store = *std::move(store);
        break;
      }
      default:
        return -EINVAL;
    }
    auto mounted = vfs::Filesystem::Mount(handle->store, handle->options);
    if (!mounted.ok()) return -mounted.error();
    handle->fs = std::move(mounted).value();
    *out = handle.release();
    return 0;
  });
}

int vfs_unmount(vfs_fs* fs) {
  if (fs == nullptr) return 0;
  std::unique_ptr<vfs_fs> owned(fs);
  return Guard([&]() -> int { return Status(owned->fs->Unmount()); });
}

int vfs_crash_and_remount(vfs_fs* fs) {
  if (fs == nullptr) return -EFAULT;
  return Guard([&]() -> int {
    if (fs->fs != nullptr) fs->fs->Crash();
    fs->fs.reset();
    auto mounted = vfs::Filesystem::Mount(fs->store, fs->options);
    if (!mounted.ok()) return -mounted.error();
    fs->fs = std::move(mounted).value();
    if (fs->creds != nullptr) fs->fs->SetCredentials(*fs->creds);
    return 0;
  });
}

// A handle whose remount failed has no filesystem: every call is EIO, as
// after a crash.
#define VFS_FS_OR_FAIL(fs)                  \
  do {                                      \
    if ((fs) == nullptr) return -EFAULT;    \
    if ((fs)->fs == nullptr) return -EIO;   \
  } while (0)
#define VFS_NONNULL(p)                      \
  do {                                      \
    if ((p) == nullptr) return -EFAULT;     \
  } while (0)

int vfs_open(vfs_fs* fs, const char* path, int flags, uint32_t mode) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return FdOrError(fs->fs->Open(path, flags, mode)); });
}

int vfs_openat(vfs_fs* fs, int dirfd, const char* path, int flags, uint32_t mode) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return FdOrError(fs->fs->OpenAt(vfs::Fd(dirfd), path, flags, mode)); });
}

int vfs_close(vfs_fs* fs, int fd) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->Close(vfs::Fd(fd))); });
}

int vfs_dup(vfs_fs* fs, int fd) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return FdOrError(fs->fs->Dup(vfs::Fd(fd))); });
}

int vfs_getfl(vfs_fs* fs, int fd) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return static_cast<int>(Count(fs->fs->GetStatusFlags(vfs::Fd(fd)))); });
}

int vfs_setfl(vfs_fs* fs, int fd, int flags) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->SetStatusFlags(vfs::Fd(fd), flags)); });
}

int64_t vfs_read(vfs_fs* fs, int fd, void* buf, size_t count) {
  VFS_FS_OR_FAIL(fs);
  if (buf == nullptr && count > 0) return -EFAULT;
  return Guard([&] { return Count(fs->fs->Read(vfs::Fd(fd), buf, count)); });
}

int64_t vfs_write(vfs_fs* fs, int fd, const void* buf, size_t count) {
  VFS_FS_OR_FAIL(fs);
  if (buf == nullptr && count > 0) return -EFAULT;
  return Guard([&] { return Count(fs->fs->Write(vfs::Fd(fd), buf, count)); });
}

int64_t vfs_pread(vfs_fs* fs, int fd, void* buf, size_t count, int64_t offset) {
  VFS_FS_OR_FAIL(fs);
  if (buf == nullptr && count > 0) return -EFAULT;
  return Guard([&] { return Count(fs->fs->Pread(vfs::Fd(fd), buf, count, offset)); });
}

int64_t vfs_pwrite(vfs_fs* fs, int fd, const void* buf, size_t count, int64_t offset) {
  VFS_FS_OR_FAIL(fs);
  if (buf == nullptr && count > 0) return -EFAULT;
  return Guard([&] { return Count(fs->fs->Pwrite(vfs::Fd(fd), buf, count, offset)); });
}

int64_t vfs_pwrite2(vfs_fs* fs, int fd, const void* buf, size_t count, int64_t offset,
                    int rwf_flags) {
  VFS_FS_OR_FAIL(fs);
  if (buf == nullptr && count > 0) return -EFAULT;
  return Guard([&] { return Count(fs->fs->Pwrite2(vfs::Fd(fd), buf, count, offset, rwf_flags)); });
}

int64_t vfs_lseek(vfs_fs* fs, int fd, int64_t offset, int whence) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Count(fs->fs->Lseek(vfs::Fd(fd), offset, whence)); });
}

int vfs_truncate(vfs_fs* fs, const char* path, int64_t length) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Truncate(path, length)); });
}

int vfs_ftruncate(vfs_fs* fs, int fd, int64_t length) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->Ftruncate(vfs::Fd(fd), length)); });
}

int vfs_mkdir(vfs_fs* fs, const char* path, uint32_t mode) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Mkdir(path, mode)); });
}

int vfs_rmdir(vfs_fs* fs, const char* path) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Rmdir(path)); });
}

int vfs_unlink(vfs_fs* fs, const char* path) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Unlink(path)); });
}

int vfs_rename(vfs_fs* fs, const char* from, const char* to, unsigned flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(from);
  VFS_NONNULL(to);
  return Guard([&] { return Status(fs->fs->Rename(from, to, flags)); });
}

int vfs_link(vfs_fs* fs, const char* from, const char* to) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(from);
  VFS_NONNULL(to);
  return Guard([&] { return Status(fs->fs->Link(from, to)); });
}

int vfs_symlink(vfs_fs* fs, const char* target, const char* path) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(target);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Symlink(target, path)); });
}

int64_t vfs_readlink(vfs_fs* fs, const char* path, char* buf, size_t size) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  if (buf == nullptr && size > 0) return -EFAULT;
  if (size == 0) return -EINVAL;  // as readlink(2) with bufsiz 0
  return Guard([&]() -> int64_t {
    auto target = fs->fs->Readlink(path);
    if (!target.ok()) return -target.error();
    // readlink(2): truncated to the buffer, no NUL added.
    const size_t n = std::min(size, target->size());
    std::memcpy(buf, target->data(), n);
    return static_cast<int64_t>(n);
  });
}

int vfs_mkfifo(vfs_fs* fs, const char* path, uint32_t mode) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Mkfifo(path, mode)); });
}

int vfs_pipe(vfs_fs* fs, int fds[2]) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(fds);
  return Guard([&]() -> int {
    auto ends = fs->fs->Pipe();
    if (!ends.ok()) return -ends.error();
    fds[0] = ends->first.value();
    fds[1] = ends->second.value();
    return 0;
  });
}

int vfs_chdir(vfs_fs* fs, const char* path) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Chdir(path)); });
}

int vfs_getcwd(vfs_fs* fs, char* buf, size_t size) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(buf);
  return Guard([&]() -> int {
    auto cwd = fs->fs->Getcwd();
    if (!cwd.ok()) return -cwd.error();
    if (cwd->size() + 1 > size) return -ERANGE;
    std::memcpy(buf, cwd->c_str(), cwd->size() + 1);
    return 0;
  });
}

int64_t vfs_readdir(vfs_fs* fs, int fd, vfs_dirent* entries, size_t max) {
  VFS_FS_OR_FAIL(fs);
  if (entries == nullptr && max > 0) return -EFAULT;
  return Guard([&]() -> int64_t {
    auto got = fs->fs->ReadDir(vfs::Fd(fd), max);
    if (!got.ok()) return -got.error();
    for (size_t i = 0; i < got->size(); ++i) {
      const vfs::DirEntry& entry = (*got)[i];
      entries[i].ino = entry.ino.value();
      entries[i].type = entry.type;
      // Names are at most max_name_length <= VFS_NAME_MAX bytes (vfs_mount).
      const size_t n = std::min<size_t>(entry.name.size(), VFS_NAME_MAX);
      std::memcpy(entries[i].name, entry.name.data(), n);
      entries[i].name[n] = '\0';
    }
    return static_cast<int64_t>(got->size());
  });
}

int vfs_stat(vfs_fs* fs, const char* path, vfs_stat_buf* st) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  VFS_NONNULL(st);
  return Guard([&] { return StatOut(fs->fs->Stat(path), st); });
}

int vfs_lstat(vfs_fs* fs, const char* path, vfs_stat_buf* st) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  VFS_NONNULL(st);
  return Guard([&] { return StatOut(fs->fs->Lstat(path), st); });
}

int vfs_fstat(vfs_fs* fs, int fd, vfs_stat_buf* st) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(st);
  return Guard([&] { return StatOut(fs->fs->Fstat(vfs::Fd(fd)), st); });
}

int vfs_chmod(vfs_fs* fs, const char* path, uint32_t mode) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Chmod(path, mode)); });
}

int vfs_fchmod(vfs_fs* fs, int fd, uint32_t mode) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->Fchmod(vfs::Fd(fd), mode)); });
}

int vfs_utimens(vfs_fs* fs, const char* path, const vfs_timespec times[2], int follow) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  VFS_NONNULL(times);
  return Guard([&] { return Status(fs->fs->Utimens(path, Times(times), follow != 0)); });
}

int vfs_futimens(vfs_fs* fs, int fd, const vfs_timespec times[2]) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(times);
  return Guard([&] { return Status(fs->fs->Futimens(vfs::Fd(fd), Times(times))); });
}

int vfs_statfs(vfs_fs* fs, vfs_statfs_buf* st) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(st);
  return Guard([&]() -> int {
    auto got = fs->fs->Statfs();
    if (!got.ok()) return -got.error();
    st->block_size = got->block_size;
    st->blocks = got->blocks;
    st->blocks_free = got->blocks_free;
    st->files = got->files;
    st->files_free = got->files_free;
    st->name_max = got->name_max;
    st->unlinked_bytes = got->unlinked_bytes;
    return 0;
  });
}

int vfs_fsync(vfs_fs* fs, int fd) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->Fsync(vfs::Fd(fd))); });
}

int vfs_fdatasync(vfs_fs* fs, int fd) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->Fdatasync(vfs::Fd(fd))); });
}

int vfs_sync_file_range(vfs_fs* fs, int fd, int64_t offset, int64_t nbytes, unsigned flags) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->SyncFileRange(vfs::Fd(fd), offset, nbytes, flags)); });
}

int vfs_fsync_range(vfs_fs* fs, int fd, int how, int64_t start, int64_t length) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->FsyncRange(vfs::Fd(fd), how, start, length)); });
}

vfs_wasi_errno vfs_fd_sync(vfs_fs* fs, int fd) {
  if (fs == nullptr) return VFS_WASI_INVAL;  // no WASI errno means "bad pointer"
  if (fs->fs == nullptr) return VFS_WASI_IO;
  const int got = Guard([&]() -> int { return fs->fs->FdSync(vfs::Fd(fd)); });
  return got < 0 ? vfs_wasi_errno{VFS_WASI_IO} : static_cast<vfs_wasi_errno>(got);
}

vfs_wasi_errno vfs_fd_datasync(vfs_fs* fs, int fd) {
  if (fs == nullptr) return VFS_WASI_INVAL;
  if (fs->fs == nullptr) return VFS_WASI_IO;
  const int got = Guard([&]() -> int { return fs->fs->FdDatasync(vfs::Fd(fd)); });
  return got < 0 ? vfs_wasi_errno{VFS_WASI_IO} : static_cast<vfs_wasi_errno>(got);
}

int vfs_syncfs(vfs_fs* fs, int fd) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->Syncfs(vfs::Fd(fd))); });
}

void vfs_sync(vfs_fs* fs) {
  if (fs == nullptr || fs->fs == nullptr) return;
  (void)Guard([&]() -> int {  // sync(2) reports nothing
    fs->fs->Sync();
    return 0;
  });
}

int vfs_set_rights(vfs_fs* fs, int fd, uint64_t base, uint64_t inheriting) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->SetRights(vfs::Fd(fd), base, inheriting)); });
}

int vfs_get_rights(vfs_fs* fs, int fd, uint64_t* base, uint64_t* inheriting) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(base);
  VFS_NONNULL(inheriting);
  return Guard([&]() -> int {
    auto got = fs->fs->GetRights(vfs::Fd(fd));
    if (!got.ok()) return -got.error();
    *base = got->first;
    *inheriting = got->second;
    return 0;
  });
}


// ---- The *at forms, ownership, special files ----

int vfs_mkdirat(vfs_fs* fs, int dirfd, const char* path, uint32_t mode) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->MkdirAt(vfs::Fd(dirfd), path, mode)); });
}

int vfs_unlinkat(vfs_fs* fs, int dirfd, const char* path, int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->UnlinkAt(vfs::Fd(dirfd), path, flags)); });
}

int vfs_renameat2(vfs_fs* fs, int from_dirfd, const char* from, int to_dirfd, const char* to,
                  unsigned flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(from);
  VFS_NONNULL(to);
  return Guard([&] {
    return Status(fs->fs->RenameAt(vfs::Fd(from_dirfd), from, vfs::Fd(to_dirfd), to, flags));
  });
}

int vfs_linkat(vfs_fs* fs, int from_dirfd, const char* from, int to_dirfd, const char* to,
               int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(from);
  VFS_NONNULL(to);
  return Guard([&] {
    return Status(fs->fs->LinkAt(vfs::Fd(from_dirfd), from, vfs::Fd(to_dirfd), to, flags));
  });
}

int vfs_symlinkat(vfs_fs* fs, const char* target, int dirfd, const char* path) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(target);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->SymlinkAt(target, vfs::Fd(dirfd), path)); });
}

int64_t vfs_readlinkat(vfs_fs* fs, int dirfd, const char* path, char* buf, size_t size) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  if (buf == nullptr && size > 0) return -EFAULT;
  if (size == 0) return -EINVAL;
  return Guard([&]() -> int64_t {
    auto target = fs->fs->ReadlinkAt(vfs::Fd(dirfd), path);
    if (!target.ok()) return -target.error();
    const size_t n = std::min(size, target->size());
    std::memcpy(buf, target->data(), n);
    return static_cast<int64_t>(n);
  });
}

int vfs_mknod(vfs_fs* fs, const char* path, uint32_t mode, uint64_t rdev) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Mknod(path, mode, rdev)); });
}

int vfs_mknodat(vfs_fs* fs, int dirfd, const char* path, uint32_t mode, uint64_t rdev) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->MknodAt(vfs::Fd(dirfd), path, mode, rdev)); });
}

int vfs_mkfifoat(vfs_fs* fs, int dirfd, const char* path, uint32_t mode) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->MkfifoAt(vfs::Fd(dirfd), path, mode)); });
}

int vfs_fstatat(vfs_fs* fs, int dirfd, const char* path, vfs_stat_buf* st, int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  VFS_NONNULL(st);
  return Guard([&] { return StatOut(fs->fs->FstatAt(vfs::Fd(dirfd), path, flags), st); });
}

int vfs_fchmodat(vfs_fs* fs, int dirfd, const char* path, uint32_t mode, int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->FchmodAt(vfs::Fd(dirfd), path, mode, flags)); });
}

int vfs_chown(vfs_fs* fs, const char* path, uint32_t uid, uint32_t gid) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Chown(path, uid, gid)); });
}

int vfs_lchown(vfs_fs* fs, const char* path, uint32_t uid, uint32_t gid) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->Lchown(path, uid, gid)); });
}

int vfs_fchown(vfs_fs* fs, int fd, uint32_t uid, uint32_t gid) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->Fchown(vfs::Fd(fd), uid, gid)); });
}

int vfs_fchownat(vfs_fs* fs, int dirfd, const char* path, uint32_t uid, uint32_t gid, int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->FchownAt(vfs::Fd(dirfd), path, uid, gid, flags)); });
}

int vfs_utimensat(vfs_fs* fs, int dirfd, const char* path, const vfs_timespec times[2],
                  int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  VFS_NONNULL(times);
  return Guard([&] {
    return Status(fs->fs->UtimensAt(vfs::Fd(dirfd), path, Times(times), flags));
  });
}

int vfs_truncateat(vfs_fs* fs, int dirfd, const char* path, int64_t length, int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  return Guard([&] { return Status(fs->fs->TruncateAt(vfs::Fd(dirfd), path, length, flags)); });
}

int vfs_fallocate(vfs_fs* fs, int fd, int mode, int64_t offset, int64_t len) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&] { return Status(fs->fs->Fallocate(vfs::Fd(fd), mode, offset, len)); });
}

// ---- Extended attributes ----

int vfs_setxattrat(vfs_fs* fs, int dirfd, const char* path, int at_flags, const char* name,
                   const void* value, size_t size, int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  VFS_NONNULL(name);
  if (value == nullptr && size > 0) return -EFAULT;
  return Guard([&] {
    const std::string_view bytes(static_cast<const char*>(value), value == nullptr ? 0 : size);
    return Status(fs->fs->SetXattrAt(vfs::Fd(dirfd), path, at_flags, name, bytes, flags));
  });
}

int64_t vfs_getxattrat(vfs_fs* fs, int dirfd, const char* path, int at_flags, const char* name,
                       void* value, size_t size) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  VFS_NONNULL(name);
  if (value == nullptr && size > 0) return -EFAULT;
  return Guard([&]() -> int64_t {
    auto got = fs->fs->GetXattrAt(vfs::Fd(dirfd), path, at_flags, name);
    if (!got.ok()) return -got.error();
    // getxattr(2): size 0 asks for the size; a buffer too small is ERANGE.
    if (size == 0) return static_cast<int64_t>(got->size());
    if (got->size() > size) return -ERANGE;
    std::memcpy(value, got->data(), got->size());
    return static_cast<int64_t>(got->size());
  });
}

int64_t vfs_listxattrat(vfs_fs* fs, int dirfd, const char* path, int at_flags, char* list,
                        size_t size) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  if (list == nullptr && size > 0) return -EFAULT;
  return Guard([&]() -> int64_t {
    return ListOut(fs->fs->ListXattrAt(vfs::Fd(dirfd), path, at_flags), list, size);
  });
}

int vfs_removexattrat(vfs_fs* fs, int dirfd, const char* path, int at_flags, const char* name) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(path);
  VFS_NONNULL(name);
  return Guard([&] {
    return Status(fs->fs->RemoveXattrAt(vfs::Fd(dirfd), path, at_flags, name));
  });
}

int vfs_setxattr(vfs_fs* fs, const char* path, const char* name, const void* value, size_t size,
                 int flags) {
  return vfs_setxattrat(fs, VFS_AT_FDCWD, path, 0, name, value, size, flags);
}
int vfs_lsetxattr(vfs_fs* fs, const char* path, const char* name, const void* value, size_t size,
                  int flags) {
  return vfs_setxattrat(fs, VFS_AT_FDCWD, path, VFS_AT_SYMLINK_NOFOLLOW, name, value, size, flags);
}
int vfs_fsetxattr(vfs_fs* fs, int fd, const char* name, const void* value, size_t size,
                  int flags) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(name);
  if (value == nullptr && size > 0) return -EFAULT;
  return Guard([&] {
    const std::string_view bytes(static_cast<const char*>(value), value == nullptr ? 0 : size);
    return Status(fs->fs->FsetXattr(vfs::Fd(fd), name, bytes, flags));
  });
}
int64_t vfs_getxattr(vfs_fs* fs, const char* path, const char* name, void* value, size_t size) {
  return vfs_getxattrat(fs, VFS_AT_FDCWD, path, 0, name, value, size);
}
int64_t vfs_lgetxattr(vfs_fs* fs, const char* path, const char* name, void* value, size_t size) {
  return vfs_getxattrat(fs, VFS_AT_FDCWD, path, VFS_AT_SYMLINK_NOFOLLOW, name, value, size);
}
int64_t vfs_fgetxattr(vfs_fs* fs, int fd, const char* name, void* value, size_t size) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(name);
  if (value == nullptr && size > 0) return -EFAULT;
  return Guard([&]() -> int64_t {
    auto got = fs->fs->FgetXattr(vfs::Fd(fd), name);
    if (!got.ok()) return -got.error();
    if (size == 0) return static_cast<int64_t>(got->size());
    if (got->size() > size) return -ERANGE;
    std::memcpy(value, got->data(), got->size());
    return static_cast<int64_t>(got->size());
  });
}
int64_t vfs_listxattr(vfs_fs* fs, const char* path, char* list, size_t size) {
  return vfs_listxattrat(fs, VFS_AT_FDCWD, path, 0, list, size);
}
int64_t vfs_llistxattr(vfs_fs* fs, const char* path, char* list, size_t size) {
  return vfs_listxattrat(fs, VFS_AT_FDCWD, path, VFS_AT_SYMLINK_NOFOLLOW, list, size);
}
int64_t vfs_flistxattr(vfs_fs* fs, int fd, char* list, size_t size) {
  // Not listxattrat with AT_EMPTY_PATH: an O_PATH descriptor is EBADF here
  // (rule X2, as Linux's fdget), as for the other f* forms.
  VFS_FS_OR_FAIL(fs);
  if (list == nullptr && size > 0) return -EFAULT;
  return Guard([&]() -> int64_t { return ListOut(fs->fs->FlistXattr(vfs::Fd(fd)), list, size); });
}
int vfs_removexattr(vfs_fs* fs, const char* path, const char* name) {
  return vfs_removexattrat(fs, VFS_AT_FDCWD, path, 0, name);
}
int vfs_lremovexattr(vfs_fs* fs, const char* path, const char* name) {
  return vfs_removexattrat(fs, VFS_AT_FDCWD, path, VFS_AT_SYMLINK_NOFOLLOW, name);
}
int vfs_fremovexattr(vfs_fs* fs, int fd, const char* name) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(name);
  return Guard([&] { return Status(fs->fs->FremoveXattr(vfs::Fd(fd), name)); });
}

// ---- Identity ----

}  // extern "C"

namespace {

// A copy of a C identity; EINVAL for groups without a count or a count
// without groups.
int FromC(const vfs_credentials& in, vfs::Credentials* out) {
  if (in.ngroups > 0 && in.groups == nullptr) return EFAULT;
  if (in.capabilities & ~static_cast<uint32_t>(vfs::kAllCapabilities)) return EINVAL;
  out->uid = in.uid;
  out->gid = in.gid;
  out->groups.assign(in.groups, in.groups + in.ngroups);
  out->capabilities = in.capabilities;
  out->umask = in.umask & 0777;
  return 0;
}

// The thread's identity set by vfs_set_thread_credentials, and its scope.
struct ThreadIdentity {
  vfs::Credentials creds;
  std::optional<vfs::ScopedCredentials> scope;
};
thread_local std::unique_ptr<ThreadIdentity> thread_identity;

}  // namespace

extern "C" {

int vfs_set_credentials(vfs_fs* fs, const vfs_credentials* creds) {
  VFS_FS_OR_FAIL(fs);
  return Guard([&]() -> int {
    vfs::Credentials c = vfs::Credentials::Root();
    if (creds != nullptr) {
      if (int err = FromC(*creds, &c); err != 0) return -err;
    }
    fs->creds = std::make_unique<vfs::Credentials>(c);
    fs->fs->SetCredentials(std::move(c));
    return 0;
  });
}

int vfs_set_thread_credentials(const vfs_credentials* creds) {
  return Guard([&]() -> int {
    if (creds == nullptr) {
      thread_identity.reset();
      return 0;
    }
    vfs::Credentials c;
    if (int err = FromC(*creds, &c); err != 0) return -err;
    auto next = std::make_unique<ThreadIdentity>();
    next->creds = std::move(c);
    // The old scope ends before the new one starts: scopes nest in order.
    thread_identity.reset();
    thread_identity = std::move(next);
    thread_identity->scope.emplace(thread_identity->creds);
    return 0;
  });
}

int vfs_get_credentials(vfs_fs* fs, vfs_credentials* creds, uint32_t* groups, size_t max_groups) {
  VFS_FS_OR_FAIL(fs);
  VFS_NONNULL(creds);
  if (max_groups > 0 && groups == nullptr) return -EFAULT;
  return Guard([&]() -> int {
    const vfs::Credentials& c = fs->fs->caller();
    const size_t n = c.groups.size();
    if (max_groups != 0 && max_groups < n) return -EINVAL;
    creds->uid = c.uid;
    creds->gid = c.gid;
    creds->capabilities = c.capabilities;
    creds->umask = c.umask;
    creds->groups = groups;
    creds->ngroups = max_groups == 0 ? 0 : n;
    if (max_groups != 0) std::copy(c.groups.begin(), c.groups.end(), groups);
    return static_cast<int>(n);
  });
}

void vfs_credentials_init_root(vfs_credentials* creds) {
  if (creds == nullptr) return;
  std::memset(creds, 0, sizeof *creds);
  creds->capabilities = VFS_CAP_ALL;
}

}  // extern "C"
