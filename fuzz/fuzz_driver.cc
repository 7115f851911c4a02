// The fuzz driver: decoding, running each call on both sides, comparing, and
// the crash check. See fuzz_driver.h for what is covered.
#include "fuzz/fuzz_driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/memory/memory_store.h"
#include "fuzz/reference_model.h"
#include "vfs/filesystem.h"

namespace vfs::fuzz {
namespace {

using Kind = ModelNode::Kind;

constexpr size_t kMaxCalls = 400;
constexpr size_t kMaxCrashes = 2;

// Reads the input front to back; past the end every read is 0, so any byte
// string is a valid program.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | (Byte() << 8)); }
  uint32_t U32() { return U16() | (static_cast<uint32_t>(U16()) << 16); }
  uint64_t U64() { return U32() | (static_cast<uint64_t>(U32()) << 32); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

std::string ErrName(int err) {
  if (err == 0) return "ok";
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : absl::StrCat("errno ", err);
}

std::string Quote(const std::string& s) {
  if (s.size() > 80) return absl::StrCat("\"", absl::CHexEscape(s.substr(0, 40)), "\"...(", s.size(), " bytes)");
  return absl::StrCat("\"", absl::CHexEscape(s), "\"");
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kFile: return "file";
    case Kind::kDir: return "directory";
    case Kind::kSymlink: return "symlink";
  }
  return "?";
}

std::optional<Kind> KindOfMode(uint32_t mode) {
  if (S_ISREG(mode)) return Kind::kFile;
  if (S_ISDIR(mode)) return Kind::kDir;
  if (S_ISLNK(mode)) return Kind::kSymlink;
  return std::nullopt;
}

std::optional<Kind> KindOfDirent(uint8_t type) {
  if (type == DT_REG) return Kind::kFile;
  if (type == DT_DIR) return Kind::kDir;
  if (type == DT_LNK) return Kind::kSymlink;
  return std::nullopt;
}

// One node of a snapshot of the VFS tree, read through the API.
struct VfsNode {
  uint64_t ino = 0;
  Kind kind = Kind::kFile;
  uint32_t perm = 0;
  uint64_t nlink = 0;
  std::string data;              // file content or symlink target
  bool data_known = true;        // false when it could not be read (path too long)
  std::map<std::string, int, std::less<>> children;  // index into the snapshot
};

class Driver {
 public:
  Driver(const uint8_t* data, size_t size, const DriverOptions& options)
      : in_(data, size), options_(options), model_(ReferenceModel::Limits{}) {}

  RunOutcome Run();

 private:
  // ---- Setup ----
  bool Mount();
  Options VfsOptions() const;

  // ---- Decoding ----
  std::string Path();
  std::string Component();
  int FdArg();
  int64_t Offset();
  size_t Count();
  std::string Data();
  int OpenFlags();

  // ---- One call ----
  void Step();
  void Note(std::string line);
  bool Fail(std::string what);
  int Tampered(int vfs_err);
  template <typename V, typename M>
  bool SameErrno(const Result<V>& vfs, const Result<M>& model);
  bool CheckIno(NodeId node, uint64_t ino, const std::string& where);
  bool CheckStat(const StatBuf& got, const ModelStat& want, const std::string& where);

  // ---- Whole-tree checks ----
  bool Snapshot(std::vector<VfsNode>* tree);
  bool SnapshotDir(Fd dir_fd, const std::string& path, int index, std::vector<VfsNode>* tree,
                   std::map<uint64_t, int>* by_ino);
  bool CompareTrees();
  bool CompareDir(NodeId dir, const std::vector<VfsNode>& tree, int index, const std::string& path,
                  std::set<NodeId>* seen);
  bool CrashAndCheck();
  bool CheckDurable(NodeId dir, const std::vector<VfsNode>& tree, int index, const std::string& path,
                    const std::map<NodeId, int>& refs, std::set<NodeId>* seen,
                    std::map<NodeId, uint64_t>* inos);
  void Rebuild(const std::vector<VfsNode>& tree, int index, NodeId dir,
               std::map<uint64_t, NodeId>* by_ino);

