// vfs: the command-line tool.
//
//   vfs demo [--page-size N] [--volatile-cache]
//       Runs each durability call on a memory store, cuts the power, mounts
//       the store again and prints what survived, next to what the rules of
//       docs/semantics.md say must survive. Exits non-zero if any scenario
//       does not match.
//
//   vfs bench [--job FILE | --fio FILE] [--output table|json|csv|fio-json] [--matrix DIR] [key=value ...]
//       Runs a write workload with a sync strategy on the VFS (memory, disk
//       or fault store) or the host kernel, and reports throughput, latency
//       percentiles and store counters (tools/bench/, docs/benchmarks.md).
//
//   vfs mount [--backend B] [--profile P] [--control SOCKET] MOUNTPOINT
//   vfs ctl SOCKET COMMAND...
//       Serves the VFS through FUSE, and controls it at run time: crash now,
//       fault rules, counters, the dirty state (tools/mount/, docs/mount.md).
#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "backends/memory/memory_store.h"
#include "tools/bench/command.h"
#include "tools/crash_command.h"
#ifdef VFS_HAVE_MOUNT
#include "tools/mount/mount_command.h"
#endif
#include "vfs/filesystem.h"
#include "vfs/version.h"

namespace {

using vfs::Fd;
using vfs::Filesystem;

struct Scenario {
  const char* name;
  const char* calls;     // what the workload does
  const char* expected;  // what must be read back after the crash
  std::function<void(Filesystem&)> run;
  std::function<std::string(Filesystem&)> observe;
};

// Aborts the demo with a message if a call fails: the scenarios only use
// calls that must succeed.
template <typename T>
T Must(vfs::Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "vfs demo: %s failed: %s\n", what, std::strerror(r.error()));
    std::exit(2);
  }
  return std::move(r).value();
}
void Must(vfs::Result<void> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "vfs demo: %s failed: %s\n", what, std::strerror(r.error()));
    std::exit(2);
  }
}

void Put(Filesystem& fs, Fd fd, int64_t offset, const std::string& data) {
  Must(fs.Pwrite(fd, data.data(), data.size(), offset), "pwrite");
}

std::string Contents(Filesystem& fs, const char* path) {
  auto fd = fs.Open(path, O_RDONLY);
  if (!fd.ok()) return fd.error() == ENOENT ? "(no such file)" : std::strerror(fd.error());
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = fs.Read(*fd, buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
  }
  (void)fs.Close(*fd);
  return "\"" + out + "\"";
}

void FsyncDir(Filesystem& fs, const char* path) {
  Fd dir = Must(fs.Open(path, O_RDONLY | O_DIRECTORY), "open dir");
  Must(fs.Fsync(dir), "fsync dir");
  Must(fs.Close(dir), "close");
}

// A durable file "/f" holding `data`, the starting point of most scenarios.
Fd DurableFile(Filesystem& fs, const std::string& data) {
  Fd fd = Must(fs.Open("/f", O_RDWR | O_CREAT, 0644), "open");
  Put(fs, fd, 0, data);
  Must(fs.Fsync(fd), "fsync");
  FsyncDir(fs, "/");
  return fd;
}

