// WASI preview1 errno values and rights bits used by the VFS (semantics E6).
#ifndef VFS_WASI_H_
#define VFS_WASI_H_

#include <cstdint>

namespace vfs::wasi {

// A WASI errno: the position in the `errno` enum of wasi_snapshot_preview1.
using Errno = uint16_t;
inline constexpr Errno kSuccess = 0;
inline constexpr Errno kAcces = 2;
inline constexpr Errno kBadf = 8;
inline constexpr Errno kDquot = 19;
inline constexpr Errno kInval = 28;
inline constexpr Errno kIo = 29;
inline constexpr Errno kIsdir = 31;
inline constexpr Errno kNospc = 51;
inline constexpr Errno kRofs = 69;
inline constexpr Errno kSpipe = 70;
inline constexpr Errno kNotcapable = 76;

// Rights bits (typenames.witx `$rights`).
inline constexpr uint64_t kRightFdDatasync = 1ull << 0;
inline constexpr uint64_t kRightFdRead = 1ull << 1;
inline constexpr uint64_t kRightFdSeek = 1ull << 2;
inline constexpr uint64_t kRightFdFdstatSetFlags = 1ull << 3;
inline constexpr uint64_t kRightFdSync = 1ull << 4;
inline constexpr uint64_t kRightFdTell = 1ull << 5;
inline constexpr uint64_t kRightFdWrite = 1ull << 6;
inline constexpr uint64_t kRightPathCreateFile = 1ull << 10;
inline constexpr uint64_t kRightPathOpen = 1ull << 13;
inline constexpr uint64_t kRightFdReaddir = 1ull << 14;
inline constexpr uint64_t kRightPathFilestatSetSize = 1ull << 19;
inline constexpr uint64_t kRightFdFilestatGet = 1ull << 21;
inline constexpr uint64_t kRightFdFilestatSetSize = 1ull << 22;
inline constexpr uint64_t kRightFdFilestatSetTimes = 1ull << 23;
inline constexpr uint64_t kRightsAll = ~0ull;

// The WASI errno for a host errno, for the errors the durability calls return.
Errno FromHostErrno(int err);

}  // namespace vfs::wasi

#endif  // VFS_WASI_H_
