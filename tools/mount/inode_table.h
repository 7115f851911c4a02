// InodeTable: the kernel's FUSE node ids and the VFS inodes they name, for
// the low-level mount (docs/mount.md, "Design").
//
// Each node the kernel knows holds an O_PATH descriptor of the VFS inode, in
// the Filesystem of one mount generation (a crash starts a new one). Nodes
// are keyed by (generation, st_ino), so every hard link of an inode is one
// kernel inode, and flock, POSIX locks and FIFO pairing work across links.
// The descriptor keeps the inode alive, even unlinked, until the kernel
// forgets the node, so a VFS inode number is never reused while the kernel
// holds it; node ids themselves are never reused (a 64-bit counter).
//
// Lookup counts follow the FUSE protocol: every reply that hands the kernel
// an entry (lookup, create, mkdir, mknod, symlink, link) adds one, and
// `forget` subtracts what the kernel says. At zero the node goes and its
// descriptor is handed back for the caller to close.
//
// The table also remembers, per directory node, the names the kernel may
// hold a dentry for (positive or negative), so a crash can invalidate them
// all (fuse_lowlevel_notify_inval_entry): the kernel caches entries with a
// timeout and would otherwise show names the crash undid.
//
// Thread-safety: thread-safe; one mutex, never held across a VFS call.
#ifndef TOOLS_MOUNT_INODE_TABLE_H_
#define TOOLS_MOUNT_INODE_TABLE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "vfs/internal/mutex.h"
#include "vfs/types.h"

namespace vfs {

// FUSE_ROOT_ID: the kernel's id of the mount's root.
inline constexpr uint64_t kRootNodeId = 1;

class InodeTable {
 public:
  // What an operation needs of a node: its descriptor and the generation it
  // belongs to.
  struct Handle {
    Fd fd;
    uint32_t generation = 0;
  };

  // Binds the root node to `root_fd` (an O_PATH descriptor of "/") of
  // `generation`. Called at mount and at each remount after a crash.
  void BindRoot(Fd root_fd, InodeId root_ino, uint32_t generation);

  // The node `id`, or nullopt if the kernel named a node it forgot (a bug in
  // the kernel or here: the caller answers ESTALE).
  std::optional<Handle> Get(uint64_t id) const;

  // Hands the kernel an entry for the inode `ino`, found as `name` in
  // directory node `parent` and opened as `fd` (O_PATH) in `generation`: the
  // existing node of that inode gains one lookup, or a new node is made.
  // Either way `parent`/`name` become the node's last known name. Returns
  // the node id, and in `*unused` a descriptor the caller must close (the
  // new one when the node already had its own).
  uint64_t Intern(InodeId ino, Fd fd, uint32_t generation, uint64_t parent, std::string_view name,
                  std::optional<Fd>* unused);

  // The last name the kernel reached node `id` by: {parent node, name}.
  // The name may have gone or moved since (rename, unlink); the caller
  // checks the inode it finds (see LowlevelFs's open).
  struct Name {
    uint64_t parent;
    std::string name;
    InodeId ino;
  };
  std::optional<Name> NameOf(uint64_t id) const;
  // A rename moved the inode `ino` of `generation` to `parent`/`name`: its
  // node, if the kernel holds one, records the new name.
  void Renamed(InodeId ino, uint32_t generation, uint64_t parent, std::string_view name);

  // Subtracts `count` lookups. When none are left the node goes; returns its
  // descriptor for the caller to close (if its generation is current).
  std::optional<Handle> Forget(uint64_t id, uint64_t count);

  // Remembers that the kernel may hold a dentry `name` in directory `dir`.
  void NoteName(uint64_t dir, std::string_view name);

  // The kernel dropped its dentry `name` in `dir` (unlink, rmdir, the old
  // name of a rename: the kernel expires such a dentry itself), so a crash
  // need not invalidate it; a later lookup notes it again.
  void DropName(uint64_t dir, std::string_view name);

  // After a crash: every (directory, name) the kernel may hold, and every
  // node id; the names are forgotten (the caller invalidates them).
  struct Snapshot {
    std::vector<std::pair<uint64_t, std::string>> names;
    std::vector<uint64_t> nodes;
  };
  Snapshot TakeForInvalidation();

  // The ids of the nodes alive.
  std::vector<uint64_t> NodeIds() const;

  // Nodes alive (tests; the `stats` command).
  size_t size() const;

 private:
  struct Node {
    InodeId ino;
    Fd fd;
    uint32_t generation = 0;
    uint64_t lookups = 0;
    uint64_t parent = 0;  // the last name the kernel reached it by
    std::string name;
    std::unordered_set<std::string> names;  // dentries the kernel may hold
  };
  struct KeyHash {
    size_t operator()(const std::pair<uint32_t, uint64_t>& k) const {
      return std::hash<uint64_t>()(k.second * 0x9e3779b97f4a7c15ull ^ k.first);
    }
  };

  mutable Mutex mu_;
  std::unordered_map<uint64_t, Node> nodes_ ABSL_GUARDED_BY(mu_);
  // (generation, st_ino) -> node id.
  std::unordered_map<std::pair<uint32_t, uint64_t>, uint64_t, KeyHash> by_ino_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = kRootNodeId + 1;
};

}  // namespace vfs

#endif  // TOOLS_MOUNT_INODE_TABLE_H_
