// The differential engine: the same seeded sequence of calls run on the VFS
// (through the C API, vfs/vfs.h) and on Linux tmpfs (through the real
// syscalls), compared call by call (issue 14, item 3).
//
// A sequence is a vector of Op. Each Op is run on both sides by one shared
// executor (Execute in engine.cc) over a small syscall interface (Sys), so the
// two traces are formatted by the same code and differ only where the answers
// differ. An Outcome is a string: the return value or "-ENAME" for an error,
// followed by what the call gave back (stat fields, bytes read, a listing).
//
// The kernel side runs in a child process that chroots into a fresh tmpfs
// (mounted in a private mount namespace when it can, else a fresh directory
// of /dev/shm), so absolute paths, "..", getcwd and symlink targets mean the
// same on both sides. It switches fsuid/fsgid/groups for the non-root
// identity without touching the test process.
//
// A mismatch is shrunk (delta debugging, Shrink) to a small sequence that
// still differs at the same kind of call, and printed as a C program
// (Reproduction) with both sides' answers.
//
// Thread-safety: none; one sequence at a time per thread.
//
// Example:
//   vfs_diff::Generator gen(seed);
//   std::vector<vfs_diff::Op> ops = gen.Sequence(200);
//   vfs_diff::Comparison c = vfs_diff::Compare(ops);
//   if (c.mismatch) std::cout << vfs_diff::Reproduction(vfs_diff::Shrink(ops), seed);

#ifndef VFS_TESTS_DIFFERENTIAL_ENGINE_H_
#define VFS_TESTS_DIFFERENTIAL_ENGINE_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace vfs_diff {

enum class OpKind {
  kOpen,       // slot = open(path, flags | O_NONBLOCK, mode)
  kClose,      // close(slot)
  kDup,        // slot2 = dup(slot)
  kRead,       // read(slot, len)
  kWrite,      // write(slot, pattern(fill, len))
  kPread,      // pread(slot, len, offset)
  kPwrite,     // pwrite(slot, pattern(fill, len), offset)
  kLseek,      // lseek(slot, offset, whence = flags)
  kTruncate,   // truncate(path, offset)
  kFtruncate,  // ftruncate(slot, offset)
  kMkdir,      // mkdir(path, mode)
  kRmdir,      // rmdir(path)
  kUnlink,     // unlink(path)
  kRename,     // renameat2(path, path2, flags)
  kLink,       // link(path, path2)
  kSymlink,    // symlink(path2 as target, path)
  kReadlink,   // readlink(path, len bytes)
  kStat,       // stat(path)
  kLstat,      // lstat(path)
  kFstat,      // fstat(slot)
  kChmod,      // chmod(path, mode)
  kFchmod,     // fchmod(slot, mode)
  kChdir,      // chdir(path)
  kGetcwd,     // getcwd(len bytes)
  kFsync,      // fsync(slot)
  kFdatasync,  // fdatasync(slot)
  kListDir,    // every entry of the directory at path (a set)
  kGetfl,      // fcntl(slot, F_GETFL)
  kSetfl,      // fcntl(slot, F_SETFL, flags)
  kMkfifo,     // mkfifo(path, mode)
  kUtimens,    // utimensat(path, {OMIT or NOW}, follow = flags)
  kIdentity,   // switch the caller identity to Identities()[flags]
  kChown,      // chown(path, uid, gid), lchown when flags is 1
  kFchown,     // fchown(slot, uid, gid)
  kMknod,      // mknod(path, mode, rdev)
  kFallocate,  // fallocate(slot, flags, offset, len)
  kSetxattr,   // setxattr(path2 as name, pattern(fill, len), flags); form in mode
  kGetxattr,   // getxattr(path2 as name, len bytes); form in mode
  kListxattr,  // listxattr(len bytes); form in mode
  kRemovexattr,  // removexattr(path2 as name); form in mode
  kTmpfile,    // slot = open(path, O_TMPFILE | flags, mode)
  kLinkEmpty,  // linkat(slot, "", AT_FDCWD, path, AT_EMPTY_PATH)
  kSnapshot,   // the whole tree: lstat of every name, contents, link targets
};

