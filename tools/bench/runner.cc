#include "tools/bench/runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/disk/disk_store.h"
#include "backends/fault/fault_store.h"
#include "backends/memory/memory_store.h"
#include "tools/bench/text.h"
#include "vfs/filesystem.h"

namespace vfs::bench {

double JobResult::OpsPerSecond() const {
  return elapsed_ns == 0 ? 0.0 : static_cast<double>(ops) * 1e9 / static_cast<double>(elapsed_ns);
}

double JobResult::BytesPerSecond() const {
  return elapsed_ns == 0 ? 0.0 : static_cast<double>(bytes) * 1e9 / static_cast<double>(elapsed_ns);
}

double JobResult::WriteAmplification() const {
  if (!store.available || bytes == 0) return 0.0;
  return static_cast<double>(store.bytes) / static_cast<double>(bytes);
}

namespace {

uint64_t WallNanos() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// splitmix64: a fixed generator, so offsets are the same on every machine
// and standard library.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// The calls a job makes, on the VFS or on the host kernel. A handle is a
// descriptor of one or the other; errors are errnos.
class Target {
 public:
  virtual ~Target() = default;
  // Opens file number `index` of the job (created with O_CREAT in `flags`).
  virtual vfs::Result<int> Open(uint32_t index, int flags) = 0;
  // pwrite at `offset`, or write() at the descriptor's position (O_APPEND)
  // when `offset` is negative. Short writes are continued.
  virtual vfs::Result<void> Write(int fd, const char* buf, size_t count, int64_t offset) = 0;
  virtual vfs::Result<void> Fsync(int fd) = 0;
  virtual vfs::Result<void> Fdatasync(int fd) = 0;
  virtual vfs::Result<void> SyncFileRange(int fd, int64_t offset, int64_t nbytes, unsigned flags) = 0;
  virtual vfs::Result<void> FsyncRange(int fd, SyncStrategy::RangeHow how, int64_t start,
                                       int64_t length) = 0;
  virtual vfs::Result<void> Ftruncate(int fd, int64_t length) = 0;
  virtual vfs::Result<void> Close(int fd) = 0;
  // fsync of the directory holding the files.
  virtual vfs::Result<void> SyncDirectory() = 0;
  // The path of file `index`, for messages.
  virtual std::string PathOf(uint32_t index) const = 0;

  // Nanoseconds on the clock the backend is timed by.
  virtual uint64_t Now() const { return WallNanos(); }
  virtual bool virtual_time() const { return false; }
  virtual StoreCounters Counters() const { return {}; }
  virtual std::string Note(const SyncStrategy& sync) const { return ""; }
};

// ---- The VFS on a store ----

class VfsTarget final : public Target {
 public:
  // `fault` is the fault store when `store` is one (timed on its clock),
  // `counted` the store whose StoreStats give the submits. `scratch_dir`,
  // if not empty, is removed once the store is closed.
  VfsTarget(std::unique_ptr<Filesystem> fs, std::shared_ptr<FaultStore> fault,
            std::shared_ptr<Store> counted, std::string scratch_dir)
      : fs_(std::move(fs)), fault_(std::move(fault)), counted_(std::move(counted)),
        scratch_dir_(std::move(scratch_dir)) {}
  // Nothing needs to survive: a power cut is the quickest way down.
  ~VfsTarget() override {
    fs_->Crash();
    fs_.reset();
    fault_.reset();
    counted_.reset();  // the last reference: the store closes its files
    if (!scratch_dir_.empty()) {
      std::error_code ignored;  // best effort: it was only for measuring
      std::filesystem::remove_all(scratch_dir_, ignored);
    }
  }

