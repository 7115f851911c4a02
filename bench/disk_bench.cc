// disk_bench: write + fdatasync of 4 KiB through the VFS on the disk store,
// next to the same loop done with pwrite + fdatasync on host files in the
// same directory, with 1 and with 8 threads, in one run, so the report can
// give ratios on one machine and one filesystem.
//
//   disk_bench [--dir DIR] [--seconds S] [--rounds R] [--syncs N] [--only CASE] [--floors]
//
// --only runs one case (host1, vfs1, host8, vfs8) alone, for a profiler.
// --floors adds, in the same rounds, one host file written the way the
// store writes its log (4,168-byte records one after another, each synced by
// its writer, by 1 and by 8 threads): what the host gives a single file,
// against the 8 files of the host case.
//
// Each thread overwrites its own 4 MiB file page by page, cycling (the
// file is written and made durable first, so both sides overwrite allocated
// blocks and fdatasync has data, not file size, to write). Rounds alternate
// host and VFS runs so that drift in the device affects both alike; the
// report gives the median round.
//
// Targets (issue 17): VFS 1 thread >= 0.9 x host 1 thread; VFS 8 threads
// >= 1.0 x host 8 threads (group commit: one log fdatasync serves many
// callers, where the host needs one per call).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backends/disk/disk_store.h"
#include "vfs/filesystem.h"

namespace {

constexpr size_t kBlock = 4096;
constexpr uint64_t kPagesPerFile = 1024;  // 4 MiB per thread

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "disk_bench: %s\n", what.c_str());
  std::exit(1);
}

// Runs `op(thread, i)` on `threads` threads for `seconds`; returns ops/s.
template <typename Op>
double RunFor(int threads, double seconds, Op op) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> total{0};
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) op(t, n++);
      total.fetch_add(n);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measured span, not a synchronisation
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(total.load()) / elapsed;
}

struct HostFiles {
  std::vector<int> fds;
  HostFiles(const std::string& dir, int threads) {
    std::vector<char> block(kBlock, 'h');
    for (int t = 0; t < threads; ++t) {
      const std::string path = dir + "/host-" + std::to_string(t);
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) Die(path + ": " + std::strerror(errno));
      for (uint64_t p = 0; p < kPagesPerFile; ++p) {
        if (::pwrite(fd, block.data(), kBlock, static_cast<off_t>(p * kBlock)) != kBlock) {
          Die("pwrite");
        }
      }
      if (::fsync(fd) != 0) Die("fsync");
      fds.push_back(fd);
    }
  }
  ~HostFiles() {
    for (int fd : fds) ::close(fd);
  }
  double Run(int threads, double seconds) {
    return RunFor(threads, seconds, [&](int t, uint64_t i) {
      char block[kBlock];
      std::memset(block, static_cast<int>('a' + i % 26), kBlock);
      const off_t at = static_cast<off_t>((i % kPagesPerFile) * kBlock);
      if (::pwrite(fds[t], block, kBlock, at) != static_cast<ssize_t>(kBlock)) Die("pwrite");
      if (::fdatasync(fds[t]) != 0) Die("fdatasync");
    });
  }
};

