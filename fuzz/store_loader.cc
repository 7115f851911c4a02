// The store-loader fuzzer's driver: see store_loader.h. The input is read
// as a small program; every read past its end yields zeros, so any byte
// string is a valid program.
#include "fuzz/store_loader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "backends/disk/crc32c.h"
#include "backends/disk/disk_store.h"
#include "backends/disk/log_format.h"
#include "vfs/filesystem.h"

namespace vfs::fuzz {
namespace {

namespace disk = ::vfs::disk;

constexpr uint64_t kSalt = 0x0123456789abcdefull;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  uint8_t U8() { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | (U8() << 8)); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) | (static_cast<uint32_t>(U16()) << 16); }
  uint64_t U64() { return static_cast<uint64_t>(U32()) | (static_cast<uint64_t>(U32()) << 32); }
  std::string Bytes(size_t n) {
    std::string out;
    while (n-- > 0 && !done()) out.push_back(static_cast<char>(U8()));
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

// Values biased toward the ones a real store holds, with the edges the
// loader must refuse now and then.
InodeId Ino(Input& in) {
  const uint8_t b = in.U8();
  if (b < 240) return InodeId(1 + b % 8);
  if (b < 248) return InodeId(in.U64());
  static constexpr uint64_t kEdges[] = {0, UINT64_MAX, uint64_t{1} << 62, (uint64_t{1} << 62) + 1,
                                        INT64_MAX, 2, 1, 3};
  return InodeId(kEdges[b % 8]);
}

PageIndex Index(Input& in) {
  const uint8_t b = in.U8();
  if (b < 240) return PageIndex(b % 6);
  return PageIndex(in.U64() >> (b % 64));
}

uint64_t Size(Input& in, uint32_t page_size) {
  const uint8_t b = in.U8();
  if (b < 230) return in.U16() % (6 * page_size + 1);
  if (b < 250) return in.U64() >> (b % 64);
  return b % 2 ? uint64_t{INT64_MAX} : uint64_t{INT64_MAX} + 1;
}

uint32_t Mode(Input& in) {
  const uint8_t b = in.U8();
  static constexpr uint32_t kModes[] = {S_IFREG | 0644, S_IFDIR | 0755, S_IFLNK | 0777,
                                        S_IFREG | 0600, S_IFIFO | 0600, S_IFSOCK | 0644,
                                        S_IFCHR | 0644, 0};
  if (b < 200) return kModes[b % 4];
  if (b < 240) return kModes[b % 8];
  return in.U32();
}

std::string Name(Input& in) {
  const uint8_t b = in.U8();
  static const char* kNames[] = {"a", "b", "c", "d", "e", "dir", ".", ".."};
  if (b < 200) return kNames[b % 6];
  if (b < 220) return kNames[b % 8];
  const size_t n = b < 250 ? in.U8() : 250 + in.U8() % 20;
  std::string name = in.Bytes(n);
  if (name.size() < n) name.append(n - name.size(), 'x');
  return name;
}

std::string Target(Input& in) {
  const uint8_t b = in.U8();
  if (b < 200) return b % 2 ? "a" : "/dir/b";
  if (b < 220) return "";
  return in.Bytes(in.U8()) + (b > 250 ? std::string(4100, 't') : std::string());
}

Timespec Time(Input& in) {
  Timespec t;
  t.sec = in.U8();
  const uint8_t b = in.U8();
  t.nsec = b < 250 ? int64_t{b} * 1000 : static_cast<int64_t>(in.U64());
  return t;
}

// The files of one store as they are built.
struct StoreFiles {
  std::map<std::string, std::string> files;  // name -> bytes
};

class Builder {
 public:
  explicit Builder(Input& in) : in_(in) {}

  StoreFiles Build() {
    const uint8_t flags = in_.U8();
    static constexpr uint32_t kPageSizes[] = {4096, 4096, 512, 65536, 4096, 1024, 4096, 0};
    page_size_ = kPageSizes[in_.U8() % 8];
    if (page_size_ == 0) page_size_ = in_.U32();
    // Raw damage applied at the end: up to three (file, offset, byte) cuts
    // or flips, most inputs none.
    struct Damage {
      uint8_t file, kind, value;
      uint32_t offset;
    };
    std::vector<Damage> damage;
    const uint8_t count = in_.U8();
    for (int i = 0; i < (count < 200 ? 0 : 1 + count % 3); ++i) {
      Damage d;
      d.file = in_.U8();
      d.kind = in_.U8();
      d.value = in_.U8();
      d.offset = in_.U32();
      damage.push_back(d);
    }
    with_checkpoint_ = flags & 1;
    first_log_ = with_checkpoint_ ? 2 : 1;
    if (with_checkpoint_) {
      checkpoint_ = disk::EncodeCheckpointHeader(first_log_, kSalt);
      in_checkpoint_ = true;
    } else {
      StartLog();
    }
    if (!(flags & 2)) {
      // The records every store starts with: the superblock and the root.
      Add(PutSuperblock{page_size_});
      InodeRecord root;
      root.ino = kRootInode;
      root.mode = S_IFDIR | 0755;
      Add(PutInode{root, false});
    }
    for (int n = 0; n < 400 && !in_.done(); ++n) Step();
    if (in_checkpoint_) FinishCheckpoint();
    EndFrame(false);
    StoreFiles out;
    out.files[std::string(disk::kIdentityName)] =
        disk::EncodeIdentity(disk::Identity{disk::kFormatVersion, kSalt});
    if (with_checkpoint_) out.files[disk::CheckpointName(first_log_)] = checkpoint_;
    for (size_t i = 0; i < logs_.size(); ++i) {
      out.files[disk::LogName(first_log_ + i)] = logs_[i];
    }
    if (flags & 4) {
      // A leftover of a creation that died: an empty next log.
      out.files[disk::LogName(first_log_ + logs_.size())] = "";
    }
    for (const Damage& d : damage) {
      auto it = out.files.begin();
      std::advance(it, d.file % out.files.size());
      std::string& bytes = it->second;
      if (bytes.empty()) continue;
      const size_t at = d.offset % bytes.size();
      if (d.kind % 4 == 0) {
        bytes.resize(at);
      } else if (d.kind % 4 == 1 && it->first == std::string(disk::kIdentityName)) {
        out.files.erase(it);
      } else {
        bytes[at] = static_cast<char>(bytes[at] ^ (d.value | 1));
      }
    }
    return out;
  }

 private:
  void StartLog() {
    disk::LogHeader header;
    header.number = first_log_ + logs_.size();
    header.salt = kSalt;
    header.prev_end = logs_.empty() ? 0 : logs_.back().size();
    logs_.push_back(disk::EncodeLogHeader(header));
    seq_ = 1;
    payload_.clear();
  }

  void EndFrame(bool continues) {
    if (in_checkpoint_ || logs_.empty()) return;
    // Sealed in place at the end of the log: no copy of the payload but
    // the one into the log.
    std::string& log = logs_.back();
    const size_t at = log.size();
    log.append(disk::kFrameHeaderSize, '\0');
    log += payload_;
    log.resize(at + disk::FrameSpan(payload_.size()), '\0');
    disk::FrameHeader header;
    header.seq = seq_++;
    header.payload_size = static_cast<uint32_t>(payload_.size());
    header.flags = continues ? disk::kFrameContinues : 0;
    header.flushed_through = flushed_through_;
    const uint64_t number = first_log_ + logs_.size() - 1;
    disk::SealFrame(log.data() + at, header, disk::FrameSeed(kSalt, number));
    payload_.clear();
  }

  void FinishCheckpoint() {
    disk::CheckpointFooter footer;
    footer.number = first_log_;
    footer.meta_offset = checkpoint_.size();
    footer.meta_size = meta_.size();
    footer.meta_crc = crc32c::Value(meta_.data(), meta_.size());
    checkpoint_ += meta_;
    checkpoint_ += disk::EncodeCheckpointFooter(footer, kSalt);
    in_checkpoint_ = false;
    StartLog();
  }

  void Add(const Request& request) {
    uint32_t crc = 0;
    disk::EncodeRequest(request, in_checkpoint_ ? &meta_ : &payload_, &crc);
  }

  void AddPage() {
    const InodeId ino = Ino(in_);
    const PageIndex index = Index(in_);
    const uint64_t generation = in_.U8() < 250 ? in_.U8() : in_.U64();
    const uint8_t b = in_.U8();
    uint32_t size = page_size_;
    if (b >= 240) size = in_.U16();
    // The loader refuses any page record over 64 KiB (no valid page size is
    // larger), so a larger one only costs time to build; and past 8 MiB of
    // pages an input builds no more of them.
    if (size > (1u << 17)) size = 1u << 17;
    if (page_bytes_ > (8u << 20)) return;
    page_bytes_ += size;
    PageRef data = PageBuffer::Allocate(size);
    std::memset(data->data(), 'A' + b % 26, size);
    if (!in_checkpoint_) {
      Add(PutPage{ino, index, data, generation});
      return;
    }
    // A checkpoint page: its bytes in the data area, its record in the
    // metadata (mapped or not, its valid length perhaps cut).
    disk::PageLoc loc;
    loc.file = disk::CheckpointFileId(first_log_);
    loc.offset = checkpoint_.size();
    loc.size = size;
    loc.valid = b % 3 == 0 ? size / 2 : size;
    loc.crc = crc32c::Value(data->data(), size);
    if (b % 17 == 1) loc.offset = in_.U64();  // outside the data area
    checkpoint_.append(data->data(), size);
    disk::EncodeCheckpointPage(ino, index, generation, b % 5 != 0, loc, &meta_);
  }

  void Step() {
    const uint8_t op = in_.U8() % 13;
    switch (op) {
      case 0:
        Add(PutSuperblock{in_.U8() < 240 ? page_size_ : in_.U32()});
        break;
      case 1:
      case 2:
        AddPage();
        break;
      case 3: {
        InodeRecord r;
        r.ino = Ino(in_);
        r.mode = Mode(in_);
        r.uid = in_.U8();
        r.gid = in_.U8();
        r.size = Size(in_, page_size_);
        r.atime = Time(in_);
        r.mtime = Time(in_);
        r.ctime = Time(in_);
        if (S_ISLNK(r.mode) || in_.U8() > 250) r.symlink_target = Target(in_);
        Add(PutInode{r, in_.U8() > 200});
        break;
      }
      case 4:
      case 5: {
        const InodeId dir = Ino(in_);
        const std::string name = Name(in_);
        Add(PutDirent{dir, name, Ino(in_)});
        break;
      }
      case 6: {
        const InodeId dir = Ino(in_);
        Add(DelDirent{dir, Name(in_)});
        break;
      }
      case 7: {
        const InodeId ino = Ino(in_);
        const uint64_t size = Size(in_, page_size_);
        Add(Truncate{ino, size, in_.U8() < 250 ? in_.U8() : in_.U64()});
        break;
      }
      case 8:
        Add(FreeInode{Ino(in_)});
        break;
      case 9:
        if (in_checkpoint_) {
          disk::EncodeGeneration(in_.U8() < 250 ? in_.U8() : in_.U64(), &meta_);
        } else {
          disk::EncodeForgetUnmapped(&payload_);
        }
        break;
      case 10: {
        // End of a frame; most end their batch, some continue it, and some
        // claim a durable prefix.
        const uint8_t b = in_.U8();
        if (b > 240) flushed_through_ = in_.U32();
        EndFrame(b % 4 == 0);
        break;
      }
      case 11:
        // On to the next file: the checkpoint ends, or a new log starts.
        if (in_checkpoint_) {
          FinishCheckpoint();
        } else if (logs_.size() < 3) {
          EndFrame(false);
          StartLog();
        }
        break;
      case 12: {
        // Raw bytes where a record should be.
        std::string raw = in_.Bytes(in_.U8() % 32);
        (in_checkpoint_ ? meta_ : payload_) += raw;
        break;
      }
    }
  }

  Input& in_;
  uint32_t page_size_ = 4096;
  bool with_checkpoint_ = false;
  bool in_checkpoint_ = false;
  uint64_t first_log_ = 1;
  std::string checkpoint_;
  std::string meta_;
  std::vector<std::string> logs_;
  std::string payload_;
  uint64_t seq_ = 1;
  uint64_t flushed_through_ = 0;
  uint64_t page_bytes_ = 0;
};

// ---- Running ----

const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* base = std::getenv("VFS_FUZZ_DIR");
    std::string root = base != nullptr && *base != '\0' ? base
                       : ::access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                          : "/tmp";
    std::string path = root + "/vfs-store-fuzz-" + std::to_string(::getpid());
    ::mkdir(path.c_str(), 0700);
    return path;
  }();
  return dir;
}

