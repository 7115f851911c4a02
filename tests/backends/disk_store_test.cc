// The disk store (backends/disk, docs/formats.md): its format round trip,
// reopening, refusing what is not a store of this version, the directory
// lock, corruption and torn tails, host errors reaching the VFS as write-back
// errors (W1-W5), a full disk, compaction (and a crash at each of its steps),
// group commit, and pages read back from disk.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "backends/disk/disk_store.h"
#include "backends/disk/log_format.h"
#include "backends/disk/store_state.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

namespace fs = std::filesystem;

// A scratch directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vfs-disk-test-XXXXXX";
    if (::mkdtemp(path_.data()) == nullptr) ADD_FAILURE() << "mkdtemp: " << strerror(errno);
  }
  ~TempDir() {
    std::error_code ignored;  // best effort
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Offsets of the valid frames of a log file, in order.
std::vector<uint64_t> FrameOffsets(const std::string& path) {
  const std::string log = Slurp(path);
  std::vector<uint64_t> offsets;
  uint64_t at = disk::kLogHeaderSize;
  while (at + disk::kFrameHeaderSize <= log.size()) {
    auto header = disk::PeekFrameHeader(std::string_view(log).substr(at));
    if (!header) break;
    offsets.push_back(at);
    at += disk::FrameSpan(header->payload_size);
  }
  return offsets;
}

class DiskStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { options_.clock = TickingClock(); }

  std::shared_ptr<Store> OpenOrDie(DiskStoreOptions store_options = {}) {
    std::string why;
    auto store = OpenDiskStore(dir_.path(), std::move(store_options), &why);
    EXPECT_TRUE(store.ok()) << why;
    return store.ok() ? *store : nullptr;
  }

  std::unique_ptr<Filesystem> MountOrDie(std::shared_ptr<Store> store) {
    auto mounted = Filesystem::Mount(std::move(store), options_);
    EXPECT_TRUE(mounted.ok()) << strerror(mounted.error());
    return mounted.ok() ? std::move(mounted).value() : nullptr;
  }

  // Files /f0 .. /f<n-1>, one page each, durable with their names, open
  // read-write (the group-commit tests' starting point).
  static std::vector<Fd> OpenDurableFiles(Filesystem& fs, int n) {
    std::vector<Fd> fds;
    for (int t = 0; t < n; ++t) {
      const std::string path = "/f" + std::to_string(t);
      MakeDurable(fs, path, Fill('0', kPage));
      auto fd = fs.Open(path, O_RDWR);
      EXPECT_TRUE(fd.ok()) << path;
      if (fd.ok()) fds.push_back(*fd);
    }
    return fds;
  }


 public:
  // Creates `path` with `data`, durable with its name (D1 + D3).
  static void MakeDurable(Filesystem& fs, const std::string& path, const std::string& data) {
    auto fd = fs.Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_TRUE(fd.ok()) << strerror(fd.error());
    ASSERT_OK(fs.Pwrite(*fd, data.data(), data.size(), 0));
    ASSERT_OK(fs.Fsync(*fd));
    ASSERT_OK(fs.Close(*fd));
    auto root = fs.Open("/", O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(root.ok());
    ASSERT_OK(fs.Fsync(*root));
    ASSERT_OK(fs.Close(*root));
  }

  static std::string Read(Filesystem& fs, const std::string& path) {
    auto fd = fs.Open(path, O_RDONLY);
    if (!fd.ok()) return "<errno " + std::to_string(fd.error()) + ">";
    std::string out;
    char buf[65536];
    for (;;) {
      auto n = fs.Read(*fd, buf, sizeof buf);
      if (!n.ok()) return "<read errno " + std::to_string(n.error()) + ">";
      if (*n == 0) break;
      out.append(buf, *n);
    }
    (void)fs.Close(*fd);
    return out;
  }

 protected:
  TempDir dir_;
  Options options_;
};

// ---- Format ----

// Every request type survives encoding and decoding unchanged.
TEST(DiskFormatTest, RecordsRoundTrip) {
  PageRef page = PageBuffer::Allocate(4096);
  std::memset(page->data(), 'p', 4096);
  InodeRecord record;
  record.ino = InodeId(7);
  record.mode = S_IFLNK | 0777;
  record.uid = 11;
  record.gid = 12;
  record.size = 123456789;
  record.atime = {1, 2};
  record.mtime = {3, 4};
  record.ctime = {5, 6};
  record.symlink_target = "target/of/link";
  const std::vector<Request> requests = {
      PutSuperblock{4096},
      PutPage{InodeId(7), PageIndex(9), page, 42},
      PutInode{record, true},
      PutDirent{InodeId(1), "name with spaces", InodeId(7)},
      DelDirent{InodeId(1), "gone"},
      Truncate{InodeId(7), 5000, 43},
      FreeInode{InodeId(8)},
  };
  std::string payload;
  uint64_t page_at = 0;
  uint32_t page_crc = 0;
  for (const Request& r : requests) {
    uint32_t crc = 0;
    const uint64_t at = disk::EncodeRequest(r, &payload, &crc);
    if (std::holds_alternative<PutPage>(r)) {
      page_at = at;
      page_crc = crc;
    }
  }
  disk::EncodeForgetUnmapped(&payload);
  std::vector<disk::Record> decoded;
  uint64_t bad_at = 0;
  ASSERT_TRUE(disk::DecodeRecords(payload, disk::LogFileId(3), 1000, &bad_at,
                                  [&](disk::Record r) { decoded.push_back(std::move(r)); }));
  ASSERT_EQ(decoded.size(), 8u);
  EXPECT_EQ(std::get<PutSuperblock>(decoded[0]).page_size, 4096u);
  const auto& p = std::get<disk::PageRecord>(decoded[1]);
  EXPECT_EQ(p.ino, InodeId(7));
  EXPECT_EQ(p.index, PageIndex(9));
  EXPECT_EQ(p.generation, 42u);
  EXPECT_EQ(p.loc.file, disk::LogFileId(3));
  EXPECT_EQ(p.loc.offset, 1000 + page_at);
  EXPECT_EQ(p.loc.size, 4096u);
  EXPECT_EQ(p.loc.crc, page_crc);
  EXPECT_EQ(std::get<PutInode>(decoded[2]).record, record);
  EXPECT_TRUE(std::get<PutInode>(decoded[2]).data_only);
  EXPECT_EQ(std::get<PutDirent>(decoded[3]).name, "name with spaces");
  EXPECT_EQ(std::get<DelDirent>(decoded[4]).name, "gone");
  EXPECT_EQ(std::get<Truncate>(decoded[5]).size, 5000u);
  EXPECT_EQ(std::get<Truncate>(decoded[5]).generation, 43u);
  EXPECT_EQ(std::get<FreeInode>(decoded[6]).ino, InodeId(8));
  EXPECT_TRUE(std::holds_alternative<disk::ForgetUnmapped>(decoded[7]));
}

// A frame's checksum covers its header and payload: one flipped bit
// anywhere fails it, and a frame sealed for another log fails too.
TEST(DiskFormatTest, FrameChecksumCatchesEveryFlippedByte) {
  std::string frame(disk::kFrameHeaderSize, '\0');
  frame += "some payload bytes";
  disk::FrameHeader header;
  header.seq = 5;
  header.payload_size = static_cast<uint32_t>(frame.size() - disk::kFrameHeaderSize);
  const uint32_t seed = disk::FrameSeed(0x1234, 2);
  disk::SealFrame(frame.data(), header, seed);
  ASSERT_TRUE(disk::FrameChecksumOk(frame, seed));
  EXPECT_FALSE(disk::FrameChecksumOk(frame, disk::FrameSeed(0x1234, 3)));
  for (size_t i = 4; i < frame.size(); ++i) {
    if (i >= 4 && i < 8) continue;  // the checksum itself
    std::string bad = frame;
    bad[i] ^= 0x10;
    EXPECT_FALSE(disk::FrameChecksumOk(bad, seed)) << "byte " << i;
  }
}

// ---- Opening ----

// What was durable when the store object went away is there when the
// directory is opened again.
TEST_F(DiskStoreTest, ReopenMountsTheDurableState) {
  {
    auto fs = MountOrDie(OpenOrDie());
    ASSERT_NE(fs, nullptr);
    MakeDurable(*fs, "/a", "alpha");
    ASSERT_OK(fs->Mkdir("/d", 0755));
    MakeDurable(*fs, "/d/b", Fill('b', 3 * kPage + 17));
    ASSERT_OK(fs->Unmount());
  }
  auto fs = MountOrDie(OpenOrDie());
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(Read(*fs, "/a"), "alpha");
  EXPECT_EQ(Runs(Read(*fs, "/d/b")), Runs(Fill('b', 3 * kPage + 17)));
}

// A store of another format version is refused with ENOTSUP and a message
// naming both versions; the directory is left as it was.
TEST_F(DiskStoreTest, UnknownVersionIsRefusedAndNothingChanges) {
  { ASSERT_NE(OpenOrDie(), nullptr); }
  const std::string identity = Slurp(dir_ / "VFSSTORE");
  std::string newer = identity;
  const size_t at = newer.find("format-version: 2");
  ASSERT_NE(at, std::string::npos);
  newer.replace(at, 17, "format-version: 9");
  Spit(dir_ / "VFSSTORE", newer);
  const auto before = Names(dir_.path());
  std::string why;
  auto store = OpenDiskStore(dir_.path(), {}, &why);
  EXPECT_ERRNO(store, ENOTSUP);
  EXPECT_NE(why.find("version 9"), std::string::npos) << why;
  EXPECT_NE(why.find("version 2"), std::string::npos) << why;
  EXPECT_EQ(Names(dir_.path()), before);
  EXPECT_EQ(Slurp(dir_ / "VFSSTORE"), newer);
}

// A version-1 store (before rdev and extended attributes, rules X2 and X5)
// is refused with one line naming both versions, not read.
TEST_F(DiskStoreTest, VersionOneStoreIsRefusedWithAOneLineError) {
  { ASSERT_NE(OpenOrDie(), nullptr); }
  std::string older = Slurp(dir_ / "VFSSTORE");
  const size_t at = older.find("format-version: 2");
  ASSERT_NE(at, std::string::npos);
  older.replace(at, 17, "format-version: 1");
  Spit(dir_ / "VFSSTORE", older);
  std::string why;
  auto store = OpenDiskStore(dir_.path(), {}, &why);
  EXPECT_ERRNO(store, ENOTSUP);
  EXPECT_NE(why.find("version 1"), std::string::npos) << why;
  EXPECT_NE(why.find("version 2"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
}

// A directory holding other files is not a store: EINVAL, and nothing is
// created in it (not even the lock file).
TEST_F(DiskStoreTest, DirectoryThatIsNotAStoreIsRefusedAndNothingChanges) {
  Spit(dir_ / "notes.txt", "mine");
  std::string why;
  auto store = OpenDiskStore(dir_.path(), {}, &why);
  EXPECT_ERRNO(store, EINVAL);
  EXPECT_NE(why.find("not a vfs disk store"), std::string::npos) << why;
  EXPECT_EQ(Names(dir_.path()), std::set<std::string>{"notes.txt"});
}

// A plain file is not a directory: ENOTDIR.
TEST_F(DiskStoreTest, FileIsNotADirectory) {
  Spit(dir_ / "file", "x");
  std::string why;
  EXPECT_ERRNO(OpenDiskStore(dir_ / "file", {}, &why), ENOTDIR);
  EXPECT_FALSE(why.empty());
}

// Without create_if_missing an empty directory is ENOENT and stays empty.
TEST_F(DiskStoreTest, EmptyDirectoryWithoutCreateIsEnoent) {
  DiskStoreOptions no_create;
  no_create.create_if_missing = false;
  std::string why;
  EXPECT_ERRNO(OpenDiskStore(dir_.path(), no_create, &why), ENOENT);
  EXPECT_TRUE(Names(dir_.path()).empty());
}

// Only one opener at a time: the second gets EBUSY and a message; once the
// first is gone the store opens again.
TEST_F(DiskStoreTest, SecondOpenIsBusyUntilTheFirstCloses) {
  auto first = OpenOrDie();
  ASSERT_NE(first, nullptr);
  std::string why;
  EXPECT_ERRNO(OpenDiskStore(dir_.path(), {}, &why), EBUSY);
  EXPECT_NE(why.find("LOCK"), std::string::npos) << why;
  first.reset();
  EXPECT_NE(OpenOrDie(), nullptr);
}

// The lock holds against another process too (flock is per open file
// description, and the child's open is its own).
TEST_F(DiskStoreTest, SecondProcessIsBusy) {
  auto first = OpenOrDie();
  ASSERT_NE(first, nullptr);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    DiskStoreOptions quiet;
    quiet.error_log = [](const std::string&) {};
    auto store = OpenDiskStore(dir_.path(), quiet);
    _exit(!store.ok() && store.error() == EBUSY ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// ---- Corruption and torn tails ----

// A closed store holding files a, b and c, each made durable in turn, so
// its log holds frames written after flushes (their flushed_through vouches
// for what came before): the tests below damage log_path_ at frames_.
class DiskLogDamageTest : public DiskStoreTest {
 protected:
  void SetUp() override {
    DiskStoreTest::SetUp();
    auto fs = MountOrDie(OpenOrDie());
    MakeDurable(*fs, "/a", Fill('a', 2 * kPage));
    MakeDurable(*fs, "/b", Fill('b', 2 * kPage));
    MakeDurable(*fs, "/c", "sea");
    ASSERT_OK(fs->Unmount());
    frames_ = FrameOffsets(log_path_);
  }

  // Opens the damaged store, expecting EIO; returns the reason.
  std::string OpenRefused() {
    std::string why;
    auto store = OpenDiskStore(dir_.path(), {}, &why);
    EXPECT_ERRNO(store, EIO);
    return why;
  }

  const std::string log_path_ = dir_ / "log-000001";
  std::vector<uint64_t> frames_;
};

// A flipped byte in the middle of the log is corruption: the open fails
// with EIO and a message naming the file and the frame's offset; no data is
// returned.
TEST_F(DiskLogDamageTest, FlippedByteInTheMiddleOfTheLogIsAnErrorNamingFileAndOffset) {
  ASSERT_GE(frames_.size(), 6u);
  const uint64_t victim = frames_[frames_.size() / 2];
  std::string log = Slurp(log_path_);
  log[victim + disk::kFrameHeaderSize + 3] ^= 0x40;  // inside the payload
  Spit(log_path_, log);
  const std::string why = OpenRefused();
  EXPECT_NE(why.find("log-000001"), std::string::npos) << why;
  EXPECT_NE(why.find("offset " + std::to_string(victim)), std::string::npos) << why;
  EXPECT_EQ(Slurp(log_path_), log) << "a failed open must change nothing";
}

// A bad frame followed by blocks of zeros and then a valid frame whose
// flushed_through covers the bad one: the tail scan, which searches for the
// frame magic instead of testing every aligned offset, still finds that
// frame, so the open is EIO, not a torn tail.
TEST_F(DiskLogDamageTest, ValidFrameAfterBlocksOfZerosPastABadFrameIsStillFound) {
  ASSERT_GE(frames_.size(), 3u);
  const uint64_t victim = frames_[1];
  const uint64_t last = frames_.back();
  ASSERT_GE(last - victim, 2u * 4096) << "the zeros must span whole blocks";
  std::string log = Slurp(log_path_);
  std::fill(log.begin() + static_cast<long>(victim), log.begin() + static_cast<long>(last), '\0');
  Spit(log_path_, log);
  const std::string why = OpenRefused();
  EXPECT_NE(why.find("later frame records as durable"), std::string::npos) << why;
  EXPECT_NE(why.find("offset " + std::to_string(victim)), std::string::npos) << why;
}

TEST(FirstNonZeroTest, FindsTheFirstNonZeroByteAtOrAfterFrom) {
  for (size_t size : {0u, 1u, 4095u, 4096u, 4097u, 3 * 4096u + 7}) {
    const std::string zeros(size, '\0');
    EXPECT_EQ(disk::FirstNonZero(zeros, 0), size) << size;
    EXPECT_EQ(disk::FirstNonZero(zeros, size + 5), size) << "from past the end";
    for (size_t at : {size_t{0}, size / 2, size - 1}) {
      if (size == 0) continue;
      std::string bytes = zeros;
      bytes[at] = 'x';
      EXPECT_EQ(disk::FirstNonZero(bytes, 0), at) << size << " " << at;
      EXPECT_EQ(disk::FirstNonZero(bytes, at), at) << size << " " << at;
      EXPECT_EQ(disk::FirstNonZero(bytes, at + 1), size) << size << " " << at;
    }
  }
}

// A log cut in the middle of its last frame (a torn write) opens with the
// frames before it: the last batch is gone, the rest is there, and the
// store takes new writes after it.
TEST_F(DiskLogDamageTest, TornTailOpensWithTheRecordsBeforeIt) {
  ASSERT_GE(frames_.size(), 2u);
  // The last frame is the root directory's entry for /c (its fsync).
  ASSERT_EQ(::truncate(log_path_.c_str(), static_cast<off_t>(frames_.back() + 20)), 0);
  {
    auto fs = MountOrDie(OpenOrDie());
    ASSERT_NE(fs, nullptr);
    EXPECT_EQ(Runs(Read(*fs, "/a")), Runs(Fill('a', 2 * kPage)));
    EXPECT_EQ(Runs(Read(*fs, "/b")), Runs(Fill('b', 2 * kPage)));
    EXPECT_FALSE(fs->Stat("/c").ok()) << "its entry was in the torn frame";
    MakeDurable(*fs, "/d", "after the tear");
    ASSERT_OK(fs->Unmount());
  }
  auto fs = MountOrDie(OpenOrDie());
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(Read(*fs, "/d"), "after the tear");
  EXPECT_EQ(Runs(Read(*fs, "/a")), Runs(Fill('a', 2 * kPage)));
}

// Zeros where the last frame should be (a power cut that kept the size but
// not the data) are a torn tail too.
TEST_F(DiskLogDamageTest, ZeroedLastFrameIsATornTail) {
  std::string log = Slurp(log_path_);
  std::fill(log.begin() + static_cast<long>(frames_.back()), log.end(), '\0');
  Spit(log_path_, log);
  auto fs = MountOrDie(OpenOrDie());
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(Runs(Read(*fs, "/b")), Runs(Fill('b', 2 * kPage)));
  EXPECT_FALSE(fs->Stat("/c").ok());
}

// A page whose bytes go bad on disk while the store is open is an EIO from
// the read, never its wrong bytes.
TEST_F(DiskStoreTest, BadPageOnDiskIsAReadErrorNotData) {
  std::vector<std::string> errors;
  DiskStoreOptions logging;
  logging.error_log = [&errors](const std::string& line) { errors.push_back(line); };
  auto fs = MountOrDie(OpenOrDie(logging));
  MakeDurable(*fs, "/a", Fill('a', 2 * kPage));
  auto fd = fs->Open("/a", O_RDWR);
  ASSERT_TRUE(fd.ok());
  // Evict the cached pages (D6 O_NOCACHE), then damage their bytes in the log.
  ASSERT_OK(fs->FsyncRange(*fd, kFsyncRangeDataSync | kFsyncRangeNoCache, 0, 0));
  ASSERT_OK_AND_ASSIGN(state, fs->PageStateAt(*fd, PageIndex(0)));
  ASSERT_EQ(state, PageState::kOnStore);
  const std::string log_path = dir_ / "log-000001";
  std::string log = Slurp(log_path);
  const size_t at = log.find(Fill('a', 64));
  ASSERT_NE(at, std::string::npos);
  const int raw = ::open(log_path.c_str(), O_WRONLY);
  ASSERT_GE(raw, 0);
  ASSERT_EQ(::pwrite(raw, "A", 1, static_cast<off_t>(at + 100)), 1);
  ::close(raw);
  char buf[16];
  EXPECT_ERRNO(fs->Pread(*fd, buf, sizeof buf, 0), EIO);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.back().find("bad page checksum"), std::string::npos) << errors.back();
  fs->Crash();
}

// ---- Reads from disk ----

// Pages evicted from the cache (D6 O_NOCACHE) and pages of a fresh mount
// come back from disk with one pread each.
TEST_F(DiskStoreTest, PagesNotCachedAreReadFromDisk) {
  DiskStoreOptions counted;
  counted.counters = std::make_shared<DiskStoreCounters>();
  std::string data;
  for (int i = 0; i < 4; ++i) data += Fill(static_cast<char>('k' + i));
  {
    auto fs = MountOrDie(OpenOrDie(counted));
    MakeDurable(*fs, "/big", data);
    auto fd = fs->Open("/big", O_RDWR);
    ASSERT_TRUE(fd.ok());
    ASSERT_OK(fs->FsyncRange(*fd, kFsyncRangeDataSync | kFsyncRangeNoCache, 0, 0));
    for (uint64_t i = 0; i < 4; ++i) {
      ASSERT_OK_AND_ASSIGN(state, fs->PageStateAt(*fd, PageIndex(i)));
      EXPECT_EQ(state, PageState::kOnStore) << i;
    }
    const uint64_t reads = counted.counters->page_reads.load();
    EXPECT_EQ(Runs(Read(*fs, "/big")), Runs(data));
    EXPECT_EQ(counted.counters->page_reads.load(), reads + 4);
    ASSERT_OK(fs->Unmount());
  }
  auto fs = MountOrDie(OpenOrDie(counted));
  auto fd = fs->Open("/big", O_RDONLY);
  ASSERT_TRUE(fd.ok());
  ASSERT_OK_AND_ASSIGN(state, fs->PageStateAt(*fd, PageIndex(1)));
  EXPECT_EQ(state, PageState::kOnStore) << "a mount reads pages lazily";
  EXPECT_EQ(Runs(Read(*fs, "/big")), Runs(data));
}

// A file whose durable size ends inside a page never shows the bytes past
// the size, even when that page is read lazily and the file grows later.
TEST_F(DiskStoreTest, BytesPastTheDurableSizeReadAsZerosAfterRemount) {
  {
    auto fs = MountOrDie(OpenOrDie());
    MakeDurable(*fs, "/a", Fill('a', 100));
    auto fd = fs->Open("/a", O_RDWR);
    ASSERT_TRUE(fd.ok());
    // The page goes to the store whole (an overwrite of a mapped page, D5);
    // the size that would cover it does not.
    ASSERT_OK(fs->Pwrite(*fd, Fill('z', kPage).data(), kPage, 0));
    ASSERT_OK(fs->SyncFileRange(*fd, 0, 0, kAllFlags));
    MakeDurable(*fs, "/other", "x");  // its fsync flushes the store's cache
    fs->Crash();
  }
  auto fs = MountOrDie(OpenOrDie());
  auto fd = fs->Open("/a", O_RDWR);
  ASSERT_TRUE(fd.ok());
  ASSERT_OK(fs->Ftruncate(*fd, 2 * kPage));
  EXPECT_EQ(Runs(Read(*fs, "/a")), Runs(Fill('z', 100) + Fill('\0', 2 * kPage - 100)));
}

// ---- Host errors (rules W1-W5) ----

// Fails the chosen host call `count` times with `err`.
struct Injector {
  std::mutex mu;
  DiskHostOp op = DiskHostOp::kWrite;
  int err = 0;
  int count = 0;
  int hits = 0;
  int Check(DiskHostOp called) {
    std::lock_guard<std::mutex> lock(mu);
    if (called != op || count == 0) return 0;
    --count;
    ++hits;
    return err;
  }
  void Arm(DiskHostOp which, int errno_value, int times = 1) {
    std::lock_guard<std::mutex> lock(mu);
    op = which;
    err = errno_value;
    count = times;
  }
};

class DiskHostErrorTest : public DiskStoreTest, public ::testing::WithParamInterface<int> {
 protected:
  DiskStoreOptions Injecting() {
    DiskStoreOptions o;
    o.inject_host_error = [this](DiskHostOp op, const std::string&) { return injector_.Check(op); };
    o.error_log = [this](const std::string& line) { errors_.push_back(line); };
    return o;
  }
  Injector injector_;
  std::vector<std::string> errors_;
};

// Rules W1, E1.3, W5.1: a failed write of the log reaches the application
// as the host's errno from its next fsync, once; the page is clean and its
// store copy is the old one; the store stays openable and shows the old
// data after a crash.
TEST_P(DiskHostErrorTest, FailedLogWriteIsReportedByTheNextFsyncOnce) {
  const int err = GetParam();
  auto store = OpenOrDie(Injecting());
  auto fs = MountOrDie(store);
  MakeDurable(*fs, "/a", Fill('a'));
  auto fd = fs->Open("/a", O_RDWR);
  ASSERT_TRUE(fd.ok());
  ASSERT_OK(fs->Pwrite(*fd, "new", 3, 0));
  injector_.Arm(DiskHostOp::kWrite, err);
  EXPECT_ERRNO(fs->Fsync(*fd), err);
  EXPECT_EQ(injector_.hits, 1);
  EXPECT_OK(fs->Fsync(*fd));  // reported once (W5.1); the write is not retried
  ASSERT_OK_AND_ASSIGN(state, fs->PageStateAt(*fd, PageIndex(0)));
  EXPECT_EQ(state, PageState::kClean);
  EXPECT_FALSE(errors_.empty());
  fs->Crash();
  fs.reset();
  store.reset();
  auto again = MountOrDie(OpenOrDie());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Runs(Read(*again, "/a")), Runs(Fill('a')));
}

// A failed fdatasync of the log is the fsync's error; the bytes it may have
// lost are written again by the next flush, so a later successful fsync
// means durable (unlike a bare Linux retry, W5.4).
TEST_P(DiskHostErrorTest, FailedLogSyncIsReportedAndTheNextFlushWritesAgain) {
  const int err = GetParam();
  auto store = OpenOrDie(Injecting());
  auto fs = MountOrDie(store);
  MakeDurable(*fs, "/a", Fill('a'));
  auto fd = fs->Open("/a", O_RDWR);
  ASSERT_TRUE(fd.ok());
  ASSERT_OK(fs->Pwrite(*fd, "new", 3, 0));
  injector_.Arm(DiskHostOp::kSync, err);
  EXPECT_ERRNO(fs->Fdatasync(*fd), err);
  ASSERT_OK(fs->Pwrite(*fd, "more", 4, kPage));
  ASSERT_OK(fs->Fdatasync(*fd));
  fs->Crash();
  fs.reset();
  store.reset();
  auto again = MountOrDie(OpenOrDie());
  EXPECT_EQ(Runs(Read(*again, "/a")), Runs("new" + Fill('a', kPage - 3) + "more"));
}

INSTANTIATE_TEST_SUITE_P(Errnos, DiskHostErrorTest, ::testing::Values(EIO, ENOSPC, EDQUOT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == EIO      ? "EIO"
                                              : info.param == ENOSPC ? "ENOSPC"
                                                                     : "EDQUOT");
                         });

// A real full disk: a 1 MiB tmpfs. Writes past its size fail with ENOSPC,
// which the application sees from its fsync; what was durable before stays
// readable, the store opens and mounts again while the disk is still full,
// and takes writes once space is freed.
TEST_F(DiskStoreTest, FullDiskIsEnospcFromFsyncAndTheStoreStaysOpenable) {
  TempDir mount_point;
  if (::mount("tmpfs", mount_point.path().c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a 1 MiB tmpfs here (" << strerror(errno)
                 << "); the injected ENOSPC tests above cover the error path";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point.path()};
  const std::string dir = mount_point / "store";
  DiskStoreOptions quiet;
  quiet.error_log = [](const std::string&) {};
  std::string why;
  {
    auto store = OpenDiskStore(dir, quiet, &why);
    ASSERT_TRUE(store.ok()) << why;
    auto fs = MountOrDie(*store);
    ASSERT_NE(fs, nullptr);
    MakeDurable(*fs, "/small", "kept");
    MakeDurable(*fs, "/big", "");  // its name durable: no repair at the next mount
    Spit(mount_point / "ballast", Fill('b', 64 * 1024));
    auto fd = fs->Open("/big", O_WRONLY);
    ASSERT_TRUE(fd.ok());
    const std::string chunk = Fill('x', 256 * 1024);
    int err = 0;
    for (int i = 0; i < 8 && err == 0; ++i) {
      ASSERT_OK(fs->Pwrite(*fd, chunk.data(), chunk.size(), static_cast<int64_t>(i) * chunk.size()));
      err = fs->Fsync(*fd).error();
    }
    EXPECT_EQ(err, ENOSPC) << "2 MiB of data cannot fit a 1 MiB filesystem";
    EXPECT_EQ(Read(*fs, "/small"), "kept");
    fs->Crash();
  }
  auto store = OpenDiskStore(dir, quiet, &why);
  ASSERT_TRUE(store.ok()) << why;
  auto fs = MountOrDie(*store);
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(Read(*fs, "/small"), "kept");
  ASSERT_EQ(::unlink((mount_point / "ballast").c_str()), 0);
  MakeDurable(*fs, "/after", "space again");
  fs->Crash();
  fs = MountOrDie(*store);
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(Read(*fs, "/after"), "space again");
}

// ---- Compaction ----

size_t LogBytes(const std::string& dir) {
  size_t total = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("log-", 0) == 0) total += fs::file_size(e.path());
  }
  return total;
}

DiskStoreOptions SmallCompaction() {
  DiskStoreOptions o;
  o.compaction_min_log_bytes = 256 * 1024;
  o.compaction_ratio = 2;
  o.log_extend_bytes = 64 * 1024;
  o.counters = std::make_shared<DiskStoreCounters>();
  // In the flushing caller, so the files are in their final state when the
  // Fsync that triggered the compaction returns.
  o.background_work = false;
  return o;
}

// Overwriting the same pages again and again grows the log only until a
// compaction rewrites the live data into a checkpoint: the logs stay
// bounded and nothing is lost, across a crash and a reopen.
TEST_F(DiskStoreTest, CompactionBoundsTheLogAndLosesNothing) {
  DiskStoreOptions options = SmallCompaction();
  auto store = OpenOrDie(options);
  auto fs = MountOrDie(store);
  MakeDurable(*fs, "/keep", "untouched");
  auto fd = fs->Open("/hot", O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(fd.ok());
  std::string last;
  for (int round = 0; round < 200; ++round) {
    last = Fill(static_cast<char>('A' + round % 26), 2 * kPage);
    ASSERT_OK(fs->Pwrite(*fd, last.data(), last.size(), 0));
    ASSERT_OK(fs->Fsync(*fd));
  }
  auto root = fs->Open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs->Fsync(*root));
  EXPECT_GE(options.counters->compactions.load(), 2u);
  EXPECT_LT(LogBytes(dir_.path()), 200u * 2 * kPage / 2) << "the log did not keep every version";
  int checkpoints = 0, logs = 0;
  for (const std::string& name : Names(dir_.path())) {
    checkpoints += name.rfind("checkpoint-", 0) == 0;
    logs += name.rfind("log-", 0) == 0;
  }
  EXPECT_EQ(checkpoints, 1);
  EXPECT_LE(logs, 2);
  fs->Crash();
  fs = MountOrDie(store);
  EXPECT_EQ(Runs(Read(*fs, "/hot")), Runs(last));
  EXPECT_EQ(Read(*fs, "/keep"), "untouched");
  ASSERT_OK(fs->Unmount());
  fs.reset();
  store.reset();
  fs = MountOrDie(OpenOrDie());
  EXPECT_EQ(Runs(Read(*fs, "/hot")), Runs(last));
  EXPECT_EQ(Read(*fs, "/keep"), "untouched");
}

// A compaction writes its new log into the file of the log the previous
// one replaced (no zero-fill). The frames of the old log left past the new
// frames are never read as this log's: after a crash and after a reopen
// the store holds exactly what was durable, and takes writes again.
TEST_F(DiskStoreTest, RecycledLogHoldsOnlyItsOwnFrames) {
  DiskStoreOptions options = SmallCompaction();
  auto store = OpenOrDie(options);
  auto fs = MountOrDie(store);
  MakeDurable(*fs, "/keep", "untouched");
  MakeDurable(*fs, "/hot", "");
  auto fd = fs->Open("/hot", O_RDWR);
  ASSERT_TRUE(fd.ok());
  std::string last;
  for (int round = 0; round < 600 && options.counters->recycled_logs.load() < 2; ++round) {
    last = Fill(static_cast<char>('A' + round % 26), 2 * kPage);
    ASSERT_OK(fs->Pwrite(*fd, last.data(), last.size(), 0));
    ASSERT_OK(fs->Fsync(*fd));
  }
  ASSERT_GE(options.counters->recycled_logs.load(), 2u);
  fs->Crash();
  fs = MountOrDie(store);
  EXPECT_EQ(Runs(Read(*fs, "/hot")), Runs(last));
  EXPECT_EQ(Read(*fs, "/keep"), "untouched");
  MakeDurable(*fs, "/after", "written after the crash");
  ASSERT_OK(fs->Unmount());
  fs.reset();
  store.reset();
  fs = MountOrDie(OpenOrDie());
  EXPECT_EQ(Runs(Read(*fs, "/hot")), Runs(last));
  EXPECT_EQ(Read(*fs, "/keep"), "untouched");
  EXPECT_EQ(Read(*fs, "/after"), "written after the crash");
  EXPECT_EQ(Names(dir_.path()).count("recycled-log.tmp"), 0u) << "removed by the open";
}

// A damaged checkpoint is never read as data: a bad byte in its metadata
// fails the open with EIO naming the file and offset; a bad byte in a page
// fails the read of that page.
TEST_F(DiskStoreTest, DamagedCheckpointIsAnErrorNeverData) {
  std::string checkpoint;
  {
    DiskStoreOptions options = SmallCompaction();
    auto fs = MountOrDie(OpenOrDie(options));
    MakeDurable(*fs, "/cold", Fill('c', 3 * kPage));
    auto fd = fs->Open("/hot", O_RDWR | O_CREAT, 0644);
    ASSERT_TRUE(fd.ok());
    for (int round = 0; round < 100; ++round) {
      ASSERT_OK(fs->Pwrite(*fd, Fill('h', kPage).data(), kPage, 0));
      ASSERT_OK(fs->Fsync(*fd));
    }
    ASSERT_GE(options.counters->compactions.load(), 1u);
    ASSERT_OK(fs->Unmount());
  }
  for (const std::string& name : Names(dir_.path())) {
    if (name.rfind("checkpoint-", 0) == 0) checkpoint = dir_ / name;
  }
  ASSERT_FALSE(checkpoint.empty());
  const std::string good = Slurp(checkpoint);
  // A page of /cold: its bytes are in the checkpoint's data area.
  std::string bad_page = good;
  const size_t page_at = bad_page.find(Fill('c', 64));
  ASSERT_NE(page_at, std::string::npos);
  bad_page[page_at + 10] = 'X';
  Spit(checkpoint, bad_page);
  {
    DiskStoreOptions quiet;
    quiet.error_log = [](const std::string&) {};
    auto fs = MountOrDie(OpenOrDie(quiet));
    ASSERT_NE(fs, nullptr);
    auto fd = fs->Open("/cold", O_RDONLY);
    ASSERT_TRUE(fd.ok());
    char buf[16];
    EXPECT_ERRNO(fs->Pread(*fd, buf, sizeof buf, 0), EIO);
    fs->Crash();
  }
  // The metadata, just before the 48-byte footer.
  std::string bad_meta = good;
  const size_t meta_at = bad_meta.size() - disk::kCheckpointFooterSize - 5;
  bad_meta[meta_at] ^= 0x01;
  Spit(checkpoint, bad_meta);
  std::string why;
  EXPECT_ERRNO(OpenDiskStore(dir_.path(), {}, &why), EIO);
  EXPECT_NE(why.find(fs::path(checkpoint).filename().string()), std::string::npos) << why;
  EXPECT_NE(why.find("offset"), std::string::npos) << why;
}

class CompactionCrashTest : public DiskStoreTest,
                            public ::testing::WithParamInterface<DiskCompactionStep> {};

// A crash at each step of a compaction loses nothing durable: whatever the
// files are when it stops, the store opens with every fsynced write.
TEST_P(CompactionCrashTest, CrashAtThisStepLosesNothing) {
  DiskStoreOptions options = SmallCompaction();
  std::atomic<bool> stopped{false};
  options.compaction_hook = [&stopped](DiskCompactionStep step) {
    if (step == GetParam() && !stopped.exchange(true)) return false;  // dies here, once
    return true;
  };
  auto store = OpenOrDie(options);
  auto fs = MountOrDie(store);
  MakeDurable(*fs, "/keep", "untouched");
  auto fd = fs->Open("/hot", O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(fd.ok());
  std::string last;
  int round = 0;
  for (; round < 400 && !stopped.load(); ++round) {
    last = Fill(static_cast<char>('A' + round % 26), 2 * kPage) + std::to_string(round);
    ASSERT_OK(fs->Pwrite(*fd, last.data(), last.size(), 0));
    ASSERT_OK(fs->Fsync(*fd));
  }
  ASSERT_TRUE(stopped.load()) << "no compaction reached the step";
  // One more durable write after the stop, into whichever log is active.
  last = "after the stop";
  ASSERT_OK(fs->Ftruncate(*fd, 0));
  ASSERT_OK(fs->Pwrite(*fd, last.data(), last.size(), 0));
  ASSERT_OK(fs->Fsync(*fd));
  auto root = fs->Open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs->Fsync(*root));
  fs->Crash();
  fs.reset();
  store.reset();  // as a dead process: the next open reads the directory
  auto again = MountOrDie(OpenOrDie(SmallCompaction()));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Read(*again, "/hot"), last);
  EXPECT_EQ(Read(*again, "/keep"), "untouched");
  // And the store goes on compacting and writing from there.
  MakeDurable(*again, "/later", "later");
  ASSERT_OK(again->Unmount());
  again.reset();  // the store (and its lock) goes with the last reference
  auto third = MountOrDie(OpenOrDie());
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(Read(*third, "/later"), "later");
  EXPECT_EQ(Read(*third, "/hot"), last);
}

INSTANTIATE_TEST_SUITE_P(Steps, CompactionCrashTest,
                         ::testing::Values(DiskCompactionStep::kLogSwitched,
                                           DiskCompactionStep::kCheckpointWritten,
                                           DiskCompactionStep::kCheckpointInstalled,
                                           DiskCompactionStep::kOldFilesRemoved),
                         [](const ::testing::TestParamInfo<DiskCompactionStep>& info) {
                           switch (info.param) {
                             case DiskCompactionStep::kLogSwitched: return "LogSwitched";
                             case DiskCompactionStep::kCheckpointWritten: return "CheckpointWritten";
                             case DiskCompactionStep::kCheckpointInstalled:
                               return "CheckpointInstalled";
                             case DiskCompactionStep::kOldFilesRemoved: return "OldFilesRemoved";
                           }
                           return "Unknown";
                         });

// ---- Group commit ----

// Counts Flush() calls entering the disk store, so a test can hold the
// first fdatasync until every thread is waiting to flush.
class FlushCountingStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<void> Flush() override {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++entered;
    }
    cv.notify_all();
    return ForwardingStore::Flush();
  }
  std::mutex mu;
  std::condition_variable cv;
  int entered = 0;
};