  vfs::Result<int> Open(uint32_t index, int flags) override {
    auto fd = fs_->Open(PathOf(index), flags, 0644);
    if (!fd.ok()) return Error(fd.error());
    return fd->value();
  }
  vfs::Result<void> Write(int fd, const char* buf, size_t count, int64_t offset) override {
    while (count > 0) {
      auto n = offset < 0 ? fs_->Write(Fd(fd), buf, count) : fs_->Pwrite(Fd(fd), buf, count, offset);
      if (!n.ok()) return Error(n.error());
      buf += *n;
      count -= *n;
      if (offset >= 0) offset += static_cast<int64_t>(*n);
    }
    return Ok();
  }
  vfs::Result<void> Fsync(int fd) override { return fs_->Fsync(Fd(fd)); }
  vfs::Result<void> Fdatasync(int fd) override { return fs_->Fdatasync(Fd(fd)); }
  vfs::Result<void> SyncFileRange(int fd, int64_t offset, int64_t nbytes, unsigned flags) override {
    return fs_->SyncFileRange(Fd(fd), offset, nbytes, flags);
  }
  vfs::Result<void> FsyncRange(int fd, SyncStrategy::RangeHow how, int64_t start, int64_t length) override {
    const int flags = how == SyncStrategy::RangeHow::kDataSync ? kFsyncRangeDataSync
                      : how == SyncStrategy::RangeHow::kFileSync ? kFsyncRangeFileSync
                                                                 : kFsyncRangeNoCache;
    return fs_->FsyncRange(Fd(fd), flags, start, length);
  }
  vfs::Result<void> Ftruncate(int fd, int64_t length) override { return fs_->Ftruncate(Fd(fd), length); }
  vfs::Result<void> Close(int fd) override { return fs_->Close(Fd(fd)); }
  vfs::Result<void> SyncDirectory() override {
    auto dir = fs_->Open("/", O_RDONLY | O_DIRECTORY);
    if (!dir.ok()) return Error(dir.error());
    auto synced = fs_->Fsync(*dir);
    (void)fs_->Close(*dir);  // a directory descriptor: close reports nothing (W5.5)
    return synced;
  }
  std::string PathOf(uint32_t index) const override { return Cat("/vfs-bench.", index); }

  uint64_t Now() const override { return fault_ ? fault_->VirtualNanos() : WallNanos(); }
  bool virtual_time() const override { return fault_ != nullptr; }
  StoreCounters Counters() const override {
    StoreCounters c;
    c.available = true;
    const StoreStats stats = counted_->Stats();
    c.submits = stats.submits;
    if (fault_) {
      // The fault store sees every request and every Flush call; the memory
      // store under it counts only flushes that had something to flush.
      const FaultStats faults = fault_->Faults();
      c.requests = faults.requests;
      c.page_writes = faults.page_writes;
      c.bytes = faults.bytes;
      c.flushes = faults.flushes;
    } else {
      c.requests = stats.requests;
      c.page_writes = stats.page_writes;
      c.bytes = stats.bytes;
      c.flushes = stats.flushes;
    }
    return c;
  }

 private:
  std::unique_ptr<Filesystem> fs_;
  std::shared_ptr<FaultStore> fault_;
  std::shared_ptr<Store> counted_;
  const std::string scratch_dir_;
};

// ---- The host kernel ----

class HostTarget final : public Target {
 public:
  explicit HostTarget(std::string dir) : dir_(std::move(dir)) {}
  // The job's files go: they were only for measuring.
  ~HostTarget() override {
    for (const std::string& path : created_) (void)::unlink(path.c_str());  // best effort
  }

