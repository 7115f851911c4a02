// vfs_bench: the VFS's hot paths, each next to its host peer where one exists
// (the same call on a tmpfs file in /dev/shm), so a run reports ratios.
//
//   ./vfs_bench --benchmark_min_time=0.2
//
// Every VFS benchmark runs on a memory store without a volatile cache, so a
// sync is a Submit and a Wait with no device behind it: the numbers are the
// VFS's own cost. Names say what is measured:
//   Pwrite/<bytes>                    (a) a write into a cached page
//   RandomOverwrite4K                 (b) 4 KiB page-aligned overwrite at
//                                         random in a 1 MiB file
//   FsyncClean                        (c) fsync with nothing to write
//   FsyncDirtyPages/<k>               (d) fsync of k dirty pages in a 1 GiB
//                                         sparse file, fsync only timed
//   WriteAndFsyncDirtyPages/<k>       (d) the same with the re-dirtying
//                                         writes timed too
//   FsyncOneDirtyPage/<file MiB>/<dense>  (e) fsync of one dirty page by file
//                                         size, sparse (0) or fully
//                                         allocated (1)
//   SyncFileRangeCleanRange/<N>       (f) sync_file_range(7) over a range
//                                         with no dirty page, N dirty elsewhere
//   CreateWriteCloseUnlink            (g) open(O_CREAT) + 4 KiB write + close
//                                         + unlink
// Thread-safety: single-threaded benchmarks.
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/memory/memory_store.h"
#include "benchmark/benchmark.h"
#include "vfs/filesystem.h"
#include "vfs/internal/mutex.h"