// Eight threads fdatasync at once, with one log fdatasync at a time: while
// the first is under way the other seven queue, and one more fdatasync
// serves them all.
TEST_F(DiskStoreTest, ConcurrentFlushesShareOneFdatasync) {
  constexpr int kThreads = 8;
  std::shared_ptr<FlushCountingStore> counting;
  std::atomic<bool> hold{false};
  DiskStoreOptions options;
  options.log_extend_bytes = 4 << 20;
  options.max_concurrent_syncs = 1;
  options.inject_host_error = [&](DiskHostOp op, const std::string& file) {
    if (op != DiskHostOp::kSync || !hold.exchange(false)) return 0;
    // The first log fdatasync of the measured phase waits until every
    // thread has entered Flush.
    std::unique_lock<std::mutex> lock(counting->mu);
    counting->cv.wait(lock, [&] { return counting->entered >= kThreads; });
    return 0;
  };
  counting = std::make_shared<FlushCountingStore>(OpenOrDie(options));
  auto fs = MountOrDie(counting);
  const std::vector<Fd> fds = OpenDurableFiles(*fs, kThreads);
  ASSERT_EQ(fds.size(), static_cast<size_t>(kThreads));
  // Room in the log for the phase, so no extension fdatasync interferes.
  {
    std::lock_guard<std::mutex> lock(counting->mu);
    counting->entered = 0;
  }
  const uint64_t flushes = counting->Stats().flushes;
  hold = true;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string data = Fill(static_cast<char>('a' + t), kPage);
      if (!fs->Pwrite(fds[t], data.data(), data.size(), 0).ok()) ++failures;
      if (!fs->Fdatasync(fds[t]).ok()) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const uint64_t syncs = counting->Stats().flushes - flushes;
  EXPECT_LE(syncs, 2u) << "8 concurrent fdatasyncs took " << syncs << " log fdatasyncs";
  EXPECT_GE(syncs, 1u);
  fs->Crash();
  fs = MountOrDie(counting);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(Runs(Read(*fs, "/f" + std::to_string(t))), Runs(Fill(static_cast<char>('a' + t))));
  }
}