  vfs::Result<int> Open(uint32_t index, int flags) override {
    const std::string path = PathOf(index);
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) return Error(errno);
    if (flags & O_CREAT) {
      std::lock_guard<std::mutex> lock(mu_);
      if (std::find(created_.begin(), created_.end(), path) == created_.end()) created_.push_back(path);
    }
    return fd;
  }
  vfs::Result<void> Write(int fd, const char* buf, size_t count, int64_t offset) override {
    while (count > 0) {
      const ssize_t n = offset < 0 ? ::write(fd, buf, count) : ::pwrite(fd, buf, count, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error(errno);
      }
      buf += n;
      count -= static_cast<size_t>(n);
      if (offset >= 0) offset += n;
    }
    return Ok();
  }
  vfs::Result<void> Fsync(int fd) override { return Check(::fsync(fd)); }
  vfs::Result<void> Fdatasync(int fd) override { return Check(::fdatasync(fd)); }
  vfs::Result<void> SyncFileRange(int fd, int64_t offset, int64_t nbytes, unsigned flags) override {
    return Check(::sync_file_range(fd, offset, nbytes, flags));
  }
  vfs::Result<void> FsyncRange(int fd, SyncStrategy::RangeHow how, int64_t start, int64_t length) override {
    // Linux has no fsync_range (AIX): the nearest calls, as Note() says.
    switch (how) {
      case SyncStrategy::RangeHow::kDataSync: return Fdatasync(fd);
      case SyncStrategy::RangeHow::kFileSync: return Fsync(fd);
      case SyncStrategy::RangeHow::kNoCache: {
        if (auto synced = Fdatasync(fd); !synced.ok()) return synced;
        const int err = ::posix_fadvise(fd, start, length, POSIX_FADV_DONTNEED);  // returns the errno
        return FromErrno(err);
      }
    }
    return Error(EINVAL);
  }
  vfs::Result<void> Ftruncate(int fd, int64_t length) override { return Check(::ftruncate(fd, length)); }
  vfs::Result<void> Close(int fd) override { return Check(::close(fd)); }
  vfs::Result<void> SyncDirectory() override {
    const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error(errno);
    auto synced = Check(::fsync(fd));
    ::close(fd);  // a read-only directory descriptor: nothing to report
    return synced;
  }
  std::string PathOf(uint32_t index) const override {
    return Cat(dir_, "/vfs-bench.", ::getpid(), ".", index);
  }
  std::string Note(const SyncStrategy& sync) const override {
    if (sync.kind != SyncStrategy::Kind::kFsyncRange) return "";
    switch (sync.how) {
      case SyncStrategy::RangeHow::kDataSync: return "fsync_range(O_DSYNC) done as fdatasync: Linux has no fsync_range";
      case SyncStrategy::RangeHow::kFileSync: return "fsync_range(O_SYNC) done as fsync: Linux has no fsync_range";
      case SyncStrategy::RangeHow::kNoCache:
        return "fsync_range(O_NOCACHE) done as fdatasync + posix_fadvise(DONTNEED): Linux has no fsync_range";
    }
    return "";
  }

 private:
  static vfs::Result<void> Check(int rc) { return rc == 0 ? Ok() : vfs::Result<void>(Error(errno)); }

  const std::string dir_;
  std::mutex mu_;
  std::vector<std::string> created_;  // guarded by mu_
};

// The directory of disk:DIR or host:DIR: OK if it is one, else one line
// naming it once and saying what to do.
absl::Status CheckDirectory(const Backend& backend) {
  struct stat st;
  if (::stat(backend.arg.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::InvalidArgumentError(
          Cat(backend.Label(), ": no such directory: create it first (mkdir -p), or name another"));
    }
    return absl::InvalidArgumentError(Cat(backend.Label(), ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(Cat(backend.Label(), ": not a directory: name a directory"));
  }
  return absl::OkStatus();
}

// Bytes this process may still take: MemAvailable from /proc/meminfo, and
// no more than the cgroup (v2) allows beyond what it uses. 0 if unknown.
uint64_t AvailableMemory() {
  uint64_t available = 0;
  if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kb = 0;
    while (std::fgets(line, sizeof line, f) != nullptr) {
      if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) available = kb * 1024;
    }
    std::fclose(f);
  }
  auto read_number = [](const char* path, uint64_t* out) {
    std::FILE* f = std::fopen(path, "r");
    if (f == nullptr) return false;
    unsigned long long v = 0;
    const bool ok = std::fscanf(f, "%llu", &v) == 1;  // "max" is no number: no limit
    std::fclose(f);
    *out = v;
    return ok;
  };
  uint64_t limit = 0, current = 0;
  if (read_number("/sys/fs/cgroup/memory.max", &limit) &&
      read_number("/sys/fs/cgroup/memory.current", &current)) {
    const uint64_t room = limit > current ? limit - current : 0;
    available = available == 0 ? room : std::min(available, room);
  }
  return available;
}

}  // namespace

