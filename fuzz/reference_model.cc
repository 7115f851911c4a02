// The reference model: POSIX namespace and contents, written from the man
// pages (open(2), read(2), write(2), lseek(2), truncate(2), mkdir(2),
// rmdir(2), unlink(2), rename(2), link(2), symlink(2), readlink(2),
// path_resolution(7)) and docs/semantics.md for the durability calls. It
// deliberately shares no code with vfs/.
//
// Errno choice: where POSIX lists several errnos a call may return for one
// input, the model returns the one of the VFS's documented check order
// (vfs/filesystem.h comments; docs/semantics.md E1, E2, E5, E7). Each
// such place is marked "[order]".
#include "fuzz/reference_model.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "vfs/types.h"

namespace vfs::fuzz {
namespace {

using Kind = ModelNode::Kind;

// The components of a path, last first (so back() is the next to walk);
// empty components ("a//b") are skipped.
void PushReversed(std::string_view path, std::vector<std::string>* stack) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  stack->insert(stack->end(), parts.rbegin(), parts.rend());
}

// Whether `path` ends in a slash after a last name that is not "." or ".."
// (those are directories whatever follows them).
bool SlashAfterName(std::string_view path) {
  if (path.empty() || path.back() != '/') return false;
  std::vector<std::string> parts;
  PushReversed(path, &parts);
  return !parts.empty() && parts.front() != "." && parts.front() != "..";
}

// The directory part of a path whose last name has slashes after it:
// "a/b//" -> "a/", "b/" -> ".", "/b/" -> "/".
std::string DirBeforeLastName(std::string_view path) {
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  const size_t slash = path.rfind('/', end - 1);
  if (slash == std::string_view::npos) return ".";
  return std::string(path.substr(0, slash + 1));
}

}  // namespace

bool ModelOfd::is_path() const { return (flags & O_PATH) != 0; }
bool ModelOfd::readable() const {
  const int mode = flags & O_ACCMODE;
  return !is_path() && (mode == O_RDONLY || mode == O_RDWR);
}
bool ModelOfd::writable() const {
  const int mode = flags & O_ACCMODE;
  return !is_path() && (mode == O_WRONLY || mode == O_RDWR);
}

ReferenceModel::ReferenceModel(Limits limits) : limits_(limits) { Reset(); }

void ReferenceModel::Reset() {
  nodes_.clear();
  fds_.clear();
  root_ = NewNode(Kind::kDir, 0755);
  ModelNode& root = mutable_node(root_);
  root.parent = root_;  // ".." of the root is the root (path_resolution(7))
}

NodeId ReferenceModel::NewNode(Kind kind, uint32_t perm) {
  auto node = std::make_unique<ModelNode>();
  node->id = static_cast<NodeId>(nodes_.size());
  node->kind = kind;
  node->perm = perm;
  // A new file's durable content is unknown until its first sync: its record
  // may reach the store with its entry before the data (architecture.md).
  nodes_.push_back(std::move(node));
  return nodes_.back()->id;
}

NodeId ReferenceModel::AddRebuilt(NodeId parent, const std::string& name, Kind kind, uint32_t perm,
                                  std::string data) {
  const NodeId id = NewNode(kind, perm);
  ModelNode& node = mutable_node(id);
  node.data = std::move(data);
  node.pages_known = false;
  node.links = 1;
  node.parent = parent;
  if (kind == Kind::kFile) node.durable_data = node.data;
  ModelNode& dir = mutable_node(parent);
  dir.children[name] = id;
  dir.durable_children[name] = id;
  return id;
}

void ReferenceModel::LinkRebuilt(NodeId parent, const std::string& name, NodeId file) {
  ModelNode& dir = mutable_node(parent);
  dir.children[name] = file;
  dir.durable_children[name] = file;
  ++mutable_node(file).links;
}

std::vector<int> ReferenceModel::OpenFds() const {
  std::vector<int> out;
  for (size_t i = 0; i < fds_.size(); ++i) {
    if (fds_[i]) out.push_back(static_cast<int>(i));
  }
  return out;
}

const ModelOfd* ReferenceModel::Ofd(int fd) const {
  auto got = GetOfd(fd);
  return got.ok() ? got->get() : nullptr;
}

Result<std::shared_ptr<ModelOfd>> ReferenceModel::GetOfd(int fd) const {
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd]) return Error(EBADF);
  return fds_[fd];
}

size_t ReferenceModel::OpenCount() const {
  return static_cast<size_t>(std::count_if(fds_.begin(), fds_.end(), [](const auto& f) { return f != nullptr; }));
}

// POSIX: open, dup and pipe return the lowest-numbered free descriptor.
Result<int> ReferenceModel::Install(std::shared_ptr<ModelOfd> ofd) {
  if (OpenCount() >= limits_.max_open_fds) return Error(EMFILE);
  size_t slot = 0;
  while (slot < fds_.size() && fds_[slot]) ++slot;
  if (slot == fds_.size()) fds_.emplace_back();
  fds_[slot] = std::move(ofd);
  return static_cast<int>(slot);
}