std::vector<Scenario> Scenarios(bool volatile_cache) {
  auto file_f = [](Filesystem& fs) { return Contents(fs, "/f"); };
  std::vector<Scenario> list;
  list.push_back({"no sync", "create /f, write \"data\"", "(no such file)",
                  [](Filesystem& fs) {
                    Fd fd = Must(fs.Open("/f", O_RDWR | O_CREAT, 0644), "open");
                    Put(fs, fd, 0, "data");
                  },
                  file_f});
  list.push_back({"fsync file only (D3)", "create /f, write, fsync(/f)", "(no such file)",
                  [](Filesystem& fs) {
                    Fd fd = Must(fs.Open("/f", O_RDWR | O_CREAT, 0644), "open");
                    Put(fs, fd, 0, "data");
                    Must(fs.Fsync(fd), "fsync");
                  },
                  file_f});
  list.push_back({"fsync file and dir (D1, D3)", "create /f, write, fsync(/f), fsync(/)",
                  "\"data\"",
                  [](Filesystem& fs) { DurableFile(fs, "data"); }, file_f});
  // The mtime /f had when it became durable, for the fdatasync scenario.
  auto durable_mtime = std::make_shared<vfs::Timespec>();
  list.push_back({"fdatasync (D2)", "durable /f; append \"+more\"; fdatasync(/f)",
                  "\"data+more\", mtime as before",
                  [durable_mtime](Filesystem& fs) {
                    Fd fd = DurableFile(fs, "data");
                    *durable_mtime = Must(fs.Fstat(fd), "fstat").mtime;
                    Put(fs, fd, 4, "+more");
                    Must(fs.Fdatasync(fd), "fdatasync");
                  },
                  [durable_mtime](Filesystem& fs) {
                    auto st = fs.Stat("/f");
                    std::string mtime = st.ok() && st->mtime == *durable_mtime ? "mtime as before"
                                                                               : "mtime changed";
                    return Contents(fs, "/f") + ", " + mtime;
                  }});
  list.push_back({"sync_file_range WRITE only (S2)",
                  "durable /f \"data\"; overwrite \"DATA\"; sync_file_range(WRITE)", "\"data\"",
                  [](Filesystem& fs) {
                    Fd fd = DurableFile(fs, "data");
                    Put(fs, fd, 0, "DATA");
                    Must(fs.SyncFileRange(fd, 0, 0, vfs::kSyncFileRangeWrite), "sync_file_range");
                  },
                  file_f});
  // C7: sync_file_range never flushes a volatile store cache.
  list.push_back({volatile_cache ? "sync_file_range overwrite, volatile cache (C7)"
                                 : "sync_file_range overwrite (D5, S4)",
                  "durable /f \"data\"; overwrite \"DATA\"; sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER)",
                  volatile_cache ? "\"data\"" : "\"DATA\"",
                  [](Filesystem& fs) {
                    Fd fd = DurableFile(fs, "data");
                    Put(fs, fd, 0, "DATA");
                    Must(fs.SyncFileRange(fd, 0, 0, 7), "sync_file_range");
                  },
                  file_f});
  list.push_back({"sync_file_range append (D5)",
                  "durable /f \"data\"; append \"+more\"; sync_file_range(7)", "\"data\"",
                  [](Filesystem& fs) {
                    Fd fd = DurableFile(fs, "data");
                    Put(fs, fd, 4, "+more");
                    Must(fs.SyncFileRange(fd, 0, 0, 7), "sync_file_range");
                  },
                  file_f});
  list.push_back({"O_DSYNC write (O1)", "durable /f; open O_DSYNC; append \"+more\"",
                  "\"data+more\"",
                  [](Filesystem& fs) {
                    DurableFile(fs, "data");
                    Fd fd = Must(fs.Open("/f", O_WRONLY | O_APPEND | O_DSYNC), "open");
                    Must(fs.Write(fd, "+more", 5), "write");
                  },
                  file_f});
  list.push_back({"fsync_range O_DSYNC (D6)",
                  "durable 8 KiB /f; dirty pages 0 and 1; fsync_range(O_DSYNC, 0, 4096)",
                  "page 0 new, page 1 old",
                  [](Filesystem& fs) {
                    Fd fd = DurableFile(fs, std::string(8192, 'o'));
                    Put(fs, fd, 0, "N");
                    Put(fs, fd, 4096, "N");
                    Must(fs.FsyncRange(fd, vfs::kFsyncRangeDataSync, 0, 4096), "fsync_range");
                  },
                  [](Filesystem& fs) {
                    std::string c = Contents(fs, "/f");
                    if (c.size() < 8194) return c;
                    return std::string("page 0 ") + (c[1] == 'N' ? "new" : "old") + ", page 1 " +
                           (c[4097] == 'N' ? "new" : "old");
                  }});
  list.push_back({"replace by rename, no fsync (D3)",
                  "durable /f \"old\"; write /t \"new\"; rename /t -> /f; fsync(/)",
                  "\"\" (new name, data never synced)",
                  [](Filesystem& fs) {
                    DurableFile(fs, "old");
                    Fd t = Must(fs.Open("/t", O_WRONLY | O_CREAT, 0644), "open");
                    Put(fs, t, 0, "new");
                    Must(fs.Rename("/t", "/f"), "rename");
                    FsyncDir(fs, "/");
                  },
                  [](Filesystem& fs) {
                    std::string c = Contents(fs, "/f");
                    return c == "\"\"" ? "\"\" (new name, data never synced)" : c;
                  }});
  list.push_back({"replace by rename, with fsync (D1, D3)",
                  "durable /f \"old\"; write /t \"new\"; fsync(/t); rename; fsync(/)", "\"new\"",
                  [](Filesystem& fs) {
                    DurableFile(fs, "old");
                    Fd t = Must(fs.Open("/t", O_WRONLY | O_CREAT, 0644), "open");
                    Put(fs, t, 0, "new");
                    Must(fs.Fsync(t), "fsync");
                    Must(fs.Rename("/t", "/f"), "rename");
                    FsyncDir(fs, "/");
                  },
                  file_f});
  return list;
}

constexpr char kDemoUsage[] =
    "usage: vfs demo [--page-size BYTES] [--volatile-cache]\n"
    "  runs each durability call on a memory store, cuts the power, mounts the store\n"
    "  again and prints what survived next to what the rules say must survive;\n"
    "  exit 0 if every scenario matches\n"
    "  --page-size BYTES   a power of two from 512 to 65536 (default 4096)\n"
    "  --volatile-cache    the store has a volatile write cache\n";

int DemoUsage(const std::string& why) {
  std::fprintf(stderr, "vfs demo: %s (vfs demo --help shows the usage)\n", why.c_str());
  return 2;
}