absl::Status CheckJobFits(const Job& job, const Backend& backend) {
  if (backend.kind == Backend::Kind::kDisk || backend.kind == Backend::Kind::kHost) {
    return CheckDirectory(backend);
  }
  // Overwrite jobs fill every file to `size` before they start; append jobs
  // grow each file up to it. The memory store keeps all of it.
  const uint64_t need = job.size > UINT64_MAX / job.files ? UINT64_MAX : job.size * job.files;
  const uint64_t available = AvailableMemory();
  if (available != 0 && need > available) {
    return absl::InvalidArgumentError(
        Cat(backend.Label(), ": the job keeps files*size = ", FormatBytes(need), " (", need,
            " bytes) in memory, more than the ", available >> 20,
            " MiB available: lower size= or files=, or use backend=disk:DIR"));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::unique_ptr<Target>> MakeTarget(const Backend& backend) {
  const std::string label = backend.Label();
  std::shared_ptr<Store> store;
  std::shared_ptr<FaultStore> fault;
  std::shared_ptr<Store> counted;
  std::string scratch;  // a directory to remove after the job
  switch (backend.kind) {
    case Backend::Kind::kHost: {
      if (auto dir = CheckDirectory(backend); !dir.ok()) return dir;
      if (::access(backend.arg.c_str(), W_OK) != 0) {
        return absl::InvalidArgumentError(Cat(label, ": ", std::strerror(errno)));
      }
      return std::unique_ptr<Target>(std::make_unique<HostTarget>(backend.arg));
    }
    case Backend::Kind::kDisk: {
      // A fresh store in a directory of its own under DIR, removed after.
      static std::atomic<uint64_t> next_store{0};
      if (auto dir = CheckDirectory(backend); !dir.ok()) return dir;
      scratch = Cat(backend.arg, "/vfs-bench-store.", ::getpid(), ".", next_store.fetch_add(1));
      std::string why;
      auto opened = OpenDiskStore(scratch, {}, &why);
      if (!opened.ok()) {
        return absl::InvalidArgumentError(Cat(label, ": ", why.empty() ? std::strerror(opened.error()) : why));
      }
      store = *opened;
      counted = store;
      break;
    }
    case Backend::Kind::kMemory:
      store = NewMemoryStore({.volatile_cache = backend.volatile_cache});
      counted = store;
      break;
    case Backend::Kind::kFault: {
      auto device = DeviceModel::Preset(backend.arg);
      if (!device) return absl::InvalidArgumentError(Cat(label, ": unknown device preset"));
      counted = NewMemoryStore();
      fault = NewFaultStore(counted, {.record = false, .device = *device});
      store = fault;
      break;
    }
  }
  // Timestamps advance by one nanosecond at every call, so every write
  // changes mtime and dirties the inode, as under a fine-grained clock: the
  // store counters then depend on the job alone, not on how many writes fell
  // within one tick of the kernel-style coarse clock (which would let some
  // fsyncs skip the inode record).
  Options fs_options;
  fs_options.clock = [now = std::make_shared<std::atomic<int64_t>>(0)] {
    const int64_t ns = now->fetch_add(1, std::memory_order_relaxed) + 1;
    return Timespec{ns / 1000000000, ns % 1000000000};
  };
  auto fs = Filesystem::Mount(store, fs_options);
  if (!fs.ok()) {
    if (!scratch.empty()) {
      std::error_code ignored;
      store.reset();
      counted.reset();
      std::filesystem::remove_all(scratch, ignored);
    }
    return absl::InternalError(Cat(label, ": mount: ", std::strerror(fs.error())));
  }
  return std::unique_ptr<Target>(
      std::make_unique<VfsTarget>(std::move(fs).value(), fault, counted, std::move(scratch)));
}

// What each thread does and measures.
struct FileState {
  uint32_t index = 0;
  int fd = -1;
  uint64_t cursor = 0;    // sequential overwrite: the next offset
  uint64_t length = 0;    // append: the file's size
  uint64_t writes = 0;    // writes to this file so far
  uint64_t range_lo = UINT64_MAX;  // fsync_range: bytes written since the last one
  uint64_t range_hi = 0;
};

struct alignas(64) ThreadRun {
  std::vector<FileState> files;
  uint64_t budget = 0;  // writes to make; UINT64_MAX with only a time limit
  Histogram latency;
  Histogram write_latency;  // the write call alone
  Histogram sync_latency;   // each sync call the strategy made
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t final_sync_ns = 0;
  std::atomic<uint64_t> done{0};  // for the progress line
  absl::Status error;
};

std::string CallError(const Backend& backend, const Target& target, const char* call, uint32_t file, int err) {
  return Cat(backend.Label(), ": ", call, " ", target.PathOf(file), ": ", std::strerror(err));
}

// Creates the files and, for overwrite jobs, fills them; then makes them and
// their names durable.
absl::Status Setup(const Job& job, const Backend& backend, Target& target) {
  const size_t chunk_size = static_cast<size_t>(std::min<uint64_t>(job.size, uint64_t{1} << 20));
  const std::string chunk(chunk_size, 'p');
  for (uint32_t i = 0; i < job.files; ++i) {
    auto fd = target.Open(i, O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd.ok()) return absl::InternalError(CallError(backend, target, "open", i, fd.error()));
    if (job.mode == WriteMode::kOverwrite) {
      for (uint64_t at = 0; at < job.size; at += chunk_size) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_size, job.size - at));
        if (auto w = target.Write(*fd, chunk.data(), n, static_cast<int64_t>(at)); !w.ok()) {
          return absl::InternalError(CallError(backend, target, "write", i, w.error()));
        }
      }
    }
    if (auto s = target.Fsync(*fd); !s.ok()) return absl::InternalError(CallError(backend, target, "fsync", i, s.error()));
    if (auto c = target.Close(*fd); !c.ok()) return absl::InternalError(CallError(backend, target, "close", i, c.error()));
  }
  if (auto s = target.SyncDirectory(); !s.ok()) {
    return absl::InternalError(Cat(backend.Label(), ": fsync of the directory: ", std::strerror(s.error())));
  }
  return absl::OkStatus();
}