// --floors: what one host file allows, the store's log being one file.
// Threads write records of a one-page commit's log size (4,168 bytes) at
// consecutive offsets of one preallocated file, each made durable by its
// writer: pwrite + fdatasync, or one pwritev2 with RWF_DSYNC (which syncs
// only the range written). No group commit: one sync per record.
struct LogFloor {
  static constexpr size_t kRecord = 4168;
  static constexpr uint64_t kRecords = 16000;  // 64 MiB, cycled
  int fd = -1;
  std::atomic<uint64_t> next{0};
  explicit LogFloor(const std::string& dir) {
    const std::string path = dir + "/log-floor";
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) Die(path + ": " + std::strerror(errno));
    std::vector<char> zeros(1 << 20, 0);
    for (uint64_t at = 0; at < kRecords * kRecord + zeros.size(); at += zeros.size()) {
      if (::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(at)) !=
          static_cast<ssize_t>(zeros.size())) {
        Die("pwrite");
      }
    }
    if (::fsync(fd) != 0) Die("fsync");
  }
  ~LogFloor() { ::close(fd); }
  double Run(int threads, double seconds, bool dsync) {
    return RunFor(threads, seconds, [&](int, uint64_t i) {
      char record[kRecord];
      std::memset(record, static_cast<int>('a' + i % 26), kRecord);
      const off_t at = static_cast<off_t>((next.fetch_add(1) % kRecords) * kRecord);
      if (dsync) {
        iovec v{record, kRecord};
        if (::pwritev2(fd, &v, 1, at, RWF_DSYNC) != static_cast<ssize_t>(kRecord)) {
          Die(std::string("pwritev2 RWF_DSYNC: ") + std::strerror(errno));
        }
        return;
      }
      if (::pwrite(fd, record, kRecord, at) != static_cast<ssize_t>(kRecord)) Die("pwrite");
      if (::fdatasync(fd) != 0) Die("fdatasync");
    });
  }
};

struct VfsFiles {
  std::shared_ptr<vfs::DiskStoreCounters> counters = std::make_shared<vfs::DiskStoreCounters>();
  std::shared_ptr<vfs::Store> store;
  std::unique_ptr<vfs::Filesystem> fs;
  std::vector<vfs::Fd> fds;
  VfsFiles(const std::string& dir, int threads, int syncs) {
    vfs::DiskStoreOptions options;
    options.counters = counters;
    if (syncs > 0) options.max_concurrent_syncs = static_cast<uint32_t>(syncs);
    std::string why;
    auto opened = vfs::OpenDiskStore(dir + "/store", options, &why);
    if (!opened.ok()) Die(why);
    store = *opened;
    auto mounted = vfs::Filesystem::Mount(store);
    if (!mounted.ok()) Die(std::string("mount: ") + std::strerror(mounted.error()));
    fs = std::move(mounted).value();
    std::vector<char> block(kBlock, 'v');
    for (int t = 0; t < threads; ++t) {
      auto fd = fs->Open("/f" + std::to_string(t), O_RDWR | O_CREAT, 0644);
      if (!fd.ok()) Die("open");
      for (uint64_t p = 0; p < kPagesPerFile; ++p) {
        if (!fs->Pwrite(*fd, block.data(), kBlock, static_cast<int64_t>(p * kBlock)).ok()) {
          Die("pwrite");
        }
      }
      if (!fs->Fsync(*fd).ok()) Die("fsync");
      fds.push_back(*fd);
    }
    auto root = fs->Open("/", O_RDONLY | O_DIRECTORY);
    if (!root.ok() || !fs->Fsync(*root).ok()) Die("fsync /");
    (void)fs->Close(*root);
  }
  double Run(int threads, double seconds) {
    return RunFor(threads, seconds, [&](int t, uint64_t i) {
      char block[kBlock];
      std::memset(block, static_cast<int>('a' + i % 26), kBlock);
      const int64_t at = static_cast<int64_t>((i % kPagesPerFile) * kBlock);
      if (!fs->Pwrite(fds[t], block, kBlock, at).ok()) Die("vfs pwrite");
      if (auto r = fs->Fdatasync(fds[t]); !r.ok()) {
        Die(std::string("vfs fdatasync: ") + std::strerror(r.error()));
      }
    });
  }
};

