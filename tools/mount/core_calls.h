// The handle-based core calls the low-level mount needs, in one place.
//
// The mount addresses inodes through O_PATH descriptors (lowlevel_ops.h)
// with the core's *at calls and AT_EMPTY_PATH. A call the core does not
// offer answers EOPNOTSUPP here, so the mount builds against a core that
// lacks some of them. Never ENOSYS: the kernel takes ENOSYS from a FUSE
// request as "never send this again" (for open: "opening needs nothing"),
// which would outlive a core that gains the call.
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
  if constexpr (requires { fs.MkdirAt(dir, name, mode); }) {
    return fs.MkdirAt(dir, name, mode);
  } else {
    return Error(EOPNOTSUPP);
  }
}

template <typename F = Filesystem>
Result<void> MknodAt(F& fs, Fd dir, const char* name, uint32_t mode, uint64_t rdev) {
  if constexpr (requires { fs.MknodAt(dir, name, mode, rdev); }) {
    return fs.MknodAt(dir, name, mode, rdev);
  } else {
    return Error(EOPNOTSUPP);
  }
}

template <typename F = Filesystem>
Result<void> SymlinkAt(F& fs, const char* target, Fd dir, const char* name) {
  if constexpr (requires { fs.SymlinkAt(target, dir, name); }) {
    return fs.SymlinkAt(target, dir, name);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// linkat(node, "", dir, name, AT_EMPTY_PATH): links the inode itself.
template <typename F = Filesystem>
Result<void> LinkNode(F& fs, Fd node, Fd dir, const char* name) {
  if constexpr (requires { fs.LinkAt(node, "", dir, name, AT_EMPTY_PATH); }) {
    return fs.LinkAt(node, "", dir, name, AT_EMPTY_PATH);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// unlinkat(2); `flags` 0 or AT_REMOVEDIR.
template <typename F = Filesystem>
Result<void> UnlinkAt(F& fs, Fd dir, const char* name, int flags) {
  if constexpr (requires { fs.UnlinkAt(dir, name, flags); }) {
    return fs.UnlinkAt(dir, name, flags);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// renameat2(2); `flags` the VFS's kRename* bits.
template <typename F = Filesystem>
Result<void> RenameAt(F& fs, Fd from_dir, const char* from, Fd to_dir, const char* to,
                      unsigned flags) {
  if constexpr (requires { fs.RenameAt(from_dir, from, to_dir, to, flags); }) {
    return fs.RenameAt(from_dir, from, to_dir, to, flags);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// readlinkat(node, ""): the target of the symlink the node is.
template <typename F = Filesystem>
Result<std::string> ReadlinkNode(F& fs, Fd node) {
  if constexpr (requires { fs.ReadlinkAt(node, ""); }) {
    return fs.ReadlinkAt(node, "");
  } else {
    return Error(EOPNOTSUPP);
  }
}

// fchmodat(node, "", mode, AT_EMPTY_PATH).
template <typename F = Filesystem>
Result<void> ChmodNode(F& fs, Fd node, uint32_t mode) {
  if constexpr (requires { fs.FchmodAt(node, "", mode, AT_EMPTY_PATH); }) {
    return fs.FchmodAt(node, "", mode, AT_EMPTY_PATH);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// fchownat(node, "", uid, gid, AT_EMPTY_PATH); -1 keeps an id.
template <typename F = Filesystem>
Result<void> ChownNode(F& fs, Fd node, uint32_t uid, uint32_t gid) {
  if constexpr (requires { fs.FchownAt(node, "", uid, gid, kNodeItself); }) {
    return fs.FchownAt(node, "", uid, gid, kNodeItself);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// fchown(2) on an open file.
template <typename F = Filesystem>
Result<void> Fchown(F& fs, Fd fd, uint32_t uid, uint32_t gid) {
  if constexpr (requires { fs.Fchown(fd, uid, gid); }) {
    return fs.Fchown(fd, uid, gid);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// utimensat(node, "", times, AT_EMPTY_PATH).
template <typename F = Filesystem>
Result<void> UtimensNode(F& fs, Fd node, const std::array<Timespec, 2>& times) {
  if constexpr (requires { fs.UtimensAt(node, "", times, kNodeItself); }) {
    return fs.UtimensAt(node, "", times, kNodeItself);
  } else {
    return Error(EOPNOTSUPP);
  }
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
  if constexpr (requires { fs.TruncateAt(node, "", length, AT_EMPTY_PATH); }) {
    return fs.TruncateAt(node, "", length, AT_EMPTY_PATH);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// Extended attributes through a descriptor (rule X2).
template <typename F = Filesystem>
Result<void> SetXattr(F& fs, Fd fd, const char* name, std::string_view value, int flags) {
  if constexpr (requires { fs.SetXattrAt(fd, "", kNodeItself, name, value, flags); }) {
    return fs.SetXattrAt(fd, "", kNodeItself, name, value, flags);
  } else {
    return Error(EOPNOTSUPP);
  }
}

template <typename F = Filesystem>
Result<std::string> GetXattr(F& fs, Fd fd, const char* name) {
  if constexpr (requires { fs.GetXattrAt(fd, "", kNodeItself, name); }) {
    return fs.GetXattrAt(fd, "", kNodeItself, name);
  } else {
    return Error(EOPNOTSUPP);
  }
}

template <typename F = Filesystem>
Result<std::vector<std::string>> ListXattr(F& fs, Fd fd) {
  if constexpr (requires { fs.ListXattrAt(fd, "", kNodeItself); }) {
    return fs.ListXattrAt(fd, "", kNodeItself);
  } else {
    return std::vector<std::string>{};
  }
}

template <typename F = Filesystem>
Result<void> RemoveXattr(F& fs, Fd fd, const char* name) {
  if constexpr (requires { fs.RemoveXattrAt(fd, "", kNodeItself, name); }) {
    return fs.RemoveXattrAt(fd, "", kNodeItself, name);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// fallocate(2) (rule X3).
template <typename F = Filesystem>
Result<void> Fallocate(F& fs, Fd fd, int mode, int64_t offset, int64_t length) {
  if constexpr (requires { fs.Fallocate(fd, mode, offset, length); }) {
    return fs.Fallocate(fd, mode, offset, length);
  } else {
    return Error(EOPNOTSUPP);
  }
}

// st_rdev, where the core records it (rule X5).
template <typename S = StatBuf>
uint64_t RdevOf(const S& s) {
  if constexpr (requires { s.rdev; }) {
    return s.rdev;
  } else {
    return 0;
  }
}

}  // namespace vfs::core

#endif  // TOOLS_MOUNT_CORE_CALLS_H_