int OpenFlags(const Job& job) {
  int flags = O_WRONLY;
  if (job.mode == WriteMode::kAppend) flags |= O_APPEND;
  if (job.sync.kind == SyncStrategy::Kind::kOpenDsync) flags |= O_DSYNC;
  if (job.sync.kind == SyncStrategy::Kind::kOpenSync) flags |= O_SYNC;
  return flags;
}

// The sync the strategy makes after a write to `file`, or an errno.
int SyncAfterWrite(const SyncStrategy& sync, Target& target, FileState& file, const char** call) {
  vfs::Result<void> r;
  switch (sync.kind) {
    case SyncStrategy::Kind::kNone:
    case SyncStrategy::Kind::kOpenDsync:
    case SyncStrategy::Kind::kOpenSync:
    case SyncStrategy::Kind::kFinalFsync:
      return 0;
    case SyncStrategy::Kind::kFsync:
      if (file.writes % sync.every != 0) return 0;
      *call = "fsync";
      r = target.Fsync(file.fd);
      break;
    case SyncStrategy::Kind::kFdatasync:
      if (file.writes % sync.every != 0) return 0;
      *call = "fdatasync";
      r = target.Fdatasync(file.fd);
      break;
    case SyncStrategy::Kind::kSyncFileRange:
      if (sync.wait_every != 0 && file.writes % sync.wait_every == 0) {
        *call = "sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER)";
        r = target.SyncFileRange(file.fd, 0, 0,
                                 kSyncFileRangeWaitBefore | kSyncFileRangeWrite | kSyncFileRangeWaitAfter);
      } else if (file.writes % sync.every == 0) {
        *call = "sync_file_range(WRITE)";
        r = target.SyncFileRange(file.fd, 0, 0, kSyncFileRangeWrite);
      }
      break;
    case SyncStrategy::Kind::kFsyncRange:
      if (file.writes % sync.every != 0) return 0;
      *call = "fsync_range";
      r = target.FsyncRange(file.fd, sync.how, static_cast<int64_t>(file.range_lo),
                            static_cast<int64_t>(file.range_hi - file.range_lo));
      file.range_lo = UINT64_MAX;
      file.range_hi = 0;
      break;
  }
  return r.error();
}