// path_resolution(7): every component but the last must be a searchable
// directory; symlinks are followed in every component but the last. The
// last: a lookup follows it when the call follows, or when a slash comes
// after it, and then needs a directory (Linux's lookup_last); a call on the
// name itself (mkdir, rmdir, unlink, rename, symlink, link's new name)
// never follows it and judges the slash itself; open with O_CREAT follows
// it unless a slash comes after it. A slash at the end of a final symlink's
// target counts as one after the name. ".." of the root is the root.
// [order] empty path ENOENT, then ENAMETOOLONG for the whole path, then
// EINVAL for an embedded NUL (the C API could not even pass one), then per
// component ENOTDIR, ENOENT in a removed directory, ENAMETOOLONG, ENOENT;
// ELOOP after max_symlink_depth symlinks in one lookup. Inside a removed directory "." and ".." still
// resolve (".." to where it was removed from) and every other name is
// ENOENT, as on Linux. `defer_last_lookup`: a last name too long or in a
// removed directory is left to the caller (rename looks both last names up
// after its EBUSY checks, as do_renameat2).
Result<ReferenceModel::Lookup> ReferenceModel::Resolve(int dir, std::string_view path,
                                                        Last last_mode, bool defer_last_lookup) const {
  if (path.empty()) return Error(ENOENT);
  if (path.size() >= limits_.max_path_length) return Error(ENAMETOOLONG);
  if (path.find('\0') != std::string_view::npos) return Error(EINVAL);
  NodeId cur = root_;  // the fuzzer never changes directory: the cwd is "/"
  if (path[0] != '/' && dir != kCwdFd) {
    auto ofd = GetOfd(dir);
    if (!ofd.ok()) return Error(EBADF);
    cur = (*ofd)->node;
    if (node(cur).kind != Kind::kDir) return Error(ENOTDIR);
  }
  Lookup out;
  out.parent = cur;
  out.node = cur;
  bool slash = SlashAfterName(path);
  std::vector<std::string> stack;
  PushReversed(path, &stack);
  uint32_t followed = 0;
  while (!stack.empty()) {
    const std::string name = std::move(stack.back());
    stack.pop_back();
    const bool last = stack.empty();
    const ModelNode& here = node(cur);
    if (here.kind != Kind::kDir) return Error(ENOTDIR);
    if (name == "." || name == "..") {
      if (name == "..") cur = here.parent;
      if (last) {
        out.parent = cur;
        out.name = name;
        out.node = cur;
        out.trailing_slash = false;
      }
      continue;
    }
    if (last && defer_last_lookup && (here.removed || name.size() > limits_.max_name_length)) {
      out.parent = cur;
      out.name = name;
      out.node.reset();
      out.trailing_slash = slash;
      return out;
    }
    if (here.removed) return Error(ENOENT);
    // A name too long is refused by the lookup itself (tmpfs's
    // simple_lookup), after a removed directory's ENOENT (Linux checks
    // IS_DEADDIR first). open with O_CREAT decides EISDIR for a slash after
    // the last name before it looks the name up (open_last_lookups).
    if (name.size() > limits_.max_name_length) {
      if (!(last && slash && last_mode == Last::kCreate)) return Error(ENAMETOOLONG);
      out.parent = cur;
      out.name = name;
      out.node.reset();
      out.trailing_slash = true;
      return out;
    }
    auto it = here.children.find(name);
    if (it == here.children.end()) {
      if (!last) return Error(ENOENT);
      out.parent = cur;
      out.name = name;
      out.node.reset();
      out.trailing_slash = slash;
      return out;
    }
    const ModelNode& child = node(it->second);
    const bool follow = !last || last_mode == Last::kFollow ||
                        (last_mode == Last::kNoFollow && slash) ||
                        (last_mode == Last::kCreate && !slash);
    if (child.kind == Kind::kSymlink && follow) {
      if (++followed > limits_.max_symlink_depth) return Error(ELOOP);
      if (child.data[0] == '/') cur = root_;
      PushReversed(child.data, &stack);
      if (last) slash = slash || SlashAfterName(child.data);
      if (last && stack.empty()) {  // the link pointed at "/" (or "//")
        out.parent = cur;
        out.name.clear();
        out.node = cur;
        out.trailing_slash = false;
      }
      continue;
    }
    if (last) {
      out.parent = cur;
      out.name = name;
      out.node = child.id;
      out.trailing_slash = slash;
    }
    cur = child.id;
  }
  const bool lookup = last_mode == Last::kFollow || last_mode == Last::kNoFollow;
  if (lookup && out.node && out.trailing_slash && node(*out.node).kind != Kind::kDir) {
    return Error(ENOTDIR);
  }
  return out;
}

void ReferenceModel::AddEntry(NodeId dir, const std::string& name, NodeId child) {
  ModelNode& d = mutable_node(dir);
  d.children[name] = child;
  d.changed_names.insert(name);  // D3: durable only after fsync of `dir`
  ModelNode& c = mutable_node(child);
  if (c.kind == Kind::kDir) c.parent = dir;
}

void ReferenceModel::RemoveEntry(NodeId dir, const std::string& name) {
  ModelNode& d = mutable_node(dir);
  d.children.erase(name);
  d.changed_names.insert(name);
}

void ReferenceModel::DropLink(NodeId id) {
  ModelNode& n = mutable_node(id);
  if (n.kind == Kind::kDir) {
    n.removed = true;
  } else {
    --n.links;
  }
}

void ReferenceModel::MarkSynced(ModelNode& n) {
  if (n.kind == Kind::kFile) n.durable_data = n.data;
  if (n.kind == Kind::kDir) {
    n.durable_children = n.children;
    n.changed_names.clear();
  }
}