// Beside a running log fdatasync, a second starts only for a round with at
// least as many callers: three callers share a held fdatasync; a fourth,
// fifth and sixth, whose frames came after it started, form the next round,
// which starts when the sixth joins it, not at the fourth (before, the
// fourth started a fdatasync of its own at once, and the fifth and sixth
// needed a third).
TEST_F(DiskStoreTest, SecondConcurrentFdatasyncWaitsForAsManyCallersAsTheFirst) {
  auto counters = std::make_shared<DiskStoreCounters>();
  std::mutex mu;
  std::condition_variable cv;
  bool armed = false;     // the measured phase has begun
  int syncs_started = 0;  // log fdatasyncs of the measured phase
  bool release_first = false;
  uint64_t joins_at_second = 0;
  DiskStoreOptions options;
  options.counters = counters;
  options.max_concurrent_syncs = 2;
  options.log_extend_bytes = 4 << 20;  // room for the phase: no zero-fill sync
  options.background_work = false;     // no compaction or zero-fill beside it
  options.inject_host_error = [&](DiskHostOp op, const std::string&) {
    if (op != DiskHostOp::kSync) return 0;
    std::unique_lock<std::mutex> lock(mu);
    if (!armed) return 0;
    const int n = ++syncs_started;
    if (n == 2) joins_at_second = counters->commit_joins.load();
    cv.notify_all();
    if (n == 1) cv.wait(lock, [&] { return release_first; });  // held
    return 0;
  };
  std::shared_ptr<Store> store = OpenOrDie(options);
  auto fs = MountOrDie(store);
  std::vector<InodeId> inos;
  for (Fd fd : OpenDurableFiles(*fs, 6)) {
    auto st = fs->Fstat(fd);
    ASSERT_TRUE(st.ok());
    inos.push_back(st->ino);
  }
  ASSERT_EQ(inos.size(), 6u);
  // Frames of file t in the log (written, not yet synced).
  auto write_frames = [&](int t) {
    PageRef page = PageBuffer::Allocate(kPage);
    std::memset(page->data(), 'a' + t, kPage);
    auto ticket = store->Submit({PutPage{inos[t], PageIndex(0), page, 1000 + static_cast<uint64_t>(t)}});
    ASSERT_TRUE(ticket.ok());
    ASSERT_TRUE(store->Wait(*ticket).ok());
  };
  auto joins_reach = [&](uint64_t n) {
    while (counters->commit_joins.load() < n) std::this_thread::yield();
  };
  const uint64_t joins = counters->commit_joins.load();
  {
    std::lock_guard<std::mutex> lock(mu);
    armed = true;
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  auto flush = [&] { threads.emplace_back([&] { if (!store->Flush().ok()) ++failures; }); };
  for (int t = 0; t < 3; ++t) write_frames(t);
  for (int t = 0; t < 3; ++t) flush();  // one round, its fdatasync held
  joins_reach(joins + 3);
  for (int t = 3; t < 6; ++t) {
    write_frames(t);
    flush();
    joins_reach(joins + t + 1);
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return syncs_started >= 2; });
    release_first = true;
    cv.notify_all();
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(joins_at_second, joins + 6) << "the second fdatasync started before its round had 3 callers";
  EXPECT_EQ(syncs_started, 2);
}

