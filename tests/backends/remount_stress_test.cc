// Many threads on one filesystem, then the whole tree compared with what a
// new mount of the same store shows (issue 17, finding 1): after a clean
// unmount, and after sync + a power cut. Every store: memory, disk, and the
// fault store (with no rules) over memory.
//
// The workload is what found the bug: create with O_TRUNC + write, pwrite,
// rename of files and directories (some RENAME_EXCHANGE), truncate, mkdir,
// unlink, and a few fsync/fdatasync calls. Errors from the race itself
// (ENOENT, EEXIST, ENOTEMPTY, EINVAL for a directory moved into itself) are
// expected and ignored; what is compared is the tree the filesystem shows
// before unmount against the tree the next mount shows.
//
// Duration: VFS_STRESS_SECONDS per run (default 1 s, so the suite takes
// about 10 s on CI); VFS_STRESS_THREADS threads (default 16);
// VFS_STRESS_SEED fixes the seed (printed either way).
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/disk/disk_store.h"
#include "backends/fault/fault_store.h"
#include "backends/memory/memory_store.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"
#include "vfs/filesystem.h"

namespace vfs {
namespace {

double EnvDouble(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atof(v) : fallback;
}

uint64_t Seed() {
  const char* v = std::getenv("VFS_STRESS_SEED");
  if (v != nullptr && *v != '\0') return std::strtoull(v, nullptr, 0);
  return std::random_device{}();
}

// What one path shows: its type, and for a file its size and bytes, for a
// symlink its target.
struct Node {
  uint32_t type = 0;
  uint64_t size = 0;
  uint64_t hash = 0;
  std::string pages;  // per 4 KiB block: 'z' all zeros, else a letter of its hash
  friend bool operator==(const Node&, const Node&) = default;
};
using Tree = std::map<std::string, Node>;

uint64_t Fnv(const char* p, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

// Walks the whole tree: every directory listed and every entry stat'ed
// here; the files are then read and hashed by `threads` threads at once
// (so a remounted store serves many lazy page reads together). Fails the
// test on any error: a tree at rest reads without one.
void Walk(Filesystem& fs, const std::string& dir, Tree* out, std::vector<std::string>* files) {
  auto fd = fs.Open(dir.empty() ? "/" : dir, O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(fd.ok()) << dir << ": " << strerror(fd.error());
  auto entries = fs.ReadDir(*fd);
  ASSERT_TRUE(entries.ok()) << dir << ": " << strerror(entries.error());
  ASSERT_TRUE(fs.Close(*fd).ok());
  for (const DirEntry& e : *entries) {
    if (e.name == "." || e.name == "..") continue;
    const std::string path = dir + "/" + e.name;
    auto st = fs.Lstat(path);
    ASSERT_TRUE(st.ok()) << path << ": " << strerror(st.error());
    Node node;
    node.type = st->mode & S_IFMT;
    if (S_ISDIR(st->mode)) {
      (*out)[path] = node;
      Walk(fs, path, out, files);
      continue;
    }
    node.size = st->size;
    (*out)[path] = node;
    if (S_ISREG(st->mode)) files->push_back(path);
  }
}

// The bytes of `path`, hashed; their count in *total.
uint64_t HashFile(Filesystem& fs, const std::string& path, uint64_t* total, int* err,
                  std::string* pages) {
  uint64_t h = 1469598103934665603ull;
  *total = 0;
  auto f = fs.Open(path, O_RDONLY);
  if (!f.ok()) {
    *err = f.error();
    return 0;
  }
  char buf[4096];
  for (;;) {
    auto n = fs.Read(*f, buf, sizeof buf);
    if (!n.ok()) {
      *err = n.error();
      break;
    }
    if (*n == 0) break;
    h = Fnv(buf, *n, h);
    *total += *n;
    const bool zeros = std::all_of(buf, buf + *n, [](char c) { return c == 0; });
    pages->push_back(zeros ? 'z' : static_cast<char>('A' + Fnv(buf, *n, 0) % 26));
  }
  (void)fs.Close(*f);
  return h;
}

Tree TreeOf(Filesystem& fs, int threads) {
  Tree tree;
  std::vector<std::string> files;
  Walk(fs, "", &tree, &files);
  std::atomic<size_t> next{0};
  std::vector<std::thread> readers;
  std::vector<std::string> errors(threads);
  std::vector<std::vector<std::pair<std::string, uint64_t>>> hashes(threads);
  std::vector<std::vector<std::string>> page_maps(threads);
  for (int t = 0; t < threads; ++t) {
    readers.emplace_back([&, t] {
      for (size_t i; (i = next.fetch_add(1)) < files.size();) {
        uint64_t total = 0;
        int err = 0;
        std::string pages;
        const uint64_t h = HashFile(fs, files[i], &total, &err, &pages);
        if (err != 0 && errors[t].empty()) errors[t] = files[i] + ": " + strerror(err);
        hashes[t].emplace_back(files[i], h);
        page_maps[t].emplace_back(std::move(pages));
        if (total != tree.at(files[i]).size && errors[t].empty()) {
          errors[t] = files[i] + ": read " + std::to_string(total) + " bytes of " +
                      std::to_string(tree.at(files[i]).size);
        }
      }
    });
  }
  for (auto& reader : readers) reader.join();
  for (int t = 0; t < threads; ++t) {
    EXPECT_EQ(errors[t], "");
    for (size_t i = 0; i < hashes[t].size(); ++i) {
      tree[hashes[t][i].first].hash = hashes[t][i].second;
      tree[hashes[t][i].first].pages = page_maps[t][i];
    }
  }
  return tree;
}

// A readable list of the differences, at most `max` of them.
std::string Diff(const Tree& before, const Tree& after, size_t max = 20) {
  std::string out;
  size_t n = 0;
  auto note = [&](const std::string& line) {
    if (n++ < max) out += line + "\n";
  };
  auto show = [](const Node& node) {
    return "type " + std::to_string(node.type >> 12) + " size " + std::to_string(node.size) +
           " pages " + node.pages;
  };
  for (const auto& [path, node] : before) {
    auto it = after.find(path);
    if (it == after.end()) {
      note("missing after: " + path + " (" + show(node) + ")");
    } else if (!(it->second == node)) {
      note("differs: " + path + " before (" + show(node) + ") after (" + show(it->second) + ")");
    }
  }
  for (const auto& [path, node] : after) {
    if (!before.contains(path)) note("new after: " + path + " (" + show(node) + ")");
  }
  if (n > max) out += "... " + std::to_string(n - max) + " more\n";
  return out;
}

struct Workload {
  int threads = 16;
  double seconds = 1.0;
  uint64_t seed = 0;
  int names = 48;  // file names per directory
};

// The contents written at `offset`: bytes that depend on the thread, the
// operation and the offset, so a page from elsewhere shows as a difference.
std::string Pattern(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  const uint64_t base = rng();
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (base + i * 7 + (i >> 9)) % 26);
  return s;
}

// Runs the workload; returns the number of operations done.
uint64_t RunWorkload(Filesystem& fs, const Workload& w) {
  constexpr int kDirs = 6;
  const int kNames = w.names;
  for (int d = 0; d < kDirs; ++d) (void)fs.Mkdir("/d" + std::to_string(d), 0755);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0};
  std::barrier start(w.threads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < w.threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(w.seed * 1000003 + t);
      auto pick = [&](int n) { return static_cast<int>(rng() % n); };
      // A path of a file or a directory: /dN/xM or /dN/sK/xM (sK: a
      // subdirectory that renames move around).
      auto path = [&](char kind) {
        std::string p = "/d" + std::to_string(pick(kDirs));
        if (pick(3) == 0) p += "/s" + std::to_string(pick(4));
        return p + "/" + kind + std::to_string(pick(kNames));
      };
      start.arrive_and_wait();
      uint64_t done = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const int op = pick(100);
        if (op < 30) {  // create + O_TRUNC + write
          auto fd = fs.Open(path('f'), O_WRONLY | O_CREAT | O_TRUNC, 0644);
          if (fd.ok()) {
            const std::string data = Pattern(rng, 1 + pick(3 * 4096 + 100));
            (void)fs.Write(*fd, data.data(), data.size());
            (void)fs.Close(*fd);
          }
        } else if (op < 50) {  // pwrite
          auto fd = fs.Open(path('f'), O_WRONLY);
          if (fd.ok()) {
            const std::string data = Pattern(rng, 1 + pick(5000));
            (void)fs.Pwrite(*fd, data.data(), data.size(), pick(4 * 4096));
            if (pick(40) == 0) (void)(pick(2) ? fs.Fsync(*fd) : fs.Fdatasync(*fd));
            (void)fs.Close(*fd);
          }
        } else if (op < 62) {  // rename a file, maybe over another
          (void)fs.Rename(path('f'), path('f'), pick(8) == 0 ? kRenameExchange : 0);
        } else if (op < 70) {  // rename a directory, or exchange two
          const std::string a = "/d" + std::to_string(pick(kDirs)) + "/s" + std::to_string(pick(4));
          const std::string b = "/d" + std::to_string(pick(kDirs)) + "/s" + std::to_string(pick(4));
          (void)fs.Rename(a, b, pick(2) == 0 ? kRenameExchange : 0);
        } else if (op < 80) {  // truncate
          (void)fs.Truncate(path('f'), pick(3 * 4096 + 10));
        } else if (op < 87) {  // mkdir
          (void)fs.Mkdir("/d" + std::to_string(pick(kDirs)) + "/s" + std::to_string(pick(4)), 0755);
        } else if (op < 92) {  // unlink
          (void)fs.Unlink(path('f'));
        } else {  // append
          auto fd = fs.Open(path('f'), O_WRONLY | O_APPEND | O_CREAT, 0644);
          if (fd.ok()) {
            const std::string data = Pattern(rng, 1 + pick(700));
            (void)fs.Write(*fd, data.data(), data.size());
            (void)fs.Close(*fd);
          }
        }
        ++done;
      }
      ops.fetch_add(done);
    });
  }
  start.arrive_and_wait();
  // The run's length is a duration, not synchronisation: the threads are
  // joined before anything is compared.
  std::this_thread::sleep_for(std::chrono::duration<double>(w.seconds));
  stop = true;
  for (auto& thread : threads) thread.join();
  return ops.load();
}

