// Private parts of Filesystem shared by its .cc files.
#ifndef VFS_INTERNAL_FILESYSTEM_INTERNAL_H_
#define VFS_INTERNAL_FILESYSTEM_INTERNAL_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "vfs/filesystem.h"
#include "vfs/inode.h"
#include "vfs/internal/mutex.h"
#include "vfs/open_file.h"
#include "vfs/options.h"

namespace vfs {

// The result of resolving a path. Valid while the namespace lock is held.
struct Filesystem::Lookup {
  Inode* parent = nullptr;  // the directory that holds `name`
  std::string name;         // the last component: "" for the root, or "." / ".."
  Inode* inode = nullptr;   // what the path names; null if it does not exist
  // A slash follows the last name, which is not ".", ".." or the root: in
  // the path, or in the target of a final symlink that was followed.
  bool trailing_slash = false;
};

struct Filesystem::Accounts {
  std::atomic<uint64_t> used_pages{0};  // allocated pages, cached or on store
  std::atomic<uint64_t> inodes{0};      // live named inodes
  std::atomic<uint64_t> cached_pages{0};  // pages in every inode's cache
  Mutex mu;
  // Inodes gone from memory that the store may still hold.
  std::vector<InodeId> dead ABSL_GUARDED_BY(mu);
};

inline constexpr PageIndex kLastPage{~uint64_t{0}};

// Runs Options::after_call when the outermost public call of this thread
// returns. With no hook set it costs one test on entry and one on return:
// the depth is only counted when there is a hook to run.
class CallScope {
 public:
  explicit CallScope(const Options& options)
      : hook_(options.after_call ? &options.after_call : nullptr) {
    if (hook_ != nullptr) ++depth_;
  }
  ~CallScope() {
    if (hook_ != nullptr && --depth_ == 0) (*hook_)();
  }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  static inline thread_local int depth_ = 0;
  const std::function<void()>* hook_;
};

}  // namespace vfs

#endif  // VFS_INTERNAL_FILESYSTEM_INTERNAL_H_