// Group commit keeps rule W1: a failed log fdatasync is an error for every
// caller whose frames it covered, not only for the one that ran it. Eight
// threads complete their writes, then fdatasync at once; the one log
// fdatasync covering all eight fails, and all eight see EIO (before group
// commit answered per round, the seven that waited retried on their own and
// returned 0). A second fdatasync then succeeds and the data is durable.
TEST_F(DiskStoreTest, FailedGroupCommitFailsEveryCallerItCovered) {
  constexpr int kThreads = 8;
  std::atomic<bool> fail_next{false};
  std::atomic<uint64_t> joins_before{0};
  DiskStoreOptions options;
  options.log_extend_bytes = 4 << 20;  // room for the phase: no zero-fill sync
  options.error_log = [](const std::string&) {};
  options.counters = std::make_shared<DiskStoreCounters>();
  auto counters = options.counters;
  options.inject_host_error = [&](DiskHostOp op, const std::string&) {
    if (op != DiskHostOp::kSync || !fail_next.exchange(false)) return 0;
    // The first log fdatasync of the phase fails once every thread has
    // joined a group commit (the leader's own join included). The others
    // join under the store's lock, which this fdatasync does not hold.
    while (counters->commit_joins.load() < joins_before.load() + kThreads) {
      std::this_thread::yield();
    }
    return EIO;
  };
  auto counting = OpenOrDie(options);
  auto fs = MountOrDie(counting);
  const std::vector<Fd> fds = OpenDurableFiles(*fs, kThreads);
  ASSERT_EQ(fds.size(), static_cast<size_t>(kThreads));
  for (int t = 0; t < kThreads; ++t) {
    // Written and completed (in the log), not flushed.
    const std::string data = Fill(static_cast<char>('a' + t), kPage);
    ASSERT_OK(fs->Pwrite(fds[t], data.data(), data.size(), 0));
    ASSERT_OK(fs->SyncFileRange(fds[t], 0, 0, kAllFlags));
  }
  joins_before = counters->commit_joins.load();
  fail_next = true;
  std::vector<std::thread> threads;
  std::vector<int> errors(kThreads, -1);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { errors[t] = fs->Fdatasync(fds[t]).error(); });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], EIO) << "thread " << t;
  for (int t = 0; t < kThreads; ++t) EXPECT_OK(fs->Fdatasync(fds[t]));
  fs->Crash();
  fs = MountOrDie(counting);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(Runs(Read(*fs, "/f" + std::to_string(t))), Runs(Fill(static_cast<char>('a' + t))));
  }
}