enum class StoreKind { kMemory, kDisk, kDiskSmallLog, kFault };

std::string KindName(StoreKind kind) {
  switch (kind) {
    case StoreKind::kMemory: return "Memory";
    case StoreKind::kDisk: return "Disk";
    case StoreKind::kDiskSmallLog: return "DiskCompacting";
    case StoreKind::kFault: return "Fault";
  }
  return "?";
}

// The store under test. A disk store is opened again from its directory for
// the second mount, as a new process would: the second mount then sees what
// recovery reads from the files, not the store's memory.
class StoreUnderTest {
 public:
  explicit StoreUnderTest(StoreKind kind) : kind_(kind) {
    if (kind == StoreKind::kMemory) {
      store_ = NewMemoryStore(MemoryStoreOptions{});
    } else if (kind == StoreKind::kFault) {
      FaultStoreOptions options;
      options.record = false;
      store_ = NewFaultStore(NewMemoryStore(MemoryStoreOptions{}), options);
    } else {
      const char* tmp = std::getenv("TMPDIR");
      dir_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vfs-stress-XXXXXX";
      if (::mkdtemp(dir_.data()) == nullptr) {
        ADD_FAILURE() << "mkdtemp: " << strerror(errno);
        dir_.clear();
        return;
      }
      Reopen();
    }
  }
  ~StoreUnderTest() {
    store_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  std::shared_ptr<Store> store() const { return store_; }

  // A disk store: closed and opened again from its directory.
  void Reopen() {
    if (dir_.empty()) return;
    store_.reset();
    DiskStoreOptions options;
    if (kind_ == StoreKind::kDiskSmallLog) {
      // Compaction as often as it allows, so it races with the workload.
      options.compaction_min_log_bytes = 1;
      options.compaction_ratio = 1;
      options.log_extend_bytes = 64 << 10;
    }
    std::string why;
    auto opened = OpenDiskStore(dir_, options, &why);
    ASSERT_TRUE(opened.ok()) << why;
    store_ = *std::move(opened);
  }

 private:
  StoreKind kind_;
  std::string dir_;
  std::shared_ptr<Store> store_;
};

class RemountStressTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    workload_.threads = static_cast<int>(EnvDouble("VFS_STRESS_THREADS", 16));
    workload_.seconds = EnvDouble("VFS_STRESS_SECONDS", 1.0);
    workload_.seed = Seed();
    workload_.names = static_cast<int>(EnvDouble("VFS_STRESS_NAMES", 48));
    std::printf("seed %llu (VFS_STRESS_SEED), %d threads, %.1f s, %d names\n",
                static_cast<unsigned long long>(workload_.seed), workload_.threads,
                workload_.seconds, workload_.names);
    store_ = std::make_unique<StoreUnderTest>(GetParam());
    ASSERT_NE(store_->store(), nullptr);
  }
  Workload workload_;
  std::unique_ptr<StoreUnderTest> store_;
};