int Demo(int argc, char** argv) {
  vfs::Options options;
  vfs::MemoryStoreOptions store_options;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kDemoUsage, stdout);
      return 0;
    } else if (arg == "--page-size") {
      uint32_t n = 0;
      if (i + 1 >= argc) return DemoUsage("--page-size needs a value");
      const std::string v = argv[++i];
      if (!absl::SimpleAtoi(v, &n) || n < 512 || n > 65536 || (n & (n - 1)) != 0) {
        return DemoUsage("--page-size " + v + ": must be a power of two from 512 to 65536");
      }
      options.page_size = n;
    } else if (arg == "--volatile-cache") {
      store_options.volatile_cache = true;
    } else {
      return DemoUsage("unknown argument '" + arg + "'");
    }
  }
  std::printf("Each scenario runs on a fresh memory store%s, then the power is cut\n"
              "(Filesystem::Crash) and the store is mounted again.\n\n",
              store_options.volatile_cache ? " with a volatile write cache" : "");
  int mismatches = 0;
  for (const Scenario& s : Scenarios(store_options.volatile_cache)) {
    auto store = vfs::NewMemoryStore(store_options);
    // A clock that ticks one second per reading, so timestamps are exact.
    auto clock_now = std::make_shared<int64_t>(1000000);
    options.clock = [clock_now] { return vfs::Timespec{++*clock_now, 0}; };
    auto mounted = Filesystem::Mount(store, options);
    if (!mounted.ok()) {
      std::fprintf(stderr, "vfs demo: mount failed: %s\n", std::strerror(mounted.error()));
      return 2;
    }
    auto fs = std::move(mounted).value();
    s.run(*fs);
    fs->Crash();
    auto after = Must(Filesystem::Mount(store, options), "remount");
    const std::string seen = s.observe(*after);
    const bool match = seen == s.expected;
    mismatches += match ? 0 : 1;
    std::printf("[%s] %s\n      calls:    %s\n      survived: %s\n", match ? "ok" : "MISMATCH",
                s.name, s.calls, seen.c_str());
    if (!match) std::printf("      expected: %s\n", s.expected);
  }
  std::printf("\n%d scenario(s) differ from the rules.\n", mismatches);
  return mismatches == 0 ? 0 : 1;
}

}  // namespace

constexpr char kUsage[] =
    "usage: vfs demo [--page-size N] [--volatile-cache]\n"
    "  runs every durability call on a memory store, crashes, and prints what survived\n"
    "usage: vfs bench [--job FILE | --fio FILE] [--output table|json|csv|fio-json] [--matrix DIR] [key=value ...]\n"
    "  measures sync strategies on the VFS and the host kernel (vfs bench --help)\n"
    "usage: vfs crash SCRIPT [--profile P] [--points P] [--shard I/N] [--replay NAME] ...\n"
    "  crashes a workload script at every point and checks every crash state\n"
#ifdef VFS_HAVE_MOUNT
    "usage: vfs mount [--backend B] [--profile P] [--control SOCKET] MOUNTPOINT\n"
    "  serves the VFS through FUSE (vfs mount --help)\n"
    "usage: vfs ctl SOCKET crash|fault ...|clear|sync|stats|dirty|help\n"
    "  controls a running mount\n"
#endif
    "usage: vfs --version\n"
    "  prints the version\n"
    "Each command answers --help with its own usage.\n";

namespace {
int Run(int argc, char** argv);
}  // namespace

// Output is flushed before main returns: a leak check at exit (LeakSanitizer)
// ends the process with _exit, which would drop a report still in stdio's
// buffer when stdout is a pipe.
int main(int argc, char** argv) {
  const int status = Run(argc, argv);
  std::cout.flush();
  std::fflush(nullptr);
  return status;
}

namespace {
int Run(int argc, char** argv) {
  // `vfs --version`: vfs/version.h, the version the library was built as.
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("vfs %s\n", VFS_VERSION_STRING);
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "demo") == 0) return Demo(argc - 2, argv + 2);
  if (argc >= 2 && std::strcmp(argv[1], "bench") == 0) return vfs::bench::BenchMain(argc - 2, argv + 2);
  if (argc >= 2 && std::strcmp(argv[1], "crash") == 0) return vfs::CrashCommand(argc - 2, argv + 2);
#ifdef VFS_HAVE_MOUNT
  if (argc >= 2 && std::strcmp(argv[1], "mount") == 0) return vfs::MountCommand(argc - 2, argv + 2);
  if (argc >= 2 && std::strcmp(argv[1], "ctl") == 0) return vfs::CtlCommand(argc - 2, argv + 2);
#endif
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
                    std::strcmp(argv[1], "help") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc >= 2) {
    std::fprintf(stderr, "vfs: unknown command '%s': use demo, bench, crash%s (vfs --help)\n", argv[1],
#ifdef VFS_HAVE_MOUNT
                 ", mount or ctl"
#else
                 ""
#endif
    );
    return 2;
  }
  std::fputs(kUsage, stderr);
  return 2;
}
}  // namespace