void RunThread(const Job& job, const Backend& backend, Target& target, uint32_t thread,
               uint64_t wall_start, std::atomic<bool>& failed, ThreadRun& run) {
  Random random(job.seed ^ (0x9e3779b97f4a7c15ull * (thread + 1)));
  std::string buffer(static_cast<size_t>(job.block_size), '\0');
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<char>('a' + (thread + i) % 26);
  const uint64_t blocks = job.size / job.block_size;
  auto fail = [&](const char* call, uint32_t file, int err) {
    run.error = absl::InternalError(CallError(backend, target, call, file, err));
    failed.store(true, std::memory_order_relaxed);
  };

  const bool syncs_after_write = job.sync.kind == SyncStrategy::Kind::kFsync ||
                                 job.sync.kind == SyncStrategy::Kind::kFdatasync ||
                                 job.sync.kind == SyncStrategy::Kind::kSyncFileRange ||
                                 job.sync.kind == SyncStrategy::Kind::kFsyncRange;
  run.start = target.Now();
  for (uint64_t k = 0; k < run.budget; ++k) {
    if (failed.load(std::memory_order_relaxed)) break;  // another thread failed
    if (job.duration_ns != 0 && WallNanos() - wall_start >= job.duration_ns) break;
    FileState& file = run.files[k % run.files.size()];
    const uint64_t t0 = target.Now();
    int64_t offset = -1;  // append: write() at the end
    uint64_t at = 0;
    if (job.mode == WriteMode::kAppend) {
      if (file.length + job.block_size > job.size) {
        // Log rotation: the file starts again, inside this operation.
        if (auto t = target.Ftruncate(file.fd, 0); !t.ok()) return fail("ftruncate", file.index, t.error());
        file.length = 0;
        file.range_lo = UINT64_MAX;
        file.range_hi = 0;
      }
      at = file.length;
      file.length += job.block_size;
    } else if (job.access == Access::kRandom) {
      at = (random.Next() % blocks) * job.block_size;
      offset = static_cast<int64_t>(at);
    } else {
      at = file.cursor;
      offset = static_cast<int64_t>(at);
      file.cursor = (file.cursor + job.block_size) % job.size;
    }
    if (auto w = target.Write(file.fd, buffer.data(), buffer.size(), offset); !w.ok()) {
      return fail("write", file.index, w.error());
    }
    // The write's own latency (fio's clat) is split from the sync call's
    // only when a sync call may follow: one clock reading less otherwise.
    const uint64_t t1 = syncs_after_write ? target.Now() : 0;
    ++file.writes;
    file.range_lo = std::min(file.range_lo, at);
    file.range_hi = std::max(file.range_hi, at + job.block_size);
    const char* call = "";
    if (const int err = SyncAfterWrite(job.sync, target, file, &call); err != 0) {
      return fail(call, file.index, err);
    }
    const uint64_t t2 = target.Now();
    run.latency.Record(t2 - t0);
    if (!syncs_after_write) {
      run.write_latency.Record(t2 - t0);
    } else {
      run.write_latency.Record(t1 - t0);
      if (call[0] != '\0') run.sync_latency.Record(t2 - t1);
    }
    run.done.fetch_add(1, std::memory_order_relaxed);
  }
  if (job.sync.kind == SyncStrategy::Kind::kFinalFsync && !failed.load(std::memory_order_relaxed)) {
    const uint64_t t0 = target.Now();
    for (FileState& file : run.files) {
      const uint64_t f0 = target.Now();
      if (auto s = target.Fsync(file.fd); !s.ok()) return fail("fsync", file.index, s.error());
      run.sync_latency.Record(target.Now() - f0);
    }
    run.final_sync_ns = target.Now() - t0;
  }
  run.end = target.Now();
}

// Prints a progress line every second until Stop(); nothing for runs shorter
// than a second. Waits on a condition variable with a timeout: a timer, not
// synchronisation.
class Progress {
 public:
  Progress(const RunOptions& options, std::string label, uint64_t total_ops, uint64_t duration_ns,
           const std::vector<std::unique_ptr<ThreadRun>>& runs)
      : out_(options.progress_out), label_(std::move(label)), total_(total_ops), duration_ns_(duration_ns),
        runs_(runs), tty_(out_ != nullptr && ::isatty(::fileno(out_))) {
    if (options.progress && out_ != nullptr) thread_ = std::thread([this] { Loop(); });
  }
  ~Progress() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    const uint64_t start = WallNanos();
    bool printed = false;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopped_; })) {
      uint64_t done = 0;
      for (const auto& run : runs_) done += run->done.load(std::memory_order_relaxed);
      const double seconds = static_cast<double>(WallNanos() - start) / 1e9;
      std::string line = Cat("  ", label_, ": ", done);
      if (total_ != 0) {
        line += Cat("/", total_, " ops (", done * 100 / total_, "%)");
      } else {
        line += Cat(" ops");
      }
      line += Cat(", ", static_cast<uint64_t>(seconds), " s");
      if (duration_ns_ != 0) line += Cat(" of ", static_cast<double>(duration_ns_) / 1e9, " s");
      std::fprintf(out_, tty_ ? "\r%-78s" : "%s\n", line.c_str());
      std::fflush(out_);
      printed = true;
    }
    if (printed && tty_) {
      std::fprintf(out_, "\r%-78s\r", "");
      std::fflush(out_);
    }
  }

  std::FILE* out_;
  const std::string label_;
  const uint64_t total_;
  const uint64_t duration_ns_;
  const std::vector<std::unique_ptr<ThreadRun>>& runs_;
  const bool tty_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
  std::thread thread_;
};