// With align_commits each commit's frames end on a 4 KiB boundary, so no
// later write touches a block holding frames an earlier fdatasync made
// durable: the log cut at what the last flush covered (Crash) is a whole
// number of blocks, and the padding reads back as nothing.
TEST_F(DiskStoreTest, AlignedCommitsEndOnABlockBoundary) {
  DiskStoreOptions options;
  options.align_commits = true;
  auto store = OpenOrDie(options);
  auto fs = MountOrDie(store);
  MakeDurable(*fs, "/a", "x");
  auto fd = fs->Open("/a", O_RDWR);
  ASSERT_TRUE(fd.ok());
  std::string expected = "x";
  for (int i = 0; i < 5; ++i) {
    const std::string data(3 + i, static_cast<char>('a' + i));
    ASSERT_OK(fs->Pwrite(*fd, data.data(), data.size(), 100 * i));
    ASSERT_OK(fs->Fdatasync(*fd));
    expected.resize(std::max<size_t>(expected.size(), 100 * i + data.size()), '\0');
    expected.replace(100 * i, data.size(), data);
    ASSERT_OK(fs->Pwrite(*fd, "de", 2, 7));
    ASSERT_OK(fs->SyncFileRange(*fd, 0, 0, kAllFlags));  // completed, not flushed
    fs->Crash();
    EXPECT_EQ(fs::file_size(dir_ / "log-000001") % 4096, 0u) << "after commit " << i;
    fs = MountOrDie(store);
    EXPECT_EQ(Runs(Read(*fs, "/a")), Runs(expected)) << "after commit " << i;
    fd = fs->Open("/a", O_RDWR);
    ASSERT_TRUE(fd.ok());
  }
}