// Whether `dir` is `ancestor` or below it.
bool ReferenceModel::Inside(NodeId dir, NodeId ancestor) const {
  for (NodeId at = dir;; at = node(at).parent) {
    if (at == ancestor) return true;
    if (at == root_ || node(at).removed) return false;
  }
}

// ---- Descriptors ----

// open(2). [order] EINVAL for O_TMPFILE's misuse (below); EINVAL for
// O_CREAT|O_DIRECTORY (Linux >= 6.4); EMFILE before the path is looked up;
// resolution errors; O_CREAT with a slash after the last name (in the path
// or a followed link's target) is EISDIR (Linux open_last_lookups); then
// ENOENT, EEXIST, ENOTDIR (O_DIRECTORY), ELOOP (O_NOFOLLOW on a symlink),
// EISDIR (a directory opened for writing, with O_TRUNC, or with O_CREAT).
// O_CREAT|O_EXCL never follows the last symlink. O_PATH keeps only
// O_DIRECTORY and O_NOFOLLOW.
//
// Rule X4, O_TMPFILE (its own bit, which Linux's O_TMPFILE pairs with
// O_DIRECTORY): [order] as Linux's build_open_flags, EINVAL unless it comes
// with O_DIRECTORY and without O_CREAT, EINVAL without write access; then
// EMFILE; then the directory's lookup (ENOENT, ENOTDIR for anything but a
// directory); the file made has no name (nlink 0).
Result<int> ReferenceModel::OpenAt(int dir, std::string_view path, int flags, uint32_t mode) {
  // [VFS choice] WASI rights (vfs/filesystem.h SetRights): opening through
  // a directory descriptor narrows fd_read / fd_write to the access mode,
  // but read and write answer the access mode's EBADF first (rule E6/E7),
  // so with the fuzzer never narrowing rights no call sees them.
  constexpr int kTmpfileBit = O_TMPFILE & ~O_DIRECTORY;
  // Linux's build_open_how lets O_PATH beat everything else, the O_TMPFILE
  // bit included (the directory is opened as O_PATH, rule X4).
  if (flags & O_PATH) flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  const bool tmpfile = (flags & kTmpfileBit) != 0;
  if (tmpfile && ((flags & (O_TMPFILE | O_CREAT)) != O_TMPFILE || (flags & O_ACCMODE) == O_RDONLY)) {
    return Error(EINVAL);
  }
  const bool create = (flags & O_CREAT) != 0;
  if (create && (flags & O_DIRECTORY)) return Error(EINVAL);
  if (OpenCount() >= limits_.max_open_fds) return Error(EMFILE);
  if (tmpfile) {
    auto target = OpenTmpfile(dir, path, flags, mode);
    if (!target.ok()) return Error(target.error());
    auto ofd = std::make_shared<ModelOfd>();
    ofd->node = *target;
    ofd->flags = flags & ~(O_TMPFILE | O_CREAT | O_EXCL | O_TRUNC);
    return Install(std::move(ofd));
  }
  const bool excl = create && (flags & O_EXCL);
  const bool path_only = (flags & O_PATH) != 0;
  Last last_mode = (flags & O_NOFOLLOW) ? Last::kNoFollow : Last::kFollow;
  if (create) last_mode = (excl || (flags & O_NOFOLLOW)) ? Last::kName : Last::kCreate;
  auto found = Resolve(dir, path, last_mode);
  if (!found.ok()) {
    // open_last_lookups decides EISDIR before the last name's lookup, so a
    // slashed last name the lookup would refuse (too long, or any name in a
    // removed directory) is EISDIR once the directory before it resolves.
    const int err = found.error();
    if (create && (err == ENAMETOOLONG || err == ENOENT) && SlashAfterName(path)) {
      auto parent = Resolve(dir, DirBeforeLastName(path), Last::kFollow);
      if (!parent.ok()) return Error(parent.error());
      if (!parent->node) return Error(ENOENT);
      if (node(*parent->node).kind != Kind::kDir) return Error(ENOTDIR);
      return Error(EISDIR);
    }
    return Error(err);
  }
  if (create && found->trailing_slash) return Error(EISDIR);
  NodeId target = 0;
  if (!found->node) {
    if (!create) return Error(ENOENT);
    target = NewNode(Kind::kFile, mode & 07777);
    mutable_node(target).links = 1;
    AddEntry(found->parent, found->name, target);
  } else {
    if (excl) return Error(EEXIST);
    target = *found->node;
    const ModelNode& n = node(target);
    // As Linux's do_open: O_DIRECTORY's ENOTDIR before may_open's ELOOP
    // for a final symlink not followed.
    if ((flags & O_DIRECTORY) && n.kind != Kind::kDir) return Error(ENOTDIR);
    if (n.kind == Kind::kSymlink && !path_only) return Error(ELOOP);
    const bool wants_write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (n.kind == Kind::kDir && !path_only && (wants_write || create)) return Error(EISDIR);
    if ((flags & O_TRUNC) && !path_only && n.kind == Kind::kFile) {
      // open(2): O_TRUNC truncates a regular file whatever the access mode
      // (Linux does so even for O_RDONLY).
      auto truncated = TruncateNode(mutable_node(target), 0);
      if (!truncated.ok()) return Error(truncated.error());
    }
  }
  auto ofd = std::make_shared<ModelOfd>();
  ofd->node = target;
  ofd->flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC);
  return Install(std::move(ofd));
}