std::string FilesystemType(const std::string& dir) {
  struct statfs st;
  if (::statfs(dir.c_str(), &st) != 0) return "?";
  switch (static_cast<unsigned long>(st.f_type)) {
    case 0xEF53: return "ext4 (or ext2/3)";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "f_type 0x%lx", static_cast<unsigned long>(st.f_type));
      return buf;
    }
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string base;
  double seconds = 3;
  int rounds = 3;
  int syncs = 0;
  std::string only;
  bool floors = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--syncs" && i + 1 < argc) {
      syncs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--floors") {
      floors = true;
    } else if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
      if (only != "host1" && only != "vfs1" && only != "host8" && only != "vfs8") {
        std::fprintf(stderr, "disk_bench: --only takes host1, vfs1, host8 or vfs8, not %s\n",
                     only.c_str());
        return 2;
      }
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: disk_bench [--dir DIR] [--seconds S] [--rounds R] [--syncs N] [--only CASE]\n"
          "                  [--floors]\n"
          "Write 4 KiB + fdatasync per call, through the VFS on the disk store and\n"
          "with pwrite + fdatasync on host files in the same directory, 1 and 8\n"
          "threads, rounds alternating host and VFS; prints medians and the ratios\n"
          "VFS/host at 1 thread (target >= 0.9) and at 8 threads (target >= 1.0).\n"
          "  --dir DIR     where the scratch directory goes (default $TMPDIR or /tmp)\n"
          "  --seconds S   length of each case in each round (default 3)\n"
          "  --rounds R    rounds (default 3)\n"
          "  --syncs N     the store's max_concurrent_syncs (default: the store's)\n"
          "  --only CASE   run one case alone (host1, vfs1, host8, vfs8), for a profiler\n"
          "  --floors      also time one host file written as the store's log is, by 1\n"
          "                and 8 threads, synced per record (fdatasync or RWF_DSYNC)\n");
      return 0;
    } else {
      std::fprintf(stderr, "usage: disk_bench [--dir DIR] [--seconds S] [--rounds R] [--syncs N]"
                           " [--only CASE] [--floors]"
                           " (--help explains)\n");
      return 2;
    }
  }
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  std::string dir = base + "/vfs-disk-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) Die(dir + ": " + std::strerror(errno));
  std::printf("directory %s (%s), %d rounds of %.1f s per case\n", dir.c_str(),
              FilesystemType(dir).c_str(), rounds, seconds);

  constexpr int kThreads = 8;
  HostFiles host(dir, kThreads);
  VfsFiles vfs_files(dir, kThreads, syncs);
  std::vector<double> host1, vfs1, host8, vfs8;
  // Counters of the store over the VFS runs, per thread count.
  struct Counts {
    uint64_t ops = 0, commits = 0, callers = 0, syncs = 0, bytes = 0, extends = 0, in_caller = 0;
    uint64_t compactions = 0, recycled = 0;
  } counts[2];
  auto snapshot = [&] {
    const vfs::DiskStoreCounters& c = *vfs_files.counters;
    return Counts{0, c.commit_syncs.load(), c.commit_callers.load(), c.log_syncs.load(),
                  c.log_bytes.load(), c.extends.load(), c.extends_in_caller.load(),
                  c.compactions.load(), c.recycled_logs.load()};
  };
  auto vfs_run = [&](int threads, Counts* into) {
    const Counts before = snapshot();
    const auto start = Clock::now();
    const double rate = vfs_files.Run(threads, seconds);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const Counts after = snapshot();
    into->ops += static_cast<uint64_t>(rate * elapsed + 0.5);
    into->commits += after.commits - before.commits;
    into->callers += after.callers - before.callers;
    into->syncs += after.syncs - before.syncs;
    into->bytes += after.bytes - before.bytes;
    into->extends += after.extends - before.extends;
    into->in_caller += after.in_caller - before.in_caller;
    into->compactions += after.compactions - before.compactions;
    into->recycled += after.recycled - before.recycled;
    return rate;
  };
  if (!only.empty()) {
    const int threads = only.back() == '1' ? 1 : kThreads;
    double rate = 0;
    if (only.front() == 'h') {
      for (int r = 0; r < rounds; ++r) rate += host.Run(threads, seconds);
    } else {
      for (int r = 0; r < rounds; ++r) rate += vfs_run(threads, &counts[threads == 1 ? 0 : 1]);
    }
    std::printf("%s: %.0f ops/s (mean of %d rounds)\n", only.c_str(), rate / rounds, rounds);
  }
  // The floors' cases, in the same rounds: one file, 1 and 8 threads,
  // fdatasync and RWF_DSYNC.
  std::unique_ptr<LogFloor> floor;
  if (floors && only.empty()) floor = std::make_unique<LogFloor>(dir);
  std::vector<double> floor_rates[4];
  static constexpr const char* kFloorNames[4] = {
      "one file, 1 thread,  pwrite + fdatasync", "one file, 1 thread,  pwritev2 RWF_DSYNC",
      "one file, 8 threads, pwrite + fdatasync", "one file, 8 threads, pwritev2 RWF_DSYNC"};
  for (int r = 0; only.empty() && r < rounds; ++r) {
    host1.push_back(host.Run(1, seconds));
    vfs1.push_back(vfs_run(1, &counts[0]));
    host8.push_back(host.Run(kThreads, seconds));
    vfs8.push_back(vfs_run(kThreads, &counts[1]));
    std::printf("round %d: host 1t %.0f/s, vfs 1t %.0f/s, host 8t %.0f/s, vfs 8t %.0f/s\n", r + 1,
                host1.back(), vfs1.back(), host8.back(), vfs8.back());
    for (int f = 0; floor != nullptr && f < 4; ++f) {
      floor_rates[f].push_back(floor->Run(f < 2 ? 1 : kThreads, seconds, f % 2 == 1));
    }
  }
  auto cleanup = [&] {
    floor.reset();
    vfs_files.fs.reset();
    vfs_files.store.reset();
    std::error_code ignored;  // best effort cleanup of the scratch directory
    std::filesystem::remove_all(dir, ignored);
  };
  if (!only.empty()) {
    cleanup();
    return 0;
  }
  const double h1 = Median(host1), v1 = Median(vfs1), h8 = Median(host8), v8 = Median(vfs8);
  std::printf("\nwrite 4 KiB + fdatasync, median of %d rounds (ops/s):\n", rounds);
  std::printf("  host pwrite+fdatasync, 1 thread : %8.0f\n", h1);
  std::printf("  vfs on disk store,     1 thread : %8.0f   ratio vfs/host = %.2f (target >= 0.90)\n",
              v1, v1 / h1);
  std::printf("  host pwrite+fdatasync, 8 threads: %8.0f\n", h8);
  std::printf("  vfs on disk store,     8 threads: %8.0f   ratio vfs/host = %.2f (target >= 1.00)\n",
              v8, v8 / h8);
  std::printf("  vfs 8 threads / vfs 1 thread: %.2f\n", v8 / v1);
  for (int i = 0; i < 2; ++i) {
    const Counts& c = counts[i];
    const double ops = c.ops == 0 ? 1.0 : static_cast<double>(c.ops);
    std::printf(
        "  store, %d thread%s (all rounds): %.2f callers per group commit, %.2f log fdatasyncs "
        "per call, %.0f log bytes per call, %llu zero-fill steps (%llu in a caller), %llu "
        "compactions (%llu new logs in a recycled file)\n",
        i == 0 ? 1 : kThreads, i == 0 ? "" : "s",
        c.commits == 0 ? 0.0 : static_cast<double>(c.callers) / static_cast<double>(c.commits),
        static_cast<double>(c.syncs) / ops, static_cast<double>(c.bytes) / ops,
        static_cast<unsigned long long>(c.extends), static_cast<unsigned long long>(c.in_caller),
        static_cast<unsigned long long>(c.compactions),
        static_cast<unsigned long long>(c.recycled));
  }
  if (floor != nullptr) {
    std::printf("\nthe log's floor: %zu-byte records synced one by one, median of %d rounds "
                "(ops/s):\n", LogFloor::kRecord, rounds);
    for (int f = 0; f < 4; ++f) {
      const double rate = Median(floor_rates[f]);
      std::printf("  %s: %8.0f   of host %d thread%s: %.2f\n", kFloorNames[f], rate,
                  f < 2 ? 1 : kThreads, f < 2 ? "" : "s", rate / (f < 2 ? h1 : h8));
    }
  }
  cleanup();
  return 0;
}