// Which form of an xattr call: by path, by path without following a final
// symlink (l*), or by descriptor (f*).
enum XattrForm { kXattrPath = 0, kXattrNoFollow = 1, kXattrFd = 2 };

struct Op {
  OpKind kind = OpKind::kStat;
  int slot = 0;   // descriptor slot used (or set by kOpen)
  int slot2 = 0;  // kDup's target slot
  std::string path;
  std::string path2;
  int flags = 0;
  uint32_t mode = 0;
  int64_t offset = 0;
  int64_t len = 0;
  uint8_t fill = 0;  // first byte of a write's pattern
  uint32_t uid = 0;  // chown's owner (UINT32_MAX: unchanged)
  uint32_t gid = 0;  // chown's group (UINT32_MAX: unchanged)
  uint64_t rdev = 0; // mknod's device number
};

// A caller identity; index 0 is root.
struct Identity {
  uint32_t uid;
  uint32_t gid;
  std::vector<uint32_t> groups;
};
const std::vector<Identity>& Identities();

// True once the C API can run a call as another identity; until then the
// generator emits no kIdentity op (the kernel side is ready for it).
bool VfsHasIdentity();
// True once the VFS implements the xattr calls / fallocate (not -ENOSYS).
bool VfsHasXattrs();
bool VfsHasFallocate();

// Seeded random sequences biased towards the cases where filesystems differ:
// a small name pool (so names collide), trailing slashes, "..", symlink
// loops, names and paths too long, odd offsets, every lseek whence.
class Generator {
 public:
  explicit Generator(uint64_t seed, bool identities = VfsHasIdentity());
  std::vector<Op> Sequence(int length);

 private:
  Op Next();
  std::string Path();
  std::string Name();
  int64_t Offset();
  int64_t Length();
  int OpenFlags();
  uint32_t Mode();
  uint32_t ChmodMode();
  uint32_t Id();
  std::string XattrName();
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  bool Chance(int percent) { return Pick(100) < percent; }

  std::mt19937_64 rng_;
  bool identities_;
};

using Trace = std::vector<std::string>;

// Runs `ops` on a fresh VFS; one outcome per op.
Trace RunVfs(const std::vector<Op>& ops);
// Runs `ops` on a fresh tmpfs in a child process; nullopt (and *why) when
// this machine cannot make the sandbox (the process is not root).
std::optional<Trace> RunKernel(const std::vector<Op>& ops, std::string* why = nullptr);

struct Comparison {
  bool kernel_ran = false;   // false: no sandbox; nothing was compared
  bool mismatch = false;     // a difference Explained does not know
  const char* explained = nullptr;  // else the reason of a known one
  size_t index = 0;          // first op whose outcomes differ
  size_t compared = 0;       // ops compared (up to and with the mismatch)
  Trace vfs;
  Trace kernel;
};
Comparison Compare(const std::vector<Op>& ops);

// Why the answers `kernel` (Linux) and `vfs` to `op` may differ, when the difference
// is a known one (a [VFS choice] or work on another branch); else nullptr.
// `allocated_before`: an earlier op of the sequence was a fallocate that
// allocates (V6).
const char* Explained(const Op& op, const std::string& kernel, const std::string& vfs,
                      bool allocated_before = false);

// Delta debugging: the smallest sequence found that still differs at an op
// of the same kind as the first mismatch of `ops` (which must differ).
std::vector<Op> Shrink(const std::vector<Op>& ops);

// A C program that replays `ops` with the real syscalls, each line commented
// with both sides' outcomes; the first differing line is marked.
std::string Reproduction(const std::vector<Op>& ops, uint64_t seed);

// The call's name ("open", "pwrite", "snapshot").
const char* KindName(OpKind kind);

// One line of C for an op (used by Reproduction).
std::string Describe(const Op& op);

}  // namespace vfs_diff

#endif  // VFS_TESTS_DIFFERENTIAL_ENGINE_H_
