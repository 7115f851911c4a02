// The handle-based core calls the low-level mount needs, in one place.
//
// The mount addresses inodes through O_PATH descriptors (lowlevel_ops.h)
// with the core's *at calls and AT_EMPTY_PATH; the forms it uses are
// spelled out here once. ReopenFile uses the core's ReopenAt when there is
// one (there is not yet: the mount then opens by name, lowlevel_ops.cc).
//
// Thread-safety: as the Filesystem calls they forward to.
#ifndef TOOLS_MOUNT_CORE_CALLS_H_
#define TOOLS_MOUNT_CORE_CALLS_H_

#include <fcntl.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vfs/filesystem.h"

namespace vfs::core {

// The node itself (AT_EMPTY_PATH), a symlink included (AT_SYMLINK_NOFOLLOW).
inline constexpr int kNodeItself = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW;

template <typename F = Filesystem>
Result<void> MkdirAt(F& fs, Fd dir, const char* name, uint32_t mode) {
  return fs.MkdirAt(dir, name, mode);
}

template <typename F = Filesystem>
Result<void> MknodAt(F& fs, Fd dir, const char* name, uint32_t mode, uint64_t rdev) {
  return fs.MknodAt(dir, name, mode, rdev);
}

template <typename F = Filesystem>
Result<void> SymlinkAt(F& fs, const char* target, Fd dir, const char* name) {
  return fs.SymlinkAt(target, dir, name);
}

// link(2) as the kernel sends it: links the inode itself, whoever opened the
// node handle (Filesystem::LinkHandle).
template <typename F = Filesystem>
Result<void> LinkNode(F& fs, Fd node, Fd dir, const char* name) {
  return fs.LinkHandle(node, dir, name);
}

// unlinkat(2); `flags` 0 or AT_REMOVEDIR.
template <typename F = Filesystem>
Result<void> UnlinkAt(F& fs, Fd dir, const char* name, int flags) {
  return fs.UnlinkAt(dir, name, flags);
}

// renameat2(2); `flags` the VFS's kRename* bits.
template <typename F = Filesystem>
Result<void> RenameAt(F& fs, Fd from_dir, const char* from, Fd to_dir, const char* to,
                      unsigned flags) {
  return fs.RenameAt(from_dir, from, to_dir, to, flags);
}

// readlinkat(node, ""): the target of the symlink the node is.
template <typename F = Filesystem>
Result<std::string> ReadlinkNode(F& fs, Fd node) {
  return fs.ReadlinkAt(node, "");
}

// fchmodat(node, "", mode, AT_EMPTY_PATH).
template <typename F = Filesystem>
Result<void> ChmodNode(F& fs, Fd node, uint32_t mode) {
  return fs.FchmodAt(node, "", mode, AT_EMPTY_PATH);
}

// fchownat(node, "", uid, gid, AT_EMPTY_PATH); -1 keeps an id.
template <typename F = Filesystem>
Result<void> ChownNode(F& fs, Fd node, uint32_t uid, uint32_t gid) {
  return fs.FchownAt(node, "", uid, gid, kNodeItself);
}

// fchown(2) on an open file.
template <typename F = Filesystem>
Result<void> Fchown(F& fs, Fd fd, uint32_t uid, uint32_t gid) {
  return fs.Fchown(fd, uid, gid);
}

// utimensat(node, "", times, AT_EMPTY_PATH).
template <typename F = Filesystem>
Result<void> UtimensNode(F& fs, Fd node, const std::array<Timespec, 2>& times) {
  return fs.UtimensAt(node, "", times, kNodeItself);
}

// A new open file description of the node's inode, as open(2) of
// /proc/self/fd/N gives, where the core offers it (ReopenAt); nullopt where
// it does not, and the caller opens by name.
template <typename F = Filesystem>
std::optional<Result<Fd>> ReopenFile(F& fs, Fd node, int flags) {
  if constexpr (requires { fs.ReopenAt(node, flags); }) {
    return fs.ReopenAt(node, flags);
  } else {
    return std::nullopt;
  }
}

// A new open file description of a directory node, through ".".
template <typename F = Filesystem>
Result<Fd> ReopenNode(F& fs, Fd node, int flags) {
  return fs.OpenAt(node, ".", flags);
}

// truncate(2) of the node's inode (TruncateAt with AT_EMPTY_PATH).
template <typename F = Filesystem>
Result<void> TruncateNode(F& fs, Fd node, int64_t length) {
  return fs.TruncateAt(node, "", length, AT_EMPTY_PATH);
}

// Extended attributes through a descriptor (rule X2).
template <typename F = Filesystem>
Result<void> SetXattr(F& fs, Fd fd, const char* name, std::string_view value, int flags) {
  return fs.SetXattrAt(fd, "", kNodeItself, name, value, flags);
}

template <typename F = Filesystem>
Result<std::string> GetXattr(F& fs, Fd fd, const char* name) {
  return fs.GetXattrAt(fd, "", kNodeItself, name);
}

template <typename F = Filesystem>
Result<std::vector<std::string>> ListXattr(F& fs, Fd fd) {
  return fs.ListXattrAt(fd, "", kNodeItself);
}

template <typename F = Filesystem>
Result<void> RemoveXattr(F& fs, Fd fd, const char* name) {
  return fs.RemoveXattrAt(fd, "", kNodeItself, name);
}

// fallocate(2) (rule X3).
template <typename F = Filesystem>
Result<void> Fallocate(F& fs, Fd fd, int mode, int64_t offset, int64_t length) {
  return fs.Fallocate(fd, mode, offset, length);
}

// st_rdev, where the core records it (rule X5).
template <typename S = StatBuf>
uint64_t RdevOf(const S& s) {
  return s.rdev;
}

}  // namespace vfs::core

#endif  // TOOLS_MOUNT_CORE_CALLS_H_