// Rule X4: the directory is looked up as Linux's do_tmpfile does (a final
// symlink followed unless O_NOFOLLOW, then it must be a directory:
// ENOTDIR); a new regular file with no name, nlink 0, the mode's 07777
// bits (root keeps the set-id bits, rule X1), reachable only through the
// descriptor. The fuzzer has no linkat, so it never gets a name; after a
// crash nothing of it is left (rule X4) and the model, rebuilt from the
// tree, has nothing of it either.
Result<NodeId> ReferenceModel::OpenTmpfile(int dir, std::string_view path, int flags, uint32_t mode) {
  // do_tmpfile: a final symlink is not followed with O_NOFOLLOW (ENOTDIR).
  auto found = Resolve(dir, path, (flags & O_NOFOLLOW) ? Last::kNoFollow : Last::kFollow);
  if (!found.ok()) return Error(found.error());
  if (!found->node) return Error(ENOENT);
  const ModelNode& parent = node(*found->node);
  if (parent.kind != Kind::kDir) return Error(ENOTDIR);
  // A removed directory makes the file too, as tmpfs (vfs_tmpfile does not
  // ask IS_DEADDIR).
  const NodeId made = NewNode(Kind::kFile, mode & 07777);
  mutable_node(made).links = 0;
  return made;
}

Result<void> ReferenceModel::Close(int fd) {
  if (!GetOfd(fd).ok()) return Error(EBADF);
  fds_[fd].reset();
  return Ok();
}

Result<int> ReferenceModel::Dup(int fd) {
  auto ofd = GetOfd(fd);
  if (!ofd.ok()) return Error(EBADF);
  return Install(*ofd);  // dup shares the description, offset included
}

// ---- Reads and writes ----

// read(2): EBADF when not open for reading (O_PATH included), EINVAL when
// the range passes INT64_MAX, EISDIR for a directory; reads stop at the end of file; the offset advances by what was
// read. pread(2): [order] EINVAL for a negative offset before the
// descriptor is looked at (Linux ksys_pread64).
Result<std::string> ReferenceModel::Read(int fd, size_t count) {
  auto got = GetOfd(fd);
  if (!got.ok()) return Error(EBADF);
  if (!(*got)->readable()) return Error(EBADF);
  ModelOfd& ofd = **got;
  const ModelNode& n = node(ofd.node);
  // Linux's rw_verify_area, before the directory's EISDIR: a range from the
  // position that passes INT64_MAX is EINVAL.
  if (count > static_cast<uint64_t>(INT64_MAX - ofd.offset)) return Error(EINVAL);
  if (n.kind == Kind::kDir) return Error(EISDIR);
  std::string out;
  if (static_cast<uint64_t>(ofd.offset) < n.data.size()) {
    out = n.data.substr(static_cast<size_t>(ofd.offset), count);
  }
  ofd.offset += static_cast<int64_t>(out.size());
  return out;
}

Result<std::string> ReferenceModel::Pread(int fd, size_t count, int64_t offset) {
  if (offset < 0) return Error(EINVAL);
  auto got = GetOfd(fd);
  if (!got.ok()) return Error(EBADF);
  if (!(*got)->readable()) return Error(EBADF);
  const ModelNode& n = node((*got)->node);
  if (count > static_cast<uint64_t>(INT64_MAX - offset)) return Error(EINVAL);  // rw_verify_area
  if (n.kind == Kind::kDir) return Error(EISDIR);
  if (static_cast<uint64_t>(offset) >= n.data.size()) return std::string();
  return n.data.substr(static_cast<size_t>(offset), count);
}

// write(2): with O_APPEND at the end of file, pwrite included (Linux, see
// BUGS in pwrite(2)). EFBIG when the start is at or past the file size
// limit; a write crossing it is cut short (write(2)). A hole before the
// start reads as zeros.
Result<size_t> ReferenceModel::WriteAt(ModelOfd& ofd, std::string_view data, int64_t* offset,
                                       bool append) {
  ModelNode& n = mutable_node(ofd.node);
  if (data.empty()) return size_t{0};
  // Linux's rw_verify_area checks the position given (not the end an
  // O_APPEND write goes to): a range past INT64_MAX is EINVAL.
  if (*offset >= 0 && data.size() > static_cast<uint64_t>(INT64_MAX - *offset)) return Error(EINVAL);
  const uint64_t pos = append ? n.data.size() : static_cast<uint64_t>(*offset);
  const uint64_t limit = limits_.max_file_size;
  if (pos >= limit) return Error(EFBIG);
  const size_t count = static_cast<size_t>(std::min<uint64_t>(data.size(), limit - pos));
  const uint64_t end = pos + count;
  if (end > n.data.size()) n.data.resize(static_cast<size_t>(end), '\0');
  n.data.replace(static_cast<size_t>(pos), count, data.substr(0, count));
  for (uint64_t page = pos / limits_.page_size; page <= (end - 1) / limits_.page_size; ++page) {
    n.pages.insert(page);
  }
  n.durable_data.reset();  // changed since the last sync (D1: only sync makes it durable)
  *offset = static_cast<int64_t>(end);
  return count;
}