namespace vfs {
namespace {

constexpr uint32_t kPage = 4096;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

// ---- Fixtures ----

// A mounted VFS on a fresh memory store with one open file, `/f`.
struct VfsFile {
  std::unique_ptr<Filesystem> fs;
  Fd fd{-1};
};

// Mounts a fresh store and opens `/f` read-write; null fs on failure, with
// the reason given to `state`.
VfsFile OpenVfsFile(benchmark::State& state) {
  VfsFile out;
  auto mounted = Filesystem::Mount(NewMemoryStore());
  if (!mounted.ok()) {
    state.SkipWithError(std::strerror(mounted.error()));
    return out;
  }
  out.fs = std::move(mounted).value();
  auto fd = out.fs->Open("/f", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (!fd.ok()) {
    state.SkipWithError(std::strerror(fd.error()));
    out.fs.reset();
    return out;
  }
  out.fd = *fd;
  return out;
}

// Writes `length` bytes of 'x' from `offset` in chunks of up to 1 MiB.
bool FillVfs(VfsFile& f, int64_t offset, int64_t length) {
  const std::string chunk(static_cast<size_t>(std::min<int64_t>(length, kMiB)), 'x');
  for (int64_t done = 0; done < length;) {
    const size_t n = static_cast<size_t>(std::min<int64_t>(length - done, kMiB));
    auto wrote = f.fs->Pwrite(f.fd, chunk.data(), n, offset + done);
    if (!wrote.ok() || *wrote != n) return false;
    done += static_cast<int64_t>(n);
  }
  return true;
}

// A file in /dev/shm (tmpfs), removed when this goes away.
class TmpfsFile {
 public:
  explicit TmpfsFile(benchmark::State& state, const char* tag) {
    path_ = "/dev/shm/vfs_bench_" + std::to_string(::getpid()) + "_" + tag;
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd_ < 0) state.SkipWithError(std::strerror(errno));
  }
  ~TmpfsFile() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  TmpfsFile(const TmpfsFile&) = delete;
  TmpfsFile& operator=(const TmpfsFile&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  bool Fill(int64_t length) {
    const std::string chunk(static_cast<size_t>(std::min<int64_t>(length, kMiB)), 'x');
    for (int64_t done = 0; done < length;) {
      const size_t n = static_cast<size_t>(std::min<int64_t>(length - done, kMiB));
      if (::pwrite(fd_, chunk.data(), n, done) != static_cast<ssize_t>(n)) return false;
      done += static_cast<int64_t>(n);
    }
    return true;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// Page-aligned offsets in [0, file_bytes), fixed seed so every run writes
// the same sequence.
std::vector<int64_t> RandomPageOffsets(int64_t file_bytes) {
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<int64_t> page(0, file_bytes / kPage - 1);
  std::vector<int64_t> out(65536);
  for (auto& o : out) o = page(rng) * kPage;
  return out;
}

// ---- (a) pwrite into a cached page ----

void BM_VfsPwrite(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  VfsFile f = OpenVfsFile(state);
  if (!f.fs) return;
  if (!FillVfs(f, 0, kMiB)) return state.SkipWithError("fill failed");
  const std::string buf(n, 'y');
  for (auto _ : state) {
    auto wrote = f.fs->Pwrite(f.fd, buf.data(), n, 0);
    if (!wrote.ok()) {
      state.SkipWithError(std::strerror(wrote.error()));
      break;
    }
    benchmark::DoNotOptimize(wrote);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_VfsPwrite)->Arg(64)->Arg(4096);

void BM_TmpfsPwrite(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TmpfsFile f(state, "pwrite");
  if (!f.ok()) return;
  if (!f.Fill(kMiB)) return state.SkipWithError("fill failed");
  const std::string buf(n, 'y');
  for (auto _ : state) {
    if (::pwrite(f.fd(), buf.data(), n, 0) != static_cast<ssize_t>(n)) {
      state.SkipWithError(std::strerror(errno));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_TmpfsPwrite)->Arg(64)->Arg(4096);

// ---- (a') the same from several threads on one filesystem ----

// Each thread writes 64 bytes into its own file (range 0: own descriptor)
// or all into one descriptor (range 1: shared). Shows what the descriptor
// lookup costs when threads run together: a call takes no table lock and
// no reference on the description (docs/architecture.md).
void BM_VfsPwriteThreads(benchmark::State& state) {
  static std::unique_ptr<Filesystem> fs;
  static std::vector<Fd> fds;
  const bool shared = state.range(0) == 1;
  if (state.thread_index() == 0) {
    fs = Filesystem::Mount(NewMemoryStore()).value();
    fds.clear();
    for (int i = 0; i < state.threads(); ++i) {
      auto fd = fs->Open("/t" + std::to_string(i), O_RDWR | O_CREAT, 0644);
      if (!fd.ok() || !fs->Pwrite(*fd, "x", 1, kMiB).ok()) return state.SkipWithError("setup failed");
      fds.push_back(*fd);
    }
  }
  const std::string buf(64, 'y');
  for (auto _ : state) {
    const Fd fd = fds[shared ? 0 : state.thread_index()];
    auto wrote = fs->Pwrite(fd, buf.data(), buf.size(), 4096 * state.thread_index());
    if (!wrote.ok()) {
      state.SkipWithError(std::strerror(wrote.error()));
      break;
    }
    benchmark::DoNotOptimize(wrote);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) fs.reset();
}
BENCHMARK(BM_VfsPwriteThreads)->ArgName("shared_fd")->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

void BM_TmpfsPwriteThreads(benchmark::State& state) {
  TmpfsFile f(state, ("threads" + std::to_string(state.thread_index())).c_str());
  if (!f.ok()) return;
  if (!f.Fill(kMiB)) return state.SkipWithError("fill failed");
  const std::string buf(64, 'y');
  for (auto _ : state) {
    if (::pwrite(f.fd(), buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size())) {
      state.SkipWithError(std::strerror(errno));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TmpfsPwriteThreads)->Threads(1)->Threads(2)->UseRealTime();

// ---- (b) 4 KiB random overwrite in a file of <MiB> ----

void BM_VfsRandomOverwrite4K(benchmark::State& state) {
  const int64_t file_bytes = state.range(0) * kMiB;
  VfsFile f = OpenVfsFile(state);
  if (!f.fs) return;
  if (!FillVfs(f, 0, file_bytes)) return state.SkipWithError("fill failed");
  const std::vector<int64_t> offsets = RandomPageOffsets(file_bytes);
  const std::string buf(kPage, 'r');
  size_t i = 0;
  for (auto _ : state) {
    auto wrote = f.fs->Pwrite(f.fd, buf.data(), kPage, offsets[i++ & (offsets.size() - 1)]);
    if (!wrote.ok()) {
      state.SkipWithError(std::strerror(wrote.error()));
      break;
    }
    benchmark::DoNotOptimize(wrote);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_VfsRandomOverwrite4K)->Arg(1)->Arg(64);

void BM_TmpfsRandomOverwrite4K(benchmark::State& state) {
  const int64_t file_bytes = state.range(0) * kMiB;
  TmpfsFile f(state, "random");
  if (!f.ok()) return;
  if (!f.Fill(file_bytes)) return state.SkipWithError("fill failed");
  const std::vector<int64_t> offsets = RandomPageOffsets(file_bytes);
  const std::string buf(kPage, 'r');
  size_t i = 0;
  for (auto _ : state) {
    if (::pwrite(f.fd(), buf.data(), kPage, offsets[i++ & (offsets.size() - 1)]) != kPage) {
      state.SkipWithError(std::strerror(errno));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_TmpfsRandomOverwrite4K)->Arg(1)->Arg(64);

// The floor: the same 4 KiB copies into a plain buffer of the same size, at
// the same offsets (the working set is the same bytes).
void BM_MemcpyRandomOverwrite4K(benchmark::State& state) {
  const int64_t file_bytes = state.range(0) * kMiB;
  std::vector<char> file(static_cast<size_t>(file_bytes), 'x');
  const std::vector<int64_t> offsets = RandomPageOffsets(file_bytes);
  const std::string buf(kPage, 'r');
  size_t n = kPage;
  // A length the compiler cannot see, as in the VFS: the C library's memcpy
  // (vector stores), not an inlined `rep movsq`, which is slower here.
  benchmark::DoNotOptimize(n);
  size_t i = 0;
  for (auto _ : state) {
    char* to = file.data() + offsets[i++ & (offsets.size() - 1)];
    std::memcpy(to, buf.data(), n);
    benchmark::DoNotOptimize(to);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_MemcpyRandomOverwrite4K)->Arg(1)->Arg(64);

// The floor for any design that copies under a lock: the same copies, each
// inside an uncontended lock and unlock (the inode lock a write takes). On
// x86 the unlock's locked instruction waits until the copy's stores have
// left the store buffer, so copies that miss the cache no longer overlap the
// next call's work.
void BM_MemcpyLockedRandomOverwrite4K(benchmark::State& state) {
  const int64_t file_bytes = state.range(0) * kMiB;
  std::vector<char> file(static_cast<size_t>(file_bytes), 'x');
  const std::vector<int64_t> offsets = RandomPageOffsets(file_bytes);
  const std::string buf(kPage, 'r');
  size_t n = kPage;
  benchmark::DoNotOptimize(n);
  Mutex mu;
  size_t i = 0;
  for (auto _ : state) {
    char* to = file.data() + offsets[i++ & (offsets.size() - 1)];
    mu.Lock();
    std::memcpy(to, buf.data(), n);
    mu.Unlock();
    benchmark::DoNotOptimize(to);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_MemcpyLockedRandomOverwrite4K)->Arg(1)->Arg(64);

// ---- (c) fsync of a clean file ----

void BM_VfsFsyncClean(benchmark::State& state) {
  VfsFile f = OpenVfsFile(state);
  if (!f.fs) return;
  if (!FillVfs(f, 0, kMiB) || !f.fs->Fsync(f.fd).ok()) return state.SkipWithError("setup failed");
  for (auto _ : state) {
    auto synced = f.fs->Fsync(f.fd);
    if (!synced.ok()) {
      state.SkipWithError(std::strerror(synced.error()));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VfsFsyncClean);

// The peer: fsync on tmpfs is a no-op (noop_fsync), so this is the floor of
// a syscall that does nothing.
void BM_TmpfsFsyncClean(benchmark::State& state) {
  TmpfsFile f(state, "fsync");
  if (!f.ok()) return;
  if (!f.Fill(kMiB)) return state.SkipWithError("fill failed");
  for (auto _ : state) {
    if (::fsync(f.fd()) != 0) {
      state.SkipWithError(std::strerror(errno));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TmpfsFsyncClean);

// ---- (d) fsync of k dirty pages in a 1 GiB sparse file ----

// A 1 GiB file whose last page is written (so the size is 1 GiB, holes
// everywhere else), plus k pages spread evenly over it, all durable.
// Returns the k offsets to re-dirty.
std::vector<int64_t> SparseGiBWithPages(benchmark::State& state, VfsFile& f, int64_t k) {
  std::vector<int64_t> offsets;
  if (!FillVfs(f, kGiB - kPage, kPage)) {
    state.SkipWithError("fill failed");
    return offsets;
  }
  const int64_t pages = kGiB / kPage;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t offset = (i * (pages - 1) / k) * kPage;
    if (!FillVfs(f, offset, kPage)) {
      state.SkipWithError("fill failed");
      return {};
    }
    offsets.push_back(offset);
  }
  if (!f.fs->Fsync(f.fd).ok()) {
    state.SkipWithError("fsync failed");
    return {};
  }
  return offsets;
}

// Re-dirties `offsets` with a 64-byte write each. Each write copies its page
// first (copy on write: the store shares the buffer the last fsync gave it).
bool Redirty(VfsFile& f, const std::vector<int64_t>& offsets) {
  static const std::string kBytes(64, 'd');
  for (int64_t offset : offsets) {
    if (!f.fs->Pwrite(f.fd, kBytes.data(), kBytes.size(), offset).ok()) return false;
  }
  return true;
}

// Times the fsync alone: the k re-dirtying writes of each iteration run
// outside the timed region (manual time), so this is the cost of writing
// back k pages plus the inode record. WriteAndFsyncDirtyPages below times
// both, so the writes' cost is the difference of the two.
void BM_VfsFsyncDirtyPages(benchmark::State& state) {
  const int64_t k = state.range(0);
  VfsFile f = OpenVfsFile(state);
  if (!f.fs) return;
  const std::vector<int64_t> offsets = SparseGiBWithPages(state, f, k);
  if (offsets.empty()) return;
  for (auto _ : state) {
    if (!Redirty(f, offsets)) {
      state.SkipWithError("write failed");
      break;
    }
    const auto start = std::chrono::steady_clock::now();
    auto synced = f.fs->Fsync(f.fd);
    const auto stop = std::chrono::steady_clock::now();
    if (!synced.ok()) {
      state.SkipWithError(std::strerror(synced.error()));
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
  }
  state.SetItemsProcessed(state.iterations() * k);  // pages written back
  state.SetBytesProcessed(state.iterations() * k * kPage);
}
BENCHMARK(BM_VfsFsyncDirtyPages)->Arg(1)->Arg(10)->Arg(100)->UseManualTime();

// The writes and the fsync, both timed.
void BM_VfsWriteAndFsyncDirtyPages(benchmark::State& state) {
  const int64_t k = state.range(0);
  VfsFile f = OpenVfsFile(state);
  if (!f.fs) return;
  const std::vector<int64_t> offsets = SparseGiBWithPages(state, f, k);
  if (offsets.empty()) return;
  for (auto _ : state) {
    if (!Redirty(f, offsets)) {
      state.SkipWithError("write failed");
      break;
    }
    auto synced = f.fs->Fsync(f.fd);
    if (!synced.ok()) {
      state.SkipWithError(std::strerror(synced.error()));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * k);
  state.SetBytesProcessed(state.iterations() * k * kPage);
}
BENCHMARK(BM_VfsWriteAndFsyncDirtyPages)->Arg(1)->Arg(10)->Arg(100);

// ---- (e) fsync of one dirty page: 1 MiB file vs 1 GiB file ----

// Args: file size in MiB, and 1 if every page is allocated (and cached,
// clean), 0 if only the last page is (a sparse file). The dirty page is in
// the middle. As FsyncDirtyPages, only the fsync is timed. The fixture is
// built once per shape: filling 1 GiB takes far longer than the benchmark.
void BM_VfsFsyncOneDirtyPage(benchmark::State& state) {
  const int64_t size = state.range(0) * kMiB;
  const bool dense = state.range(1) != 0;
  struct Fixture {
    VfsFile file;
    std::vector<int64_t> offsets;
  };
  static std::unique_ptr<Fixture> fixtures[2][2];  // [size is 1 GiB][dense]
  std::unique_ptr<Fixture>& fixture = fixtures[size == kGiB][dense];
  if (!fixture) {
    auto built = std::make_unique<Fixture>();
    built->file = OpenVfsFile(state);
    if (!built->file.fs) return;
    const bool filled = dense ? FillVfs(built->file, 0, size)
                              : FillVfs(built->file, size - kPage, kPage);
    const int64_t middle = (size / 2) & ~int64_t{kPage - 1};
    if (!filled || !FillVfs(built->file, middle, kPage) ||
        !built->file.fs->Fsync(built->file.fd).ok()) {
      return state.SkipWithError("setup failed");
    }
    built->offsets = {middle};
    fixture = std::move(built);
  }
  VfsFile& f = fixture->file;
  for (auto _ : state) {
    if (!Redirty(f, fixture->offsets)) {
      state.SkipWithError("write failed");
      break;
    }
    const auto start = std::chrono::steady_clock::now();
    auto synced = f.fs->Fsync(f.fd);
    const auto stop = std::chrono::steady_clock::now();
    if (!synced.ok()) {
      state.SkipWithError(std::strerror(synced.error()));
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(dense ? "dense" : "sparse");
}
BENCHMARK(BM_VfsFsyncOneDirtyPage)
    ->Args({1, 1})
    ->Args({1024, 0})
    ->Args({1024, 1})
    ->UseManualTime();

// ---- (f) sync_file_range over a clean range, N dirty pages elsewhere ----

// N dirty pages, one every 16 pages; the range is the 15 clean pages of the
// gap in the middle. The dirty set is ordered by index, so finding that the
// range has no dirty page is a lower_bound: O(log N), whatever N. Nothing is
// re-dirtied: a clean-range sync changes nothing, so every iteration is the
// same. Built once per N (a million pages take a while to write).
void BM_VfsSyncFileRangeCleanRange(benchmark::State& state) {
  const int64_t n = state.range(0);
  constexpr int64_t kStride = 16;
  static std::unique_ptr<VfsFile> fixtures[2];
  std::unique_ptr<VfsFile>& fixture = fixtures[n > 10];
  if (!fixture) {
    auto built = std::make_unique<VfsFile>(OpenVfsFile(state));
    if (!built->fs) return;
    for (int64_t i = 0; i < n; ++i) {
      if (!FillVfs(*built, i * kStride * kPage, kPage)) return state.SkipWithError("fill failed");
    }
    fixture = std::move(built);
  }
  VfsFile& f = *fixture;
  const int64_t offset = ((n / 2) * kStride + 1) * kPage;
  const int64_t nbytes = (kStride - 1) * kPage;
  constexpr unsigned kFlags =
      kSyncFileRangeWaitBefore | kSyncFileRangeWrite | kSyncFileRangeWaitAfter;  // 7
  for (auto _ : state) {
    auto synced = f.fs->SyncFileRange(f.fd, offset, nbytes, kFlags);
    if (!synced.ok()) {
      state.SkipWithError(std::strerror(synced.error()));
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  // Nothing may have been written: the N pages stay dirty.
  auto page = f.fs->PageStateAt(f.fd, PageIndex(0));
  if (!page.ok() || *page != PageState::kDirty) state.SkipWithError("a page outside the range was written");
}
BENCHMARK(BM_VfsSyncFileRangeCleanRange)->Arg(10)->Arg(1000000);

// ---- (g) create + 4 KiB write + close (+ unlink, to keep one name) ----

// Both sides unlink in the loop, so the directory stays one entry and the
// memory flat; the time is therefore create + write + close + unlink.
void BM_VfsCreateWriteCloseUnlink(benchmark::State& state) {
  auto mounted = Filesystem::Mount(NewMemoryStore());
  if (!mounted.ok()) return state.SkipWithError(std::strerror(mounted.error()));
  std::unique_ptr<Filesystem> fs = std::move(mounted).value();
  const std::string buf(kPage, 'c');
  for (auto _ : state) {
    auto fd = fs->Open("/new", O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (!fd.ok()) {
      state.SkipWithError(std::strerror(fd.error()));
      break;
    }
    auto wrote = fs->Pwrite(*fd, buf.data(), buf.size(), 0);
    auto closed = fs->Close(*fd);
    auto unlinked = fs->Unlink("/new");
    if (!wrote.ok() || !closed.ok() || !unlinked.ok()) {
      state.SkipWithError("write, close or unlink failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_VfsCreateWriteCloseUnlink);

void BM_TmpfsCreateWriteCloseUnlink(benchmark::State& state) {
  const std::string path = "/dev/shm/vfs_bench_" + std::to_string(::getpid()) + "_new";
  const std::string buf(kPage, 'c');
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
      state.SkipWithError(std::strerror(errno));
      break;
    }
    const bool wrote = ::pwrite(fd, buf.data(), buf.size(), 0) == static_cast<ssize_t>(buf.size());
    const bool closed = ::close(fd) == 0;
    const bool unlinked = ::unlink(path.c_str()) == 0;
    if (!wrote || !closed || !unlinked) {
      state.SkipWithError(std::strerror(errno));
      break;
    }
  }
  ::unlink(path.c_str());  // after a failure in the loop; ENOENT otherwise
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kPage);
}
BENCHMARK(BM_TmpfsCreateWriteCloseUnlink);

// ---- (h) memory: heap bytes per cached page and per empty file ----

// Heap bytes in use, from glibc's allocator.
int64_t HeapInUse() { return static_cast<int64_t>(::mallinfo2().uordblks); }

// Writes <pages> pages into a file (dirty, so only the cache holds them) and
// reports the heap growth per page beyond the page's own bytes: the cost of
// the cache's bookkeeping, page buffer headers and allocator overhead.
void BM_MemoryPerCachedPage(benchmark::State& state) {
  const int64_t pages = state.range(0);
  double overhead = 0;
  for (auto _ : state) {
    VfsFile f = OpenVfsFile(state);
    if (!f.fs) return;
    const int64_t before = HeapInUse();
    if (!FillVfs(f, 0, pages * kPage)) return state.SkipWithError("fill failed");
    const int64_t grown = HeapInUse() - before;
    overhead = static_cast<double>(grown - pages * kPage) / static_cast<double>(pages);
  }
  state.counters["overhead_bytes_per_page"] = overhead;
}
BENCHMARK(BM_MemoryPerCachedPage)->Arg(16384)->Iterations(1);

// Creates <files> empty files in one directory (open O_CREAT, close) and
// reports the heap growth per file: inode, directory entry, pending entry.
void BM_MemoryPerEmptyFile(benchmark::State& state) {
  const int64_t files = state.range(0);
  double per_file = 0;
  for (auto _ : state) {
    auto mounted = Filesystem::Mount(NewMemoryStore());
    if (!mounted.ok()) return state.SkipWithError(std::strerror(mounted.error()));
    std::unique_ptr<Filesystem> fs = std::move(mounted).value();
    const int64_t before = HeapInUse();
    for (int64_t i = 0; i < files; ++i) {
      auto fd = fs->Open("/f" + std::to_string(i), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (!fd.ok() || !fs->Close(*fd).ok()) return state.SkipWithError("create failed");
    }
    per_file = static_cast<double>(HeapInUse() - before) / static_cast<double>(files);
  }
  state.counters["bytes_per_file"] = per_file;
}
BENCHMARK(BM_MemoryPerEmptyFile)->Arg(10000)->Iterations(1);

}  // namespace
}  // namespace vfs