  ByteReader in_;
  const DriverOptions options_;
  std::shared_ptr<Store> store_;
  std::unique_ptr<Filesystem> fs_;
  ReferenceModel model_;
  // The VFS inode number seen for each model node, and back: one node, one
  // number, for as long as the mount lives.
  std::map<NodeId, uint64_t> node_ino_;
  std::map<uint64_t, NodeId> ino_node_;
  std::vector<std::string> trace_;
  std::string current_;  // the call being checked, for the report
  // Set when the input cannot go on without a mismatch (a crash left a
  // tree the walk could not read whole): the rest of the input is skipped.
  bool stopped_ = false;
  RunOutcome outcome_;
};

Options Driver::VfsOptions() const {
  const ReferenceModel::Limits& limits = model_.limits();
  Options options;
  options.page_size = limits.page_size;
  options.max_open_fds = limits.max_open_fds;
  options.max_name_length = limits.max_name_length;
  options.max_path_length = limits.max_path_length;
  options.max_symlink_depth = limits.max_symlink_depth;
  options.max_file_size = limits.max_file_size;
  // A fixed clock: timestamps are not compared, and a fixed one keeps runs
  // reproducible.
  options.clock = [] { return Timespec{1'000'000, 0}; };
  return options;
}

bool Driver::Mount() {
  auto mounted = Filesystem::Mount(store_, VfsOptions());
  if (!mounted.ok()) return Fail(absl::StrCat("mount failed: ", ErrName(mounted.error())));
  fs_ = std::move(mounted).value();
  return true;
}

// ---- Decoding ----

std::string Driver::Component() {
  // Few names, so calls meet each other's files; "l" and "m" are often
  // symlinks, "." and ".." walk the tree.
  static constexpr std::array<const char*, 12> kNames = {"a", "b", "c", "a", "b", "l", "m", ".",
                                                         "..", "a", "l", "d"};
  const uint8_t b = in_.Byte();
  if (b == 0xff) return std::string(model_.limits().max_name_length + 1, 'n');  // too long
  if (b == 0xfe) return std::string(model_.limits().max_name_length, 'n');      // just fits
  return kNames[b % kNames.size()];
}

std::string Driver::Path() {
  const uint8_t shape = in_.Byte();
  switch (shape % 64) {
    case 0: return "";
    case 1: return "/";
    case 2: return std::string("a\0b", 3);  // a NUL byte inside
    case 3: {                               // at and past the path length limit
      std::string path;
      while (path.size() + 2 < model_.limits().max_path_length + (in_.Byte() & 1)) path += "/a";
      return path;
    }
    case 4: return "//a//b/";
    default: break;
  }
  std::string path = (shape & 0x08) ? "" : "/";
  const int depth = (shape & 0x30) == 0x30 ? 3 : (shape & 0x30) == 0x20 ? 2 : 1;
  for (int i = 0; i < depth; ++i) {
    if (i > 0) path += '/';
    path += Component();
  }
  if ((shape & 0xc0) == 0xc0) path += '/';
  return path;
}

int Driver::FdArg() {
  const uint8_t b = in_.Byte();
  if (b < 200) {
    std::vector<int> open = model_.OpenFds();
    if (!open.empty()) return open[b % open.size()];
    return b % 4;
  }
  static constexpr std::array<int, 8> kOdd = {-1, std::numeric_limits<int>::min(), 16, 17,
                                              1000, std::numeric_limits<int>::max(), AT_FDCWD, 3};
  return kOdd[b % kOdd.size()];
}

int64_t Driver::Offset() {
  const uint8_t b = in_.Byte();
  const int64_t max_size = static_cast<int64_t>(model_.limits().max_file_size);
  switch (b % 8) {
    case 0: return in_.Byte();
    case 1: return in_.Byte() * 512 + (in_.Byte() % 8);
    case 2: return in_.U16();
    case 3: return static_cast<int64_t>(in_.Byte() % 70) * 4096 + (in_.Byte() % 3) - 1;
    case 4: return -static_cast<int64_t>(in_.Byte()) - 1;
    case 5: {
      static constexpr std::array<int64_t, 8> kOdd = {
          std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(), 0, 1,
          int64_t{1} << 40, std::numeric_limits<int64_t>::max() - 4095, -4096, 4096};
      const uint8_t pick = in_.Byte();
      if (pick % 11 >= 8) return max_size + (pick % 11) - 9;  // the size limit -1, 0, +1
      return kOdd[pick % 11];
    }
    case 6: return static_cast<int64_t>(in_.U64());
    default: return 0;
  }
}

size_t Driver::Count() {
  const uint8_t b = in_.Byte();
  if (b < 128) return b;
  if (b < 250) return in_.U16() % 9000;
  return b == 250 ? 65536 : 4096;
}

std::string Driver::Data() {
  const uint8_t b = in_.Byte();
  size_t length = 0;
  if (b < 160) length = b % 40;
  else if (b < 250) length = in_.U16() % 6000;
  else length = 4096 * (b - 249);
  const uint8_t seed = in_.Byte();
  std::string data(length, '\0');
  for (size_t i = 0; i < length; ++i) data[i] = static_cast<char>(seed + i * 7 + (i >> 8));
  return data;
}

int Driver::OpenFlags() {
  const uint8_t a = in_.Byte();
  if (a == 0xff) return static_cast<int>(in_.U32());  // raw: unknown bits and O_TMPFILE too
  int flags = a & 3;                                   // O_RDONLY, O_WRONLY, O_RDWR, or 3
  const uint8_t b = in_.Byte();
  if (b & 0x01) flags |= O_CREAT;
  if ((b & 0x06) == 0x06) flags |= O_EXCL;
  if ((b & 0x0c) == 0x08) flags |= O_TRUNC;
  if (b & 0x10) flags |= O_APPEND;
  if ((b & 0x60) == 0x60) flags |= O_DIRECTORY;
  if ((b & 0x60) == 0x20) flags |= O_NOFOLLOW;
  if ((b & 0x80) && (a & 0x30) == 0x30) flags |= O_PATH;
  if ((a & 0x0c) == 0x04) flags |= O_DSYNC;
  if ((a & 0x0c) == 0x08) flags |= O_SYNC;
  return flags;
}

// ---- Checking ----

void Driver::Note(std::string line) {
  current_ = std::move(line);
  if (options_.trace) trace_.push_back(absl::StrCat("#", outcome_.calls, " ", current_));
}

bool Driver::Fail(std::string what) {
  if (outcome_.mismatch) return false;
  outcome_.mismatch = true;
  outcome_.report = absl::StrCat("mismatch at call #", outcome_.calls, " ", current_, ": ", what, "\n");
  if (options_.trace) {
    absl::StrAppend(&outcome_.report, "calls:\n");
    for (const std::string& line : trace_) absl::StrAppend(&outcome_.report, "  ", line, "\n");
  }
  return false;
}

int Driver::Tampered(int vfs_err) {
  if (static_cast<int64_t>(outcome_.calls) != options_.tamper_call) return vfs_err;
  return vfs_err == 0 ? EIO : vfs_err + 1;
}

// The errnos must be equal; on success both sides then compare the values.
template <typename V, typename M>
bool Driver::SameErrno(const Result<V>& vfs, const Result<M>& model) {
  const int got = Tampered(vfs.error());
  if (options_.trace && !trace_.empty()) absl::StrAppend(&trace_.back(), " = ", ErrName(got));
  if (got == model.error()) return true;
  return Fail(absl::StrCat("vfs returned ", ErrName(got), ", model expects ", ErrName(model.error())));
}

bool Driver::CheckIno(NodeId node, uint64_t ino, const std::string& where) {
  auto known = node_ino_.find(node);
  if (known != node_ino_.end()) {
    if (known->second == ino) return true;
    return Fail(absl::StrCat(where, ": inode ", ino, ", earlier the same file had inode ", known->second));
  }
  auto other = ino_node_.find(ino);
  if (other != ino_node_.end()) {
    return Fail(absl::StrCat(where, ": inode ", ino, " also names another file (model node ",
                             other->second, " vs ", node, ")"));
  }
  node_ino_[node] = ino;
  ino_node_[ino] = node;
  return true;
}

bool Driver::CheckStat(const StatBuf& got, const ModelStat& want, const std::string& where) {
  auto kind = KindOfMode(got.mode);
  if (!kind || *kind != want.kind) {
    return Fail(absl::StrFormat("%s: mode %o, model expects a %s", where, got.mode, KindName(want.kind)));
  }
  if ((got.mode & 07777) != want.perm) {
    return Fail(absl::StrFormat("%s: permissions %o, model expects %o", where, got.mode & 07777, want.perm));
  }
  if (want.kind != Kind::kDir && got.size != want.size) {
    return Fail(absl::StrCat(where, ": size ", got.size, ", model expects ", want.size));
  }
  if (got.nlink != want.nlink) {
    return Fail(absl::StrCat(where, ": nlink ", got.nlink, ", model expects ", want.nlink));
  }
  const uint64_t sectors = model_.limits().page_size / 512;
  if (want.pages && got.blocks != *want.pages * sectors) {
    return Fail(absl::StrCat(where, ": blocks ", got.blocks, ", model expects ", *want.pages * sectors));
  }
  return CheckIno(want.node, got.ino.value(), where);
}

// ---- The calls ----

void Driver::Step() {
  const uint8_t op = in_.Byte();
  switch (op % 30) {
    case 0:
    case 1: {  // open / openat
      const bool at = op % 30 == 1 && (in_.Byte() & 1);
      const int dir = at ? FdArg() : AT_FDCWD;
      const std::string path = Path();
      const int flags = OpenFlags();
      const uint32_t mode = in_.U16() & 07777;
      Note(absl::StrFormat("openat(%d, %s, %#x, %o)", dir, Quote(path), flags, mode));
      auto got = fs_->OpenAt(Fd(dir), path, flags, mode);
      auto want = model_.OpenAt(dir, path, flags, mode);
      if (SameErrno(got, want) && got.ok() && got->value() != *want) {
        Fail(absl::StrCat("vfs returned fd ", got->value(), ", model expects ", *want, " (lowest free)"));
      }
      break;
    }
    case 2: {
      const int fd = FdArg();
      Note(absl::StrCat("close(", fd, ")"));
      SameErrno(fs_->Close(Fd(fd)), model_.Close(fd));
      break;
    }
    case 3: {
      const int fd = FdArg();
      Note(absl::StrCat("dup(", fd, ")"));
      auto got = fs_->Dup(Fd(fd));
      auto want = model_.Dup(fd);
      if (SameErrno(got, want) && got.ok() && got->value() != *want) {
        Fail(absl::StrCat("vfs returned fd ", got->value(), ", model expects ", *want));
      }
      break;
    }
    case 4:
    case 5: {  // read / pread
      const bool positional = op % 30 == 5;
      const int fd = FdArg();
      const size_t count = Count();
      const int64_t offset = positional ? Offset() : 0;
      std::string buf(count, '\x5a');
      Result<size_t> got = size_t{0};
      Result<std::string> want = std::string();
      if (positional) {
        Note(absl::StrCat("pread(", fd, ", ", count, ", ", offset, ")"));
        got = fs_->Pread(Fd(fd), buf.data(), count, offset);
        want = model_.Pread(fd, count, offset);
      } else {
        Note(absl::StrCat("read(", fd, ", ", count, ")"));
        got = fs_->Read(Fd(fd), buf.data(), count);
        want = model_.Read(fd, count);
      }
      if (!SameErrno(got, want) || !got.ok()) break;
      buf.resize(std::min(*got, count));
      if (*got != want->size()) {
        Fail(absl::StrCat("vfs read ", *got, " bytes, model expects ", want->size()));
      } else if (buf != *want) {
        const size_t at = static_cast<size_t>(std::mismatch(buf.begin(), buf.end(), want->begin()).first - buf.begin());
        Fail(absl::StrFormat("data differs at byte %d: vfs %#x, model %#x", at,
                             static_cast<uint8_t>(buf[at]), static_cast<uint8_t>((*want)[at])));
      }
      break;
    }
    case 6:
    case 7: {  // write / pwrite
      const bool positional = op % 30 == 7;
      const int fd = FdArg();
      const std::string data = Data();
      const int64_t offset = positional ? Offset() : 0;
      Result<size_t> got = size_t{0};
      Result<size_t> want = size_t{0};
      if (positional) {
        Note(absl::StrCat("pwrite(", fd, ", <", data.size(), " bytes>, ", offset, ")"));
        got = fs_->Pwrite(Fd(fd), data.data(), data.size(), offset);
        want = model_.Pwrite(fd, data, offset);
      } else {
        Note(absl::StrCat("write(", fd, ", <", data.size(), " bytes>)"));
        got = fs_->Write(Fd(fd), data.data(), data.size());
        want = model_.Write(fd, data);
      }
      if (SameErrno(got, want) && got.ok() && *got != *want) {
        Fail(absl::StrCat("vfs wrote ", *got, " bytes, model expects ", *want));
      }
      break;
    }
    case 8: {
      const int fd = FdArg();
      const int64_t offset = Offset();
      static constexpr std::array<int, 8> kWhence = {SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA,
                                                     SEEK_HOLE, 5, -1, SEEK_SET};
      const int whence = kWhence[in_.Byte() % kWhence.size()];
      Note(absl::StrCat("lseek(", fd, ", ", offset, ", ", whence, ")"));
      const ModelOfd* ofd = model_.Ofd(fd);
      // Without a known page map SEEK_DATA / SEEK_HOLE can only be checked
      // for their range; the model then takes the VFS's answer.
      const bool loose = ofd != nullptr && (whence == SEEK_DATA || whence == SEEK_HOLE) &&
                         !model_.node(ofd->node).pages_known && !ofd->is_path() &&
                         model_.node(ofd->node).kind == Kind::kFile;
      auto got = fs_->Lseek(Fd(fd), offset, whence);
      if (loose) {
        const int64_t size = static_cast<int64_t>(model_.node(ofd->node).data.size());
        if (offset < 0 || offset >= size) {
          SameErrno(got, Result<int64_t>(Error(ENXIO)));
        } else if (got.ok() && (*got < offset || *got > size || (whence == SEEK_DATA && *got == size))) {
          Fail(absl::StrCat("vfs returned ", *got, ", outside [", offset, ", ", size, "]"));
        } else if (!got.ok() && !(whence == SEEK_DATA && got.error() == ENXIO)) {
          Fail(absl::StrCat("vfs returned ", ErrName(got.error())));
        } else if (got.ok()) {
          (void)model_.Lseek(fd, *got, SEEK_SET);  // adopt the position
        }
        break;
      }
      auto want = model_.Lseek(fd, offset, whence);
      if (SameErrno(got, want) && got.ok() && *got != *want) {
        Fail(absl::StrCat("vfs returned offset ", *got, ", model expects ", *want));
      }
      break;
    }
    case 9: {
      const int fd = FdArg();
      const int64_t length = Offset();
      Note(absl::StrCat("ftruncate(", fd, ", ", length, ")"));
      SameErrno(fs_->Ftruncate(Fd(fd), length), model_.Ftruncate(fd, length));
      break;
    }
    case 10: {
      const std::string path = Path();
      const int64_t length = Offset();
      Note(absl::StrCat("truncate(", Quote(path), ", ", length, ")"));
      SameErrno(fs_->Truncate(path, length), model_.Truncate(path, length));
      break;
    }
    case 11:
    case 12: {  // fsync / fdatasync: the same model (both make the content durable)
      const int fd = FdArg();
      const bool data = op % 30 == 12;
      Note(absl::StrCat(data ? "fdatasync(" : "fsync(", fd, ")"));
      SameErrno(data ? fs_->Fdatasync(Fd(fd)) : fs_->Fsync(Fd(fd)), model_.Fsync(fd));
      break;
    }
    case 13: {
      const int fd = FdArg();
      const int64_t offset = Offset();
      const int64_t nbytes = Offset();
      const uint8_t f = in_.Byte();
      const unsigned flags = f < 240 ? f % 9 : in_.U32();
      Note(absl::StrCat("sync_file_range(", fd, ", ", offset, ", ", nbytes, ", ", flags, ")"));
      SameErrno(fs_->SyncFileRange(Fd(fd), offset, nbytes, flags),
                model_.SyncFileRange(fd, offset, nbytes, flags));
      break;
    }
    case 14: {
      const int fd = FdArg();
      static constexpr std::array<int, 8> kHow = {
          kFsyncRangeDataSync, kFsyncRangeFileSync, kFsyncRangeNoCache,
          kFsyncRangeDataSync | kFsyncRangeNoCache, 0, O_APPEND, kFsyncRangeFileSync | O_CREAT,
          kFsyncRangeNoCache | kFsyncRangeFileSync};
      const int how = kHow[in_.Byte() % kHow.size()];
      const int64_t start = Offset();
      const int64_t length = (in_.Byte() & 1) ? 0 : Offset();
      Note(absl::StrFormat("fsync_range(%d, %#x, %d, %d)", fd, how, start, length));
      SameErrno(fs_->FsyncRange(Fd(fd), how, start, length), model_.FsyncRange(fd, how, start, length));
      break;
    }
    case 15: {
      const std::string path = Path();
      const uint32_t mode = in_.U16() & 07777;
      Note(absl::StrFormat("mkdir(%s, %o)", Quote(path), mode));
      SameErrno(fs_->Mkdir(path, mode), model_.Mkdir(path, mode));
      break;
    }
    case 16: {
      const std::string path = Path();
      Note(absl::StrCat("rmdir(", Quote(path), ")"));
      SameErrno(fs_->Rmdir(path), model_.Rmdir(path));
      break;
    }
    case 17: {
      const std::string path = Path();
      Note(absl::StrCat("unlink(", Quote(path), ")"));
      SameErrno(fs_->Unlink(path), model_.Unlink(path));
      break;
    }
    case 18: {
      const std::string from = Path();
      const std::string to = Path();
      const uint8_t f = in_.Byte();
      const unsigned flags = f < 250 ? f % 4 : in_.U32();
      Note(absl::StrCat("rename(", Quote(from), ", ", Quote(to), ", ", flags, ")"));
      SameErrno(fs_->Rename(from, to, flags), model_.Rename(from, to, flags));
      break;
    }
    case 19: {
      const std::string from = Path();
      const std::string to = Path();
      Note(absl::StrCat("link(", Quote(from), ", ", Quote(to), ")"));
      SameErrno(fs_->Link(from, to), model_.Link(from, to));
      break;
    }
    case 20: {
      const uint8_t t = in_.Byte();
      static constexpr std::array<const char*, 6> kTargets = {"l", "/l", "m", "a/../l", "/", "."};
      const std::string target = t < 128 ? Path() : std::string(kTargets[t % kTargets.size()]);
      const std::string path = Path();
      Note(absl::StrCat("symlink(", Quote(target), ", ", Quote(path), ")"));
      SameErrno(fs_->Symlink(target, path), model_.Symlink(target, path));
      break;
    }
    case 21: {
      const std::string path = Path();
      Note(absl::StrCat("readlink(", Quote(path), ")"));
      auto got = fs_->Readlink(path);
      auto want = model_.Readlink(path);
      if (SameErrno(got, want) && got.ok() && *got != *want) {
        Fail(absl::StrCat("vfs returned ", Quote(*got), ", model expects ", Quote(*want)));
      }
      break;
    }
    case 22:
    case 23: {  // stat / lstat
      const bool follow = op % 30 == 22;
      const std::string path = Path();
      Note(absl::StrCat(follow ? "stat(" : "lstat(", Quote(path), ")"));
      auto got = follow ? fs_->Stat(path) : fs_->Lstat(path);
      auto want = model_.Stat(path, follow);
      if (SameErrno(got, want) && got.ok()) CheckStat(*got, *want, "stat");
      break;
    }
    case 24: {
      const int fd = FdArg();
      Note(absl::StrCat("fstat(", fd, ")"));
      auto got = fs_->Fstat(Fd(fd));
      auto want = model_.Fstat(fd);
      if (SameErrno(got, want) && got.ok()) CheckStat(*got, *want, "fstat");
      break;
    }
    case 25: {
      const int fd = FdArg();
      const uint8_t m = in_.Byte();
      const size_t max = m < 200 ? m % 5 : SIZE_MAX;
      Note(absl::StrCat("readdir(", fd, ", ", max == SIZE_MAX ? std::string("all") : absl::StrCat(max), ")"));
      auto got = fs_->ReadDir(Fd(fd), max);
      auto want = model_.ReadDir(fd, max);
      if (!SameErrno(got, want) || !got.ok()) break;
      if (got->size() != want->size()) {
        Fail(absl::StrCat("vfs returned ", got->size(), " entries, model expects ", want->size()));
        break;
      }
      for (size_t i = 0; i < got->size(); ++i) {
        const DirEntry& g = (*got)[i];
        const ModelDirEntry& w = (*want)[i];
        if (g.name != w.name) {
          Fail(absl::StrCat("entry ", i, " is ", Quote(g.name), ", model expects ", Quote(w.name)));
          break;
        }
        const Kind kind = model_.node(w.node).kind;
        if (KindOfDirent(g.type) != kind) {
          Fail(absl::StrCat("entry ", Quote(g.name), " has type ", g.type, ", model expects a ", KindName(kind)));
          break;
        }
        if (!CheckIno(w.node, g.ino.value(), absl::StrCat("entry ", Quote(g.name)))) break;
      }
      break;
    }
    case 26: {
      const int fd = FdArg();
      const bool data = in_.Byte() & 1;
      Note(absl::StrCat(data ? "fd_datasync(" : "fd_sync(", fd, ")"));
      const int got = Tampered(static_cast<int>(data ? fs_->FdDatasync(Fd(fd)) : fs_->FdSync(Fd(fd))));
      const int want = model_.FdSync(fd, data);
      if (got != want) Fail(absl::StrCat("vfs returned WASI errno ", got, ", model expects ", want));
      break;
    }
    case 27: {
      if (in_.Byte() & 1) {
        const int fd = FdArg();
        Note(absl::StrCat("syncfs(", fd, ")"));
        SameErrno(fs_->Syncfs(Fd(fd)), model_.Syncfs(fd));
      } else {
        Note("sync()");
        fs_->Sync();
        model_.Sync();
      }
      break;
    }
    case 28: {
      if (!options_.allow_crash || outcome_.crashes >= kMaxCrashes) {
        Note("(crash skipped)");
        break;
      }
      Note("crash, then mount again");
      CrashAndCheck();
      break;
    }
    default: {  // a file with data, so reads and syncs have something to do
      const std::string path = Path();
      const std::string data = Data();
      Note(absl::StrCat("create ", Quote(path), " with <", data.size(), " bytes>"));
      auto got = fs_->Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      auto want = model_.Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (!SameErrno(got, want) || !got.ok()) break;
      if (got->value() != *want) {
        Fail(absl::StrCat("vfs returned fd ", got->value(), ", model expects ", *want));
        break;
      }
      auto wrote = fs_->Write(*got, data.data(), data.size());
      auto expected = model_.Write(*want, data);
      if (!SameErrno(wrote, expected)) break;
      SameErrno(fs_->Close(*got), model_.Close(*want));
      break;
    }
  }
}

// ---- Whole-tree checks ----

bool Driver::Snapshot(std::vector<VfsNode>* tree) {
  tree->clear();
  auto root = fs_->Open("/", O_RDONLY | O_DIRECTORY);
  if (!root.ok()) return Fail(absl::StrCat("open(\"/\") for the tree walk: ", ErrName(root.error())));
  std::map<uint64_t, int> by_ino;
  tree->emplace_back();
  auto st = fs_->Fstat(*root);
  if (!st.ok()) return Fail("fstat of the root failed");
  (*tree)[0].ino = st->ino.value();
  (*tree)[0].kind = Kind::kDir;
  (*tree)[0].perm = st->mode & 07777;
  (*tree)[0].nlink = st->nlink;
  by_ino[st->ino.value()] = 0;
  const bool ok = SnapshotDir(*root, "", 0, tree, &by_ino);
  (void)fs_->Close(*root);  // the walk's own descriptor; closing it cannot fail here
  return ok;
}

// Reads a directory through `dir_fd`, opening each child relative to it, so
// deep trees need no long paths. Symlink targets need a path (readlink has
// no *at form): past the path limit they are left unknown.
bool Driver::SnapshotDir(Fd dir_fd, const std::string& path, int index, std::vector<VfsNode>* tree,
                         std::map<uint64_t, int>* by_ino) {
  auto entries = fs_->ReadDir(dir_fd);
  if (!entries.ok()) return Fail(absl::StrCat("readdir(", Quote(path), ") in the tree walk: ", ErrName(entries.error())));
  for (const DirEntry& entry : *entries) {
    if (entry.name == "." || entry.name == "..") continue;
    const std::string child_path = absl::StrCat(path, "/", entry.name);
    auto seen = by_ino->find(entry.ino.value());
    if (seen != by_ino->end()) {
      if ((*tree)[seen->second].kind == Kind::kDir) {
        return Fail(absl::StrCat("directory inode ", entry.ino.value(), " has a second name ", Quote(child_path)));
      }
      (*tree)[index].children[entry.name] = seen->second;
      continue;
    }
    auto kind = KindOfDirent(entry.type);
    if (!kind) return Fail(absl::StrCat(Quote(child_path), " has an unexpected type ", entry.type));
    const int child = static_cast<int>(tree->size());
    tree->emplace_back();
    (*tree)[index].children[entry.name] = child;
    (*by_ino)[entry.ino.value()] = child;
    VfsNode node;
    node.ino = entry.ino.value();
    node.kind = *kind;
    if (*kind == Kind::kSymlink) {
      if (child_path.size() >= model_.limits().max_path_length) {
        node.data_known = false;
      } else {
        auto target = fs_->Readlink(child_path);
        if (!target.ok()) return Fail(absl::StrCat("readlink(", Quote(child_path), "): ", ErrName(target.error())));
        node.data = *target;
        auto st = fs_->Lstat(child_path);
        if (!st.ok()) return Fail(absl::StrCat("lstat(", Quote(child_path), "): ", ErrName(st.error())));
        node.perm = st->mode & 07777;
        node.nlink = st->nlink;
      }
      (*tree)[child] = std::move(node);
      continue;
    }
    const int flags = O_RDONLY | O_NOFOLLOW | (*kind == Kind::kDir ? O_DIRECTORY : 0);
    auto fd = fs_->OpenAt(dir_fd, entry.name, flags);
    if (!fd.ok()) {
      if (fd.error() == EMFILE) {  // deeper than the descriptor limit: not read
        node.data_known = false;
        (*tree)[child] = std::move(node);
        continue;
      }
      return Fail(absl::StrCat("open(", Quote(child_path), ") in the tree walk: ", ErrName(fd.error())));
    }
    auto st = fs_->Fstat(*fd);
    if (!st.ok()) return Fail(absl::StrCat("fstat(", Quote(child_path), "): ", ErrName(st.error())));
    node.perm = st->mode & 07777;
    node.nlink = st->nlink;
    if (*kind == Kind::kFile) {
      node.data.resize(st->size);
      auto n = fs_->Pread(*fd, node.data.data(), node.data.size(), 0);
      if (!n.ok() || *n != node.data.size()) {
        return Fail(absl::StrCat("pread(", Quote(child_path), ") of ", st->size, " bytes: ",
                                 n.ok() ? absl::StrCat(*n, " bytes") : ErrName(n.error())));
      }
    }
    (*tree)[child] = std::move(node);
    bool ok = true;
    if (*kind == Kind::kDir) ok = SnapshotDir(*fd, child_path, child, tree, by_ino);
    (void)fs_->Close(*fd);  // the walk's own descriptor
    if (!ok) return false;
  }
  return true;
}

// Both trees, node by node: names, kinds, permissions, link counts,
// contents and targets, and one inode number per model node.
bool Driver::CompareDir(NodeId dir, const std::vector<VfsNode>& tree, int index,
                        const std::string& path, std::set<NodeId>* seen) {
  const ModelNode& d = model_.node(dir);
  const VfsNode& v = tree[index];
  if (!CheckIno(dir, v.ino, Quote(path.empty() ? "/" : path))) return false;
  for (const auto& [name, child] : v.children) {
    if (!d.children.count(name)) return Fail(absl::StrCat("the vfs has ", Quote(path + "/" + name), ", the model does not"));
  }
  for (const auto& [name, id] : d.children) {
    const std::string child_path = path + "/" + name;
    auto it = v.children.find(name);
    if (it == v.children.end()) return Fail(absl::StrCat("the model has ", Quote(child_path), ", the vfs does not"));
    const ModelNode& m = model_.node(id);
    const VfsNode& c = tree[it->second];
    if (c.kind != m.kind) {
      return Fail(absl::StrCat(Quote(child_path), " is a ", KindName(c.kind), ", the model has a ", KindName(m.kind)));
    }
    if (!CheckIno(id, c.ino, Quote(child_path))) return false;
    if (!seen->insert(id).second || !c.data_known) continue;
    if (c.perm != m.perm) return Fail(absl::StrFormat("%s: permissions %o, model %o", Quote(child_path), c.perm, m.perm));
    if (m.kind != Kind::kDir) {
      if (c.nlink != m.links) return Fail(absl::StrCat(Quote(child_path), ": nlink ", c.nlink, ", model ", m.links));
      if (c.data != m.data) {
        return Fail(absl::StrCat(Quote(child_path), ": content ", Quote(c.data), " (", c.data.size(),
                                 " bytes), model ", Quote(m.data), " (", m.data.size(), " bytes)"));
      }
    } else if (!CompareDir(id, tree, it->second, child_path, seen)) {
      return false;
    }
  }
  return true;
}

bool Driver::CompareTrees() {
  Note("(end: close every descriptor, compare the trees)");
  for (int fd : model_.OpenFds()) {
    if (!SameErrno(fs_->Close(Fd(fd)), model_.Close(fd))) return false;
  }
  std::vector<VfsNode> tree;
  if (!Snapshot(&tree)) return false;
  std::set<NodeId> seen;
  return CompareDir(model_.root(), tree, 0, "", &seen);
}

// Rules D1-D3 after a power cut: in each directory whose own name is
// durable, every entry made durable by its last fsync and not changed since
// must be there, naming the same kind of node, with the content its last
// sync made durable if that content has not changed since, or the same
// target; no name that was absent at that fsync and not touched since may
// appear. Names changed since the fsync may be in either state. A
// directory durably named twice (moved between two synced directories
// without both being synced) may keep either name: the mount keeps one, so
// such directories are not checked.
bool Driver::CheckDurable(NodeId dir, const std::vector<VfsNode>& tree, int index,
                          const std::string& path, const std::map<NodeId, int>& refs,
                          std::set<NodeId>* seen, std::map<NodeId, uint64_t>* inos) {
  if (!seen->insert(dir).second) return true;
  const ModelNode& d = model_.node(dir);
  const VfsNode& v = tree[index];
  for (const auto& [name, child] : v.children) {
    if (!d.changed_names.count(name) && !d.durable_children.count(name)) {
      return Fail(absl::StrCat("after the crash ", Quote(path + "/" + name),
                               " exists, but it was never durably created"));
    }
  }
  for (const auto& [name, id] : d.durable_children) {
    if (d.changed_names.count(name)) continue;
    const std::string child_path = path + "/" + name;
    const ModelNode& m = model_.node(id);
    if (m.kind == Kind::kDir) {
      // D3: a directory moved between two directories is durable under the
      // new name only when both are fsynced; with one, both names are
      // durable and the mount keeps one of them.
      auto r = refs.find(id);
      if (r != refs.end() && r->second > 1) continue;
    }
    auto it = v.children.find(name);
    if (it == v.children.end()) {
      return Fail(absl::StrCat("after the crash ", Quote(child_path), " is gone, but its directory was fsynced with it"));
    }
    const VfsNode& c = tree[it->second];
    if (c.kind != m.kind) {
      return Fail(absl::StrCat("after the crash ", Quote(child_path), " is a ", KindName(c.kind),
                               ", durably it was a ", KindName(m.kind)));
    }
    auto [known, inserted] = inos->emplace(id, c.ino);
    if (!inserted && known->second != c.ino) {
      return Fail(absl::StrCat("after the crash ", Quote(child_path), " is inode ", c.ino,
                               ", but another durable name of the same file is inode ", known->second));
    }
    if (!c.data_known) continue;
    if (m.kind == Kind::kDir) {
      if (!CheckDurable(id, tree, it->second, child_path, refs, seen, inos)) return false;
    } else if (m.kind == Kind::kSymlink) {
      if (c.data != m.data) return Fail(absl::StrCat("after the crash ", Quote(child_path), " points to ", Quote(c.data), ", durably to ", Quote(m.data)));
    } else if (m.durable_data && c.data != *m.durable_data) {
      return Fail(absl::StrCat("after the crash ", Quote(child_path), " holds ", Quote(c.data), " (", c.data.size(),
                               " bytes), its last sync made ", Quote(*m.durable_data), " (",
                               m.durable_data->size(), " bytes) durable"));
    }
  }
  return true;
}

void Driver::Rebuild(const std::vector<VfsNode>& tree, int index, NodeId dir,
                     std::map<uint64_t, NodeId>* by_ino) {
  for (const auto& [name, child] : tree[index].children) {
    const VfsNode& c = tree[child];
    auto linked = by_ino->find(c.ino);
    if (linked != by_ino->end()) {
      model_.LinkRebuilt(dir, name, linked->second);
      continue;
    }
    const NodeId id = model_.AddRebuilt(dir, name, c.kind, c.perm, c.data);
    (*by_ino)[c.ino] = id;
    node_ino_[id] = c.ino;
    ino_node_[c.ino] = id;
    if (c.kind == Kind::kDir) Rebuild(tree, child, id, by_ino);
  }
}

bool Driver::CrashAndCheck() {
  ++outcome_.crashes;
  fs_->Crash();
  fs_.reset();
  if (!Mount()) return false;
  std::vector<VfsNode> tree;
  if (!Snapshot(&tree)) return false;
  if (static_cast<int64_t>(outcome_.calls) == options_.tamper_call && !tree[0].children.empty()) {
    tree[0].children.erase(tree[0].children.begin());  // test hook: lose the first root entry
  }
  // How many durable entries name each directory (see CheckDurable).
  std::map<NodeId, int> refs;
  for (size_t id = 0; id < model_.node_count(); ++id) {
    for (const auto& [name, child] : model_.node(static_cast<NodeId>(id)).durable_children) ++refs[child];
  }
  std::set<NodeId> seen;
  std::map<NodeId, uint64_t> inos;
  if (!CheckDurable(model_.root(), tree, 0, "", refs, &seen, &inos)) return false;
  // Unknown (never-read) parts cannot become the model's truth: stop the
  // input here rather than guess.
  for (const VfsNode& node : tree) {
    if (!node.data_known) {
      stopped_ = true;
      return true;
    }
  }
  // The mounted state is the new truth: all of it durable, no descriptors.
  model_.Reset();
  node_ino_.clear();
  ino_node_.clear();
  node_ino_[model_.root()] = tree[0].ino;
  ino_node_[tree[0].ino] = model_.root();
  std::map<uint64_t, NodeId> by_ino;
  Rebuild(tree, 0, model_.root(), &by_ino);
  return true;
}

RunOutcome Driver::Run() {
  store_ = NewMemoryStore();
  if (!Mount()) return outcome_;
  while (!in_.empty() && outcome_.calls < kMaxCalls && !outcome_.mismatch && !stopped_) {
    Step();
    ++outcome_.calls;
  }
  if (!outcome_.mismatch && !stopped_) CompareTrees();
  for (const std::string& line : trace_) absl::StrAppend(&outcome_.trace, line, "\n");
  return outcome_;
}

}  // namespace

RunOutcome RunInput(const uint8_t* data, size_t size, const DriverOptions& options) {
  Driver driver(data, size, options);
  return driver.Run();
}

std::vector<std::string> ListInputs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool ReadInput(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  out->assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace vfs::fuzz