Result<size_t> ReferenceModel::Write(int fd, std::string_view data) {
  auto got = GetOfd(fd);
  if (!got.ok()) return Error(EBADF);
  if (!(*got)->writable()) return Error(EBADF);
  ModelOfd& ofd = **got;
  return WriteAt(ofd, data, &ofd.offset, (ofd.flags & O_APPEND) != 0);
}

// pwrite(2): [order] EINVAL for a negative offset before the descriptor;
// the description's offset does not move.
Result<size_t> ReferenceModel::Pwrite(int fd, std::string_view data, int64_t offset) {
  if (offset < 0) return Error(EINVAL);
  auto got = GetOfd(fd);
  if (!got.ok()) return Error(EBADF);
  if (!(*got)->writable()) return Error(EBADF);
  ModelOfd& ofd = **got;
  int64_t at = offset;
  return WriteAt(ofd, data, &at, (ofd.flags & O_APPEND) != 0);
}

// lseek(2). EBADF for O_PATH; EINVAL for a bad whence or a negative (or
// overflowing) result; SEEK_DATA / SEEK_HOLE: ENXIO at or past the end,
// holes at page granularity (the VFS's documented granularity). On a
// directory, as tmpfs's dcache_dir_lseek (docs/semantics.md, "from the
// differential run against tmpfs"): the position counts entries ("." at 0,
// ".." at 1, then the names in byte order); SEEK_SET and SEEK_CUR to any
// non-negative position, every other whence EINVAL; readdir goes on from
// there, the names before the position taken as read.
Result<int64_t> ReferenceModel::Lseek(int fd, int64_t offset, int whence) {
  auto got = GetOfd(fd);
  if (!got.ok() || (*got)->is_path()) return Error(EBADF);
  ModelOfd& ofd = **got;
  const ModelNode& n = node(ofd.node);
  if (n.kind == Kind::kDir) {
    int64_t target = 0;
    if (whence == SEEK_SET) {
      target = offset;
    } else if (whence == SEEK_CUR) {
      if (__builtin_add_overflow(ofd.offset, offset, &target)) return Error(EINVAL);
    } else {
      return Error(EINVAL);
    }
    if (target < 0) return Error(EINVAL);
    ofd.offset = target;
    ofd.dir_stage = target < 2 ? static_cast<int>(target) : 2;
    ofd.dir_last.clear();
    // Past ".." the cursor is the last name taken as read: the
    // (target - 2)th. Past the last name nothing is read until the next
    // lseek, names made later included (stage 3).
    int64_t names = target - 2;
    if (names > static_cast<int64_t>(n.children.size())) {
      ofd.dir_stage = 3;
      return target;
    }
    for (auto it = n.children.begin(); names > 0 && it != n.children.end(); ++it, --names) {
      ofd.dir_last = it->first;
    }
    return target;
  }
  const int64_t size = static_cast<int64_t>(n.data.size());
  const uint64_t page = limits_.page_size;
  int64_t result = 0;
  switch (whence) {
    case SEEK_SET:
      result = offset;
      break;
    case SEEK_CUR:
      if (__builtin_add_overflow(ofd.offset, offset, &result)) return Error(EINVAL);
      break;
    case SEEK_END:
      if (__builtin_add_overflow(size, offset, &result)) return Error(EINVAL);
      break;
    case SEEK_DATA: {
      if (offset < 0 || offset >= size) return Error(ENXIO);
      auto it = n.pages.lower_bound(static_cast<uint64_t>(offset) / page);
      if (it == n.pages.end()) return Error(ENXIO);
      result = std::max<int64_t>(offset, static_cast<int64_t>(*it * page));
      if (result >= size) return Error(ENXIO);
      break;
    }
    case SEEK_HOLE: {
      if (offset < 0 || offset >= size) return Error(ENXIO);
      uint64_t hole = static_cast<uint64_t>(offset) / page;
      while (n.pages.count(hole)) ++hole;
      result = std::min<int64_t>(std::max<int64_t>(offset, static_cast<int64_t>(hole * page)), size);
      break;
    }
    default:
      return Error(EINVAL);
  }
  if (result < 0) return Error(EINVAL);
  ofd.offset = result;
  return result;
}

// truncate(2): EINVAL for a negative length, EFBIG past the size limit;
// growing fills with zeros (a hole); shrinking frees whole pages past the
// new end.
Result<void> ReferenceModel::TruncateNode(ModelNode& n, int64_t length) {
  if (length < 0) return Error(EINVAL);
  if (static_cast<uint64_t>(length) > limits_.max_file_size) return Error(EFBIG);
  const uint64_t size = static_cast<uint64_t>(length);
  if (size != n.data.size()) {
    n.data.resize(static_cast<size_t>(size), '\0');
    n.durable_data.reset();
  }
  const uint64_t keep = (size + limits_.page_size - 1) / limits_.page_size;
  n.pages.erase(n.pages.lower_bound(keep), n.pages.end());
  return Ok();
}

// ftruncate(2): [order] EINVAL for a negative length before the descriptor
// (Linux); EBADF for O_PATH; EINVAL when not open for writing or not a
// regular file.
Result<void> ReferenceModel::Ftruncate(int fd, int64_t length) {
  if (length < 0) return Error(EINVAL);
  auto got = GetOfd(fd);
  if (!got.ok() || (*got)->is_path()) return Error(EBADF);
  if (node((*got)->node).kind != Kind::kFile || !(*got)->writable()) return Error(EINVAL);
  return TruncateNode(mutable_node((*got)->node), length);
}