// The names in `dir` but the lock file, which outlives each execution.
std::vector<std::string> StoreFileNames(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != ".." && name != "LOCK") names.push_back(name);
    }
    ::closedir(d);
  }
  return names;
}

std::map<std::string, std::string> ReadDir(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const std::string& name : StoreFileNames(dir)) {
    std::string bytes;
    const int fd = ::open((dir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[65536];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) bytes.append(buf, n);
      ::close(fd);
    }
    out[name] = std::move(bytes);
  }
  return out;
}

// Names only: the last run's logs are preallocated megabytes, and reading
// them just to unlink them was a fifth of each execution.
void ClearDir(const std::string& dir) {
  for (const std::string& name : StoreFileNames(dir)) ::unlink((dir + "/" + name).c_str());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  for (size_t at = 0; at < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (n <= 0) std::abort();
    at += static_cast<size_t>(n);
  }
  ::close(fd);
}

// What a path shows, with its errors: compared across a remount.
using Tree = std::map<std::string, std::string>;

uint64_t Fnv(const char* p, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  return h;
}

void Walk(Filesystem& fs, const std::string& dir, int depth, Tree* tree) {
  if (depth > 64 || tree->size() > 4096) return;
  auto fd = fs.Open(dir.empty() ? "/" : dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) {
    (*tree)[dir + "/"] = "open errno " + std::to_string(fd.error());
    return;
  }
  auto entries = fs.ReadDir(*fd);
  (void)fs.Close(*fd);
  if (!entries.ok()) {
    (*tree)[dir + "/"] = "readdir errno " + std::to_string(entries.error());
    return;
  }
  for (const DirEntry& e : *entries) {
    if (e.name == "." || e.name == "..") continue;
    const std::string path = dir + "/" + e.name;
    auto st = fs.Lstat(path);
    if (!st.ok()) {
      (*tree)[path] = "lstat errno " + std::to_string(st.error());
      continue;
    }
    std::string what = "mode " + std::to_string(st->mode) + " size " + std::to_string(st->size);
    if (S_ISDIR(st->mode)) {
      (*tree)[path] = what;
      Walk(fs, path, depth + 1, tree);
      continue;
    }
    if (S_ISLNK(st->mode)) {
      auto target = fs.Readlink(path);
      what += target.ok() ? " -> " + *target : " readlink errno " + std::to_string(target.error());
    } else if (S_ISREG(st->mode)) {
      auto f = fs.Open(path, O_RDONLY);
      if (!f.ok()) {
        what += " open errno " + std::to_string(f.error());
      } else {
        // The first 64 KiB and the last page: enough to reach every page
        // kind without reading a sparse file of 2^62 bytes.
        uint64_t h = 1469598103934665603ull;
        char buf[65536];
        auto n = fs.Pread(*f, buf, sizeof buf, 0);
        h = n.ok() ? Fnv(buf, *n, h) : h + n.error();
        if (st->size > sizeof buf) {
          const int64_t tail = static_cast<int64_t>(st->size - std::min<uint64_t>(st->size, 4096));
          auto m = fs.Pread(*f, buf, 4096, tail);
          h = m.ok() ? Fnv(buf, *m, h) : h + m.error();
        }
        (void)fs.Close(*f);
        what += " hash " + std::to_string(h);
      }
    }
    (*tree)[path] = what;
  }
}