TEST_P(RemountStressTest, TreeAfterUnmountAndMountEqualsTreeBefore) {
  auto fs = Filesystem::Mount(store_->store(), {});
  ASSERT_TRUE(fs.ok()) << strerror(fs.error());
  const uint64_t ops = RunWorkload(**fs, workload_);
  const Tree before = TreeOf(**fs, workload_.threads);
  std::printf("%llu operations, %zu paths\n", static_cast<unsigned long long>(ops), before.size());
  ASSERT_TRUE((*fs)->Unmount().ok());
  fs->reset();
  store_->Reopen();
  auto again = Filesystem::Mount(store_->store(), {});
  ASSERT_TRUE(again.ok()) << strerror(again.error());
  const Tree after = TreeOf(**again, static_cast<int>(EnvDouble("VFS_STRESS_READERS", workload_.threads)));
  EXPECT_TRUE(before == after) << "seed " << workload_.seed << "\n" << Diff(before, after);
}

TEST_P(RemountStressTest, TreeAfterSyncAndCrashEqualsTreeBefore) {
  auto fs = Filesystem::Mount(store_->store(), {});
  ASSERT_TRUE(fs.ok()) << strerror(fs.error());
  const uint64_t ops = RunWorkload(**fs, workload_);
  (*fs)->Sync();
  const Tree before = TreeOf(**fs, workload_.threads);
  std::printf("%llu operations, %zu paths\n", static_cast<unsigned long long>(ops), before.size());
  (*fs)->Crash();
  fs->reset();
  store_->Reopen();
  auto again = Filesystem::Mount(store_->store(), {});
  ASSERT_TRUE(again.ok()) << strerror(again.error());
  const Tree after = TreeOf(**again, static_cast<int>(EnvDouble("VFS_STRESS_READERS", workload_.threads)));
  EXPECT_TRUE(before == after) << "seed " << workload_.seed << "\n" << Diff(before, after);
}

INSTANTIATE_TEST_SUITE_P(AllStores, RemountStressTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kDisk,
                                           StoreKind::kDiskSmallLog, StoreKind::kFault),
                         [](const auto& info) { return KindName(info.param); });

}  // namespace
}  // namespace vfs