// With background_work a thread of the store compacts: not the caller
// whose Flush found the logs too large. What was durable survives a crash
// and a reopen.
TEST_F(DiskStoreTest, CompactionRunsOffTheCallersThreadAndLosesNothing) {
  DiskStoreOptions options = SmallCompaction();
  options.background_work = true;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread::id compactor;
  options.compaction_hook = [&](DiskCompactionStep step) {
    std::lock_guard<std::mutex> lock(mu);
    if (step == DiskCompactionStep::kLogSwitched) compactor = std::this_thread::get_id();
    if (step == DiskCompactionStep::kOldFilesRemoved) done = true;
    cv.notify_all();
    return true;
  };
  auto store = OpenOrDie(options);
  auto fs = MountOrDie(store);
  MakeDurable(*fs, "/keep", "untouched");
  MakeDurable(*fs, "/hot", "");
  auto fd = fs->Open("/hot", O_RDWR);
  ASSERT_TRUE(fd.ok());
  std::string last;
  auto finished = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return done;
  };
  for (int round = 0; round < 400 && !finished(); ++round) {
    last = Fill(static_cast<char>('A' + round % 26), 2 * kPage);
    ASSERT_OK(fs->Pwrite(*fd, last.data(), last.size(), 0));
    ASSERT_OK(fs->Fsync(*fd));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });  // the hook ran at the compaction's last step
    EXPECT_NE(compactor, std::this_thread::get_id());
  }
  EXPECT_GE(options.counters->compactions.load(), 1u);
  fs->Crash();
  fs = MountOrDie(store);
  EXPECT_EQ(Runs(Read(*fs, "/hot")), Runs(last));
  EXPECT_EQ(Read(*fs, "/keep"), "untouched");
}

// ---- Crash() semantics ----

// Crash() is a power cut: completed but unflushed frames are gone, flushed
// ones stay, and the next Load reads the directory again.
TEST_F(DiskStoreTest, CrashDropsWhatNoFlushCovered) {
  auto store = OpenOrDie();
  auto fs = MountOrDie(store);
  MakeDurable(*fs, "/a", Fill('a'));
  auto fd = fs->Open("/a", O_RDWR);
  ASSERT_OK(fs->Pwrite(*fd, "x", 1, 0));
  ASSERT_OK(fs->SyncFileRange(*fd, 0, 0, kAllFlags));  // completed, not flushed
  const uint64_t size_before = fs::file_size(dir_ / "log-000001");
  fs->Crash();
  EXPECT_LT(fs::file_size(dir_ / "log-000001"), size_before);
  fs = MountOrDie(store);
  EXPECT_EQ(Runs(Read(*fs, "/a")), Runs(Fill('a')));
}

}  // namespace
}  // namespace vfs::testing