StoreCounters Delta(const StoreCounters& after, const StoreCounters& before) {
  StoreCounters d;
  d.available = after.available;
  d.submits = after.submits - before.submits;
  d.requests = after.requests - before.requests;
  d.page_writes = after.page_writes - before.page_writes;
  d.bytes = after.bytes - before.bytes;
  d.flushes = after.flushes - before.flushes;
  return d;
}

}  // namespace

absl::StatusOr<JobResult> RunJob(const Job& job, const Backend& backend, const RunOptions& options) {
  if (auto st = ValidateJob(job); !st.ok()) return st;
  if (auto fits = CheckJobFits(job, backend); !fits.ok()) return fits;
  auto made = MakeTarget(backend);
  if (!made.ok()) return made.status();
  Target& target = **made;
  if (auto st = Setup(job, backend, target); !st.ok()) return st;

  // Threads own files round robin; the writes are split as evenly as can be.
  const uint64_t total = job.TotalOps();
  std::vector<std::unique_ptr<ThreadRun>> runs;
  for (uint32_t t = 0; t < job.threads; ++t) {
    auto run = std::make_unique<ThreadRun>();
    run->budget = total == 0 ? UINT64_MAX : total / job.threads + (t < total % job.threads ? 1 : 0);
    runs.push_back(std::move(run));
  }
  const int flags = OpenFlags(job);
  for (uint32_t i = 0; i < job.files; ++i) {
    auto fd = target.Open(i, flags);
    if (!fd.ok()) return absl::InternalError(CallError(backend, target, "open", i, fd.error()));
    FileState file;
    file.index = i;
    file.fd = *fd;
    file.length = job.mode == WriteMode::kAppend ? 0 : job.size;
    runs[i % job.threads]->files.push_back(file);
  }

  Job single = job;
  single.backends = {backend};
  JobResult result;
  result.name = job.name;
  result.backend = backend.Label();
  result.sync = job.sync.Label();
  result.job = single.Describe();
  result.virtual_time = target.virtual_time();
  result.threads = job.threads;
  result.block_size = job.block_size;
  result.note = target.Note(job.sync);

  const StoreCounters before = target.Counters();
  std::atomic<bool> failed{false};
  {
    Progress progress(options, Cat(result.backend, " ", result.sync), total, job.duration_ns, runs);
    const uint64_t wall_start = WallNanos();
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < job.threads; ++t) {
      threads.emplace_back(RunThread, std::cref(job), std::cref(backend), std::ref(target), t, wall_start,
                           std::ref(failed), std::ref(*runs[t]));
    }
    for (std::thread& t : threads) t.join();
  }
  const StoreCounters after = target.Counters();

  uint64_t start = UINT64_MAX;
  uint64_t end = 0;
  for (const auto& run : runs) {
    if (!run->error.ok()) return run->error;
    start = std::min(start, run->start);
    end = std::max(end, run->end);
    result.latency.Merge(run->latency);
    result.write_latency.Merge(run->write_latency);
    result.sync_latency.Merge(run->sync_latency);
    result.final_sync_ns += run->final_sync_ns;
  }
  for (const auto& run : runs) {
    for (const FileState& file : run->files) {
      if (auto c = target.Close(file.fd); !c.ok()) {
        return absl::InternalError(CallError(backend, target, "close", file.index, c.error()));
      }
    }
  }
  result.ops = result.latency.Count();
  result.bytes = result.ops * job.block_size;
  result.elapsed_ns = end - start;
  result.store = Delta(after, before);
  return result;
}

}  // namespace vfs::bench