Result<void> ReferenceModel::Truncate(std::string_view path, int64_t length) {
  if (length < 0) return Error(EINVAL);
  auto found = Resolve(kCwdFd, path, Last::kFollow);
  if (!found.ok()) return Error(found.error());
  if (!found->node) return Error(ENOENT);
  ModelNode& n = mutable_node(*found->node);
  if (n.kind == Kind::kDir) return Error(EISDIR);
  if (n.kind != Kind::kFile) return Error(EINVAL);
  return TruncateNode(n, length);
}

// ---- Namespace ----

// mkdir(2): the last component is never followed, not even with a trailing
// slash (Linux filename_create); EEXIST if anything, a symlink included, is
// there.
Result<void> ReferenceModel::Mkdir(std::string_view path, uint32_t mode) {
  auto found = Resolve(kCwdFd, path, Last::kName);
  if (!found.ok()) return Error(found.error());
  if (found->node) return Error(EEXIST);
  // As Linux's vfs_mkdir (rule X1): the set-id bits of the mode are not taken.
  const NodeId dir = NewNode(Kind::kDir, mode & 01777);
  AddEntry(found->parent, found->name, dir);
  return Ok();
}

// rmdir(2): [order] ENOENT, EBUSY for the root, EINVAL for a last
// component ".", ENOTEMPTY for "..", ENOTDIR (a symlink, trailing slash or
// not: Linux do_rmdir never follows it), ENOTEMPTY.
Result<void> ReferenceModel::Rmdir(std::string_view path) {
  auto found = Resolve(kCwdFd, path, Last::kName);
  if (!found.ok()) return Error(found.error());
  if (!found->node) return Error(ENOENT);
  if (found->name.empty()) return Error(EBUSY);
  if (found->name == ".") return Error(EINVAL);
  if (found->name == "..") return Error(ENOTEMPTY);
  const ModelNode& n = node(*found->node);
  if (n.kind != Kind::kDir) return Error(ENOTDIR);
  if (!n.children.empty()) return Error(ENOTEMPTY);
  RemoveEntry(found->parent, found->name);
  DropLink(*found->node);
  return Ok();
}

// unlink(2): EISDIR for a directory (Linux's answer), ENOTDIR for anything
// else with a trailing slash (do_unlinkat). An open file keeps its data.
Result<void> ReferenceModel::Unlink(std::string_view path) {
  auto found = Resolve(kCwdFd, path, Last::kName);
  if (!found.ok()) return Error(found.error());
  if (!found->node) return Error(ENOENT);
  if (node(*found->node).kind == Kind::kDir) return Error(EISDIR);
  if (found->trailing_slash) return Error(ENOTDIR);
  RemoveEntry(found->parent, found->name);
  DropLink(*found->node);
  return Ok();
}

// link(2): [order] lookup of `from` (ENOENT), then EEXIST if `to` exists,
// ENOENT for a missing `to` with a trailing slash, then EPERM for a
// directory (Linux do_linkat). Symlinks are linked, not followed, unless a
// slash follows `from`'s last name.
Result<void> ReferenceModel::Link(std::string_view from, std::string_view to) {
  auto src = Resolve(kCwdFd, from, Last::kNoFollow);
  if (!src.ok()) return Error(src.error());
  if (!src->node) return Error(ENOENT);
  auto dst = Resolve(kCwdFd, to, Last::kName);
  if (!dst.ok()) return Error(dst.error());
  if (dst->node) return Error(EEXIST);
  if (dst->trailing_slash) return Error(ENOENT);
  if (node(*src->node).kind == Kind::kDir) return Error(EPERM);
  AddEntry(dst->parent, dst->name, *src->node);
  ++mutable_node(*src->node).links;
  return Ok();
}

// symlink(2): [order] ENOENT for an empty target, EINVAL for a NUL in it,
// ENAMETOOLONG for a target of PATH_MAX or more, then the lookup of `path`,
// EEXIST, ENOENT with a trailing slash.
Result<void> ReferenceModel::Symlink(std::string_view target, std::string_view path) {
  if (target.empty()) return Error(ENOENT);
  if (target.find('\0') != std::string_view::npos) return Error(EINVAL);
  if (target.size() >= limits_.max_path_length) return Error(ENAMETOOLONG);
  auto found = Resolve(kCwdFd, path, Last::kName);
  if (!found.ok()) return Error(found.error());
  if (found->node) return Error(EEXIST);
  if (found->trailing_slash) return Error(ENOENT);
  const NodeId link = NewNode(Kind::kSymlink, 0777);
  ModelNode& n = mutable_node(link);
  n.data = std::string(target);
  n.links = 1;
  AddEntry(found->parent, found->name, link);
  return Ok();
}

// readlink(2): a lookup; a trailing slash follows the link (EINVAL for the
// directory it names).
Result<std::string> ReferenceModel::Readlink(std::string_view path) {
  auto found = Resolve(kCwdFd, path, Last::kNoFollow);
  if (!found.ok()) return Error(found.error());
  if (!found->node) return Error(ENOENT);
  const ModelNode& n = node(*found->node);
  if (n.kind != Kind::kSymlink) return Error(EINVAL);
  return n.data;
}

