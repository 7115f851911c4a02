// ReferenceModel: a small, independent model of a POSIX namespace and file
// contents, the oracle of the fuzzer (fuzz/fuzz_driver.h).
//
// It is written from POSIX and Linux semantics (open(2), rename(2),
// path_resolution(7), ...) and shares no code with vfs/: nodes are plain
// structs, contents a std::string per file, descriptors a table of open file
// descriptions with the lowest free slot first. Where POSIX allows several
// errnos for one call, the model answers the one the VFS documents (its
// check order in vfs/filesystem.h and docs/semantics.md E1-E5); each such
// place says so in the .cc file. Timestamps are not modelled.
//
// For crash checks it also keeps what must be durable (docs/semantics.md D1,
// D2, D3): per file the content made durable by the last whole-file sync and
// not changed since, per directory the entries made durable by its last fsync
// and the names changed since. See ExpectedAfterCrash in fuzz_driver.cc.
//
//   ReferenceModel model(ReferenceModel::Limits{});
//   Result<int> fd = model.Open("/a", O_CREAT | O_RDWR, 0644);   // fd 0
//   model.Write(*fd, "xy");                                      // 2 bytes
//
// Thread-safety: none; one model per fuzz input.
#ifndef FUZZ_REFERENCE_MODEL_H_
#define FUZZ_REFERENCE_MODEL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vfs/result.h"

namespace vfs::fuzz {

// A node id inside the model (not the VFS's inode number).
using NodeId = int;

struct ModelNode {
  enum class Kind { kFile, kDir, kSymlink };
  NodeId id = 0;
  Kind kind = Kind::kFile;
  uint32_t perm = 0;  // permission bits given at creation
  // kFile: the bytes; kSymlink: the target.
  std::string data;
  // kFile: pages holding data (written and not truncated away).
  std::set<uint64_t> pages;
  // false when the page set could not be known (after a crash rebuild).
  bool pages_known = true;
  // kFile: names linking to it.
  uint64_t links = 0;
  // kDir: entries by name, in byte order; the parent (itself for the root);
  // removed once rmdir'ed (or replaced by rename).
  std::map<std::string, NodeId, std::less<>> children;
  NodeId parent = 0;
  bool removed = false;

  // Durability (docs/semantics.md D1-D3). kFile: the content the last
  // successful whole-file sync made durable, if nothing changed it since.
  std::optional<std::string> durable_data;
  // kDir: the entries its last fsync made durable, and the names changed
  // since (their durable state is unknown until the next fsync).
  std::map<std::string, NodeId, std::less<>> durable_children;
  std::set<std::string, std::less<>> changed_names;
};

// One open file description (docs/semantics.md M4).
struct ModelOfd {
  NodeId node = 0;
  int flags = 0;  // as opened, less O_CREAT | O_EXCL | O_TRUNC
  int64_t offset = 0;  // a directory: the count of entries read or sought past
  int dir_stage = 0;  // readdir: 0 before ".", 1 before "..", 2 after dir_last, 3 past the end
  std::string dir_last;

  bool is_path() const;
  bool readable() const;
  bool writable() const;
};

struct ModelDirEntry {
  NodeId node = 0;
  std::string name;
  friend bool operator==(const ModelDirEntry&, const ModelDirEntry&) = default;
};

struct ModelStat {
  NodeId node = 0;
  ModelNode::Kind kind = ModelNode::Kind::kFile;
  uint32_t perm = 0;
  uint64_t size = 0;  // files and symlinks; 0 for directories
  uint64_t nlink = 0;
  // Allocated pages, or nullopt when the model does not know them.
  std::optional<uint64_t> pages;
};

class ReferenceModel {
 public:
  // The limits the VFS under test is mounted with (vfs/options.h).
  struct Limits {
    uint32_t page_size = 4096;
    uint32_t max_open_fds = 16;
    uint32_t max_name_length = 16;
    uint32_t max_path_length = 64;  // including the final NUL
    uint32_t max_symlink_depth = 8;
    uint64_t max_file_size = 256 * 1024;
  };

  explicit ReferenceModel(Limits limits);

  const Limits& limits() const { return limits_; }
  NodeId root() const { return root_; }
  const ModelNode& node(NodeId id) const { return *nodes_.at(id); }
  ModelNode& mutable_node(NodeId id) { return *nodes_.at(id); }
  size_t node_count() const { return nodes_.size(); }
  // The open descriptors, by number.
  std::vector<int> OpenFds() const;
  const ModelOfd* Ofd(int fd) const;