bool Allowed(int err) { return err == EIO || err == EINVAL || err == ENOTSUP || err == ENOENT; }

}  // namespace

StoreOutcome RunStoreInput(const uint8_t* data, size_t size) {
  StoreOutcome outcome;
  Input in(data, size);
  StoreFiles built = Builder(in).Build();
  const std::string& dir = ScratchDir();
  ClearDir(dir);
  for (const auto& [name, bytes] : built.files) WriteFile(dir + "/" + name, bytes);
  // What a failed open must leave: the directory is exactly the files
  // written (ClearDir emptied it but for the lock file, which ReadDir skips).
  const std::map<std::string, std::string>& before = built.files;

  DiskStoreOptions options;
  options.create_if_missing = false;
  options.error_log = [](const std::string&) {};
  // Compaction and zero-fill in the calling thread: an input replays the
  // same way every time, and no thread is started per execution.
  options.background_work = false;
  // Zero-fill in 64 KiB steps, as the damage tests do: every reopen scans
  // the zeros past the last frame, and a 4 MiB step made that most of an
  // execution without reaching any more of the loader.
  options.log_extend_bytes = 64 << 10;
  std::string why;
  auto store = OpenDiskStore(dir, options, &why);
  if (!store.ok()) {
    outcome.open_error = why;
    if (!Allowed(store.error())) {
      outcome.failure = "open failed with errno " + std::to_string(store.error()) + ": " + why;
    } else if (why.find('\n') != std::string::npos) {
      outcome.failure = "open's message is more than one line: " + why;
    } else if (ReadDir(dir) != before) {
      outcome.failure = "a failed open changed the directory: " + why;
    }
    return outcome;
  }
  outcome.opened = true;
  Tree first;
  {
    auto fs = Filesystem::Mount(*store, {});
    if (!fs.ok()) return outcome;
    outcome.mounted = true;
    // A write, so the store's write path runs over what was loaded.
    auto fd = (*fs)->Open("/fuzz-new", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd.ok()) {
      const std::string bytes(5000, 'n');
      (void)(*fs)->Pwrite(*fd, bytes.data(), bytes.size(), 100);
      (void)(*fs)->Fsync(*fd);
      (void)(*fs)->Close(*fd);
    }
    Walk(**fs, "", 0, &first);
    if (!(*fs)->Unmount().ok()) return outcome;
  }
  store->reset();
  auto again = OpenDiskStore(dir, options, &why);
  if (!again.ok()) {
    outcome.failure = "a store that opened and unmounted cleanly does not open again: " + why;
    return outcome;
  }
  auto fs = Filesystem::Mount(*again, {});
  if (!fs.ok()) {
    outcome.failure = "a store that mounted and unmounted cleanly does not mount again: errno " +
                      std::to_string(fs.error());
    return outcome;
  }
  Tree second;
  Walk(**fs, "", 0, &second);
  if (first != second) {
    std::string diff;
    for (const auto& [path, what] : first) {
      auto it = second.find(path);
      if (it == second.end() || it->second != what) {
        diff = path + ": " + what + " became " + (it == second.end() ? "missing" : it->second);
        break;
      }
    }
    for (const auto& [path, what] : second) {
      if (diff.empty() && !first.contains(path)) diff = path + ": " + what + " appeared";
    }
    outcome.failure = "the tree changed across a clean unmount: " + diff;
  }
  (*fs)->Crash();
  return outcome;
}

}  // namespace vfs::fuzz