// rename(2) / renameat2(2), Linux do_renameat2. [order] EINVAL for unknown
// or conflicting flags; the walks to both parents; EBUSY when `from`'s last
// component is ".", ".." or the root, and when `to`'s is (EEXIST with
// RENAME_NOREPLACE); then the lookups of the last names, the source's
// first (ENOENT in a removed directory, ENAMETOOLONG, ENOENT for a missing
// source), then `to`'s (ENOENT in a removed directory, ENAMETOOLONG;
// docs/semantics.md "from the differential run against tmpfs");
// RENAME_NOREPLACE EEXIST;
// RENAME_EXCHANGE with a missing target ENOENT, with a trailing slash on a
// target that is not a directory ENOTDIR; a source that is not a directory:
// ENOTDIR for a trailing slash on it, or (not exchanging) on the target;
// EINVAL for a directory into its own subtree; ENOTEMPTY (EINVAL for an
// exchange) for a target that is an ancestor of the source; the same file on both
// sides: success, nothing done (POSIX); then ENOTDIR / EISDIR for a kind
// mismatch and ENOTEMPTY. Neither last name is followed.
Result<void> ReferenceModel::Rename(std::string_view from, std::string_view to, unsigned flags) {
  constexpr unsigned kNoReplace = 1;
  constexpr unsigned kExchange = 2;
  if (flags & ~(kNoReplace | kExchange)) return Error(EINVAL);
  if ((flags & kNoReplace) && (flags & kExchange)) return Error(EINVAL);
  // Linux looks both last names up after the EBUSY checks (do_renameat2):
  // a removed directory's ENOENT and a name's ENAMETOOLONG come only then.
  auto src = Resolve(kCwdFd, from, Last::kName, /*defer_last_lookup=*/true);
  if (!src.ok()) return Error(src.error());
  auto dst = Resolve(kCwdFd, to, Last::kName, /*defer_last_lookup=*/true);
  if (!dst.ok()) return Error(dst.error());
  auto special = [](const std::string& name) { return name.empty() || name == "." || name == ".."; };
  if (special(src->name)) return Error(EBUSY);
  if (special(dst->name)) return Error((flags & kNoReplace) ? EEXIST : EBUSY);
  if (node(src->parent).removed) return Error(ENOENT);
  if (src->name.size() > limits_.max_name_length) return Error(ENAMETOOLONG);
  if (!src->node) return Error(ENOENT);
  if (node(dst->parent).removed) return Error(ENOENT);
  if (dst->name.size() > limits_.max_name_length) return Error(ENAMETOOLONG);
  const NodeId moving = *src->node;
  const bool moving_dir = node(moving).kind == Kind::kDir;
  if (dst->node && (flags & kNoReplace)) return Error(EEXIST);
  if (flags & kExchange) {
    if (!dst->node) return Error(ENOENT);
    if (dst->trailing_slash && node(*dst->node).kind != Kind::kDir) return Error(ENOTDIR);
  }
  if (!moving_dir) {
    if (src->trailing_slash) return Error(ENOTDIR);
    if (!(flags & kExchange) && dst->trailing_slash) return Error(ENOTDIR);
  }
  if (moving_dir && Inside(dst->parent, moving)) return Error(EINVAL);
  // A target that is an ancestor of the source (lock_rename's trap):
  // ENOTEMPTY, EINVAL for an exchange.
  if (dst->node && node(*dst->node).kind == Kind::kDir && Inside(src->parent, *dst->node)) {
    return Error((flags & kExchange) ? EINVAL : ENOTEMPTY);
  }
  if (dst->node == moving) return Ok();
  if (dst->node && !(flags & kExchange)) {
    const ModelNode& replaced = node(*dst->node);
    const bool replaced_dir = replaced.kind == Kind::kDir;
    if (moving_dir && !replaced_dir) return Error(ENOTDIR);
    if (!moving_dir && replaced_dir) return Error(EISDIR);
    if (replaced_dir && !replaced.children.empty()) return Error(ENOTEMPTY);
  }
  if (flags & kExchange) {
    const NodeId other = *dst->node;
    AddEntry(src->parent, src->name, other);
    AddEntry(dst->parent, dst->name, moving);
    return Ok();
  }
  if (dst->node) {
    const NodeId replaced = *dst->node;
    RemoveEntry(dst->parent, dst->name);
    DropLink(replaced);
  }
  RemoveEntry(src->parent, src->name);
  AddEntry(dst->parent, dst->name, moving);
  return Ok();
}

// ---- Attributes and directories ----

namespace {
ModelStat StatOf(const ModelNode& n) {
  ModelStat st;
  st.node = n.id;
  st.kind = n.kind;
  st.perm = n.perm;
  switch (n.kind) {
    case Kind::kFile:
      st.size = n.data.size();
      st.nlink = n.links;
      if (n.pages_known) st.pages = n.pages.size();
      break;
    case Kind::kSymlink:
      st.size = n.data.size();
      st.nlink = n.links;
      st.pages = 0;
      break;
    case Kind::kDir:
      st.pages = 0;
      break;
  }
  return st;
}
}  // namespace

Result<ModelStat> ReferenceModel::Stat(std::string_view path, bool follow) {
  auto found = Resolve(kCwdFd, path, follow ? Last::kFollow : Last::kNoFollow);
  if (!found.ok()) return Error(found.error());
  if (!found->node) return Error(ENOENT);
  ModelStat st = StatOf(node(*found->node));
  if (st.kind == Kind::kDir) {
    // A directory has a link from its parent, from its own "." and from the
    // ".." of each subdirectory; a removed one has none.
    const ModelNode& d = node(*found->node);
    st.nlink = d.removed ? 0 : 2;
    if (!d.removed) {
      for (const auto& [name, child] : d.children) st.nlink += node(child).kind == Kind::kDir;
    }
  }
  return st;
}