  // The calls, with the VFS's signatures in model terms. `dir` is AT_FDCWD or
  // a descriptor.
  Result<int> OpenAt(int dir, std::string_view path, int flags, uint32_t mode);
  Result<int> Open(std::string_view path, int flags, uint32_t mode) {
    return OpenAt(kCwdFd, path, flags, mode);
  }
  Result<void> Close(int fd);
  Result<int> Dup(int fd);
  Result<std::string> Read(int fd, size_t count);
  Result<std::string> Pread(int fd, size_t count, int64_t offset);
  Result<size_t> Write(int fd, std::string_view data);
  Result<size_t> Pwrite(int fd, std::string_view data, int64_t offset);
  // SEEK_DATA and SEEK_HOLE are answered from the page set; the driver checks
  // them loosely where pages_known is false.
  Result<int64_t> Lseek(int fd, int64_t offset, int whence);
  Result<void> Ftruncate(int fd, int64_t length);
  Result<void> Truncate(std::string_view path, int64_t length);
  Result<void> Mkdir(std::string_view path, uint32_t mode);
  Result<void> Rmdir(std::string_view path);
  Result<void> Unlink(std::string_view path);
  Result<void> Rename(std::string_view from, std::string_view to, unsigned flags);
  Result<void> Link(std::string_view from, std::string_view to);
  Result<void> Symlink(std::string_view target, std::string_view path);
  Result<std::string> Readlink(std::string_view path);
  Result<ModelStat> Stat(std::string_view path, bool follow);
  Result<ModelStat> Fstat(int fd);
  Result<std::vector<ModelDirEntry>> ReadDir(int fd, size_t max);
  // fsync / fdatasync (D1, D2, D3 for a directory, E1). Both make the whole
  // file content durable; on a directory both make its entries durable
  // (D3 [VFS choice] for fdatasync).
  Result<void> Fsync(int fd);
  Result<void> SyncFileRange(int fd, int64_t offset, int64_t nbytes, unsigned flags);
  Result<void> FsyncRange(int fd, int how, int64_t start, int64_t length);
  // WASI fd_sync / fd_datasync in the default Wasmer mode (E7): 0 or a WASI
  // errno.
  int FdSync(int fd, bool datasync);
  Result<void> Syncfs(int fd);
  // sync(2): everything durable.
  void Sync();

  // Starts over from a tree: used after a crash, when the durable state the
  // VFS mounted becomes the new truth (all of it durable, no descriptors).
  // Returns the new root; build the tree with AddRebuilt.
  void Reset();
  NodeId AddRebuilt(NodeId parent, const std::string& name, ModelNode::Kind kind, uint32_t perm,
                    std::string data);
  // Links an existing file under another name while rebuilding (hard links).
  void LinkRebuilt(NodeId parent, const std::string& name, NodeId file);

  static constexpr int kCwdFd = -100;  // AT_FDCWD

 private:
  struct Lookup {
    NodeId parent = 0;
    std::string name;  // "" for the root or a symlink to "/"
    std::optional<NodeId> node;
    // A slash follows the last name (not ".", ".." or the root), in the
    // path or in the target of a final symlink that was followed.
    bool trailing_slash = false;
  };
  // What a call does with the last name (path_resolution(7), fs/namei.c).
  enum class Last {
    kFollow,    // looked up, a symlink followed
    kNoFollow,  // looked up, a symlink followed only when a slash follows it
    kName,      // the name itself, never followed (mkdir, unlink, rename, ...)
    kCreate,    // open O_CREAT: followed unless a slash follows it
  };
  Result<Lookup> Resolve(int dir, std::string_view path, Last last_mode,
                         bool defer_last_lookup = false) const;
  // open(O_TMPFILE) once the flags passed (rule X4): the new node.
  Result<NodeId> OpenTmpfile(int dir, std::string_view path, int flags, uint32_t mode);
  Result<std::shared_ptr<ModelOfd>> GetOfd(int fd) const;
  Result<int> Install(std::shared_ptr<ModelOfd> ofd);
  size_t OpenCount() const;
  NodeId NewNode(ModelNode::Kind kind, uint32_t perm);
  void AddEntry(NodeId dir, const std::string& name, NodeId child);
  void RemoveEntry(NodeId dir, const std::string& name);
  void DropLink(NodeId node);
  Result<size_t> WriteAt(ModelOfd& ofd, std::string_view data, int64_t* offset, bool append);
  Result<void> TruncateNode(ModelNode& node, int64_t length);
  void MarkSynced(ModelNode& node);
  bool Inside(NodeId dir, NodeId ancestor) const;

  Limits limits_;
  std::vector<std::unique_ptr<ModelNode>> nodes_;  // index = NodeId; never freed
  NodeId root_ = 0;
  std::vector<std::shared_ptr<ModelOfd>> fds_;
};

}  // namespace vfs::fuzz

#endif  // FUZZ_REFERENCE_MODEL_H_