Result<ModelStat> ReferenceModel::Fstat(int fd) {
  auto got = GetOfd(fd);
  if (!got.ok()) return Error(EBADF);
  ModelStat st = StatOf(node((*got)->node));
  if (st.kind == Kind::kDir) {
    const ModelNode& d = node((*got)->node);
    st.nlink = d.removed ? 0 : 2;
    if (!d.removed) {
      for (const auto& [name, child] : d.children) st.nlink += node(child).kind == Kind::kDir;
    }
  }
  return st;
}

// readdir(3): "." and ".." first, then the names in byte order (the VFS's
// documented order), from the description's position (Lseek). A name added after the position is seen if it sorts
// after the last name returned; a removed directory is ENOENT (Linux
// iterate_dir).
Result<std::vector<ModelDirEntry>> ReferenceModel::ReadDir(int fd, size_t max) {
  auto got = GetOfd(fd);
  if (!got.ok() || (*got)->is_path()) return Error(EBADF);
  ModelOfd& ofd = **got;
  const ModelNode& d = node(ofd.node);
  if (d.kind != Kind::kDir) return Error(ENOTDIR);
  if (d.removed) return Error(ENOENT);
  std::vector<ModelDirEntry> out;
  while (out.size() < max && ofd.dir_stage != 3) {
    if (ofd.dir_stage == 0) {
      out.push_back({d.id, "."});
      ofd.dir_stage = 1;
    } else if (ofd.dir_stage == 1) {
      out.push_back({d.parent, ".."});
      ofd.dir_stage = 2;
      ofd.dir_last.clear();
    } else {
      auto it = ofd.dir_last.empty() ? d.children.begin() : d.children.upper_bound(ofd.dir_last);
      if (it == d.children.end()) break;
      out.push_back({it->second, it->first});
      ofd.dir_last = it->first;
    }
    ++ofd.offset;  // one position per entry returned (Lseek above)
  }
  return out;
}

// ---- Durability ----

// fsync(2) / fdatasync(2), E1: EBADF for a bad or O_PATH descriptor; any
// other descriptor, read-only or a directory, is accepted (Linux). D1/D2:
// the whole content is durable afterwards; D3: for a directory its entries.
Result<void> ReferenceModel::Fsync(int fd) {
  auto got = GetOfd(fd);
  if (!got.ok() || (*got)->is_path()) return Error(EBADF);
  MarkSynced(mutable_node((*got)->node));
  return Ok();
}

// E2 (Linux >= 5.2): EBADF first, then EINVAL for flags outside 7, a
// negative offset, or an end that wraps or falls before the offset. D5: no
// durability credit (no metadata, no cache flush).
Result<void> ReferenceModel::SyncFileRange(int fd, int64_t offset, int64_t nbytes, unsigned flags) {
  auto got = GetOfd(fd);
  if (!got.ok() || (*got)->is_path()) return Error(EBADF);
  if (flags & ~7u) return Error(EINVAL);
  const int64_t end = static_cast<int64_t>(static_cast<uint64_t>(offset) + static_cast<uint64_t>(nbytes));
  if (offset < 0 || end < 0 || end < offset) return Error(EINVAL);
  return Ok();
}

// E5: EBADF for a bad descriptor or one not open for writing; EINVAL for a
// `how` without O_DSYNC / O_SYNC / O_NOCACHE or with other bits, a negative
// start or length or an overflowing end, or a file that is not regular.
// D6: length 0 covers the whole file, so the whole content is durable.
Result<void> ReferenceModel::FsyncRange(int fd, int how, int64_t start, int64_t length) {
  auto got = GetOfd(fd);
  if (!got.ok() || (*got)->is_path() || !(*got)->writable()) return Error(EBADF);
  constexpr int kKnown = kFsyncRangeDataSync | kFsyncRangeFileSync | kFsyncRangeNoCache;
  if ((how & ~kKnown) != 0 || (how & kKnown) == 0) return Error(EINVAL);
  int64_t end = 0;
  if (start < 0 || length < 0 || __builtin_add_overflow(start, length, &end)) return Error(EINVAL);
  ModelNode& n = mutable_node((*got)->node);
  if (n.kind != Kind::kFile) return Error(EINVAL);
  if (length == 0) MarkSynced(n);
  return Ok();
}

// E7 (Wasmer): badf 8, then isdir 31 for a directory; every right is held
// (the fuzzer never narrows them). D7: as fsync / fdatasync.
int ReferenceModel::FdSync(int fd, bool datasync) {
  auto got = GetOfd(fd);
  if (!got.ok() || (*got)->is_path()) return 8;
  ModelNode& n = mutable_node((*got)->node);
  if (n.kind == Kind::kDir) return 31;
  MarkSynced(n);
  return 0;
}

Result<void> ReferenceModel::Syncfs(int fd) {
  auto got = GetOfd(fd);
  if (!got.ok() || (*got)->is_path()) return Error(EBADF);
  Sync();
  return Ok();
}

void ReferenceModel::Sync() {
  for (auto& n : nodes_) MarkSynced(*n);
}

}  // namespace vfs::fuzz
