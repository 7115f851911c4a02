// Damaged and forged stores (issue 17, findings 2, 3 and 4): opening never
// writes over anything it could not read, and every field read from disk is
// checked before use. Each case opens a damaged directory and expects EIO
// with one line naming the file (and the offset where there is one), and the
// directory byte for byte as it was. docs/formats.md "Damage" lists them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "backends/disk/crc32c.h"
#include "backends/disk/disk_store.h"
#include "backends/disk/log_format.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vfs-damage-XXXXXX";
    if (::mkdtemp(path_.data()) == nullptr) ADD_FAILURE() << "mkdtemp: " << strerror(errno);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

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

// Every file of a directory (but LOCK) with its bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name != "LOCK") files[name] = Slurp(e.path().string());
  }
  return files;
}

// Offsets of the valid frames of a log, and where they end.
std::vector<uint64_t> FrameOffsets(const std::string& log, uint64_t* end = nullptr) {
  std::vector<uint64_t> offsets;
  uint64_t at = disk::kLogHeaderSize;
  while (at + disk::kFrameHeaderSize <= log.size()) {
    auto header = disk::PeekFrameHeader(std::string_view(log).substr(at));
    if (!header) break;
    offsets.push_back(at);
    at += disk::FrameSpan(header->payload_size);
  }
  if (end != nullptr) *end = at;
  return offsets;
}

uint64_t SaltOf(const std::string& dir) {
  auto identity = disk::DecodeIdentity(Slurp(dir + "/VFSSTORE"));
  EXPECT_TRUE(std::holds_alternative<disk::Identity>(identity));
  return std::get<disk::Identity>(identity).salt;
}

class DiskDamageTest : public ::testing::Test {
 public:
  std::shared_ptr<Store> OpenOrDie(DiskStoreOptions options = {}) {
    std::string why;
    auto store = OpenDiskStore(dir_.path(), std::move(options), &why);
    EXPECT_TRUE(store.ok()) << why;
    return store.ok() ? *store : nullptr;
  }

 protected:
  // A store holding three durable files, closed.
  void MakeStore(DiskStoreOptions options = {}) {
    auto fs = Filesystem::Mount(OpenOrDie(std::move(options)), {});
    ASSERT_TRUE(fs.ok());
    for (const char* name : {"/a", "/b", "/c"}) MakeDurable(**fs, name, Fill(name[1], 2 * kPage));
    ASSERT_OK((*fs)->Unmount());
  }

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

  // Opens the damaged directory: EIO, one line naming `file` (and
  // `offset` if not negative), and no byte of the directory changed.
  void ExpectRefused(const std::string& file, int64_t offset = -1) {
    const auto before = Snapshot(dir_.path());
    std::string why;
    DiskStoreOptions quiet;
    quiet.error_log = [](const std::string&) {};
    auto store = OpenDiskStore(dir_.path(), quiet, &why);
    EXPECT_ERRNO(store, EIO);
    EXPECT_NE(why.find(file), std::string::npos) << why;
    if (offset >= 0) {
      EXPECT_NE(why.find("offset " + std::to_string(offset)), std::string::npos) << why;
    }
    EXPECT_EQ(why.find('\n'), std::string::npos) << why;
    const auto after = Snapshot(dir_.path());
    EXPECT_TRUE(before == after) << "a failed open changed the directory";
  }

  // Appends a frame holding `payload` after the last valid frame of log
  // `number`, sealed with this store's checksum seed: a forgery a checksum
  // cannot catch. Returns the offset of the payload's first byte.
  uint64_t AppendFrame(uint64_t number, const std::string& payload) {
    const std::string path = dir_ / disk::LogName(number);
    std::string log = Slurp(path);
    uint64_t end = 0;
    const std::vector<uint64_t> frames = FrameOffsets(log, &end);
    uint64_t seq = 1;
    if (!frames.empty()) {
      seq = disk::PeekFrameHeader(std::string_view(log).substr(frames.back()))->seq + 1;
    }
    std::string frame(disk::kFrameHeaderSize, '\0');
    frame += payload;
    frame.resize(disk::FrameSpan(payload.size()), '\0');
    disk::FrameHeader header;
    header.seq = seq;
    header.payload_size = static_cast<uint32_t>(payload.size());
    disk::SealFrame(frame.data(), header, disk::FrameSeed(SaltOf(dir_.path()), number));
    if (log.size() < end + frame.size()) log.resize(end + frame.size(), '\0');
    log.replace(end, frame.size(), frame);
    Spit(path, log);
    return end + disk::kFrameHeaderSize;
  }

  TempDir dir_;
};

// ---- Finding 2: a header or identity that cannot be read ----

// One flipped bit of log-000001's header checksum, in a store with no
// checkpoint: EIO, and the log's frames are still there for a person to
// look at (the open used to take the log for an unused one and recreate it).
TEST_F(DiskDamageTest, FlippedHeaderChecksumOfTheOnlyLogIsEioAndKeepsTheLog) {
  MakeStore();
  std::string log = Slurp(dir_ / "log-000001");
  log[disk::kLogHeaderSize - 2] ^= 0x08;
  Spit(dir_ / "log-000001", log);
  ExpectRefused("log-000001", 0);
}

// A flipped bit of the salt in VFSSTORE: no checksum of the store matches.
TEST_F(DiskDamageTest, FlippedSaltInTheIdentityIsEio) {
  MakeStore();
  std::string identity = Slurp(dir_ / "VFSSTORE");
  const size_t salt_at = identity.find("salt: ") + 6;
  identity[salt_at] = identity[salt_at] == '0' ? '1' : '0';
  Spit(dir_ / "VFSSTORE", identity);
  ExpectRefused("log-000001", 0);
}

// Another store's log copied in, and another store's identity.
TEST_F(DiskDamageTest, AnotherStoresLogIsEio) {
  MakeStore();
  TempDir other;
  {
    std::string why;
    auto store = OpenDiskStore(other.path(), {}, &why);
    ASSERT_TRUE(store.ok()) << why;
    auto fs = Filesystem::Mount(*store, {});
    ASSERT_TRUE(fs.ok());
    MakeDurable(**fs, "/other", "another store");
    ASSERT_OK((*fs)->Unmount());
  }
  Spit(dir_ / "log-000001", Slurp(other / "log-000001"));
  ExpectRefused("log-000001", 0);
}

TEST_F(DiskDamageTest, AnotherStoresIdentityIsEio) {
  MakeStore();
  TempDir other;
  {
    std::string why;
    ASSERT_TRUE(OpenDiskStore(other.path(), {}, &why).ok()) << why;
  }
  Spit(dir_ / "VFSSTORE", Slurp(other / "VFSSTORE"));
  ExpectRefused("log-000001", 0);
}

DiskStoreOptions SmallCompaction() {
  DiskStoreOptions o;
  o.compaction_min_log_bytes = 256 * 1024;
  o.compaction_ratio = 2;
  o.log_extend_bytes = 64 * 1024;
  o.counters = std::make_shared<DiskStoreCounters>();
  o.background_work = false;  // the files as the compaction left them, no later one
  return o;
}

// Writes until a compaction reaches `stop_at`, where it stops as if the
// process died; then one more durable file, which lands in the newest log.
// Returns the newest log's number.
uint64_t CompactUntil(DiskDamageTest* test, const std::string& dir, DiskCompactionStep stop_at,
                      std::shared_ptr<Store> (DiskDamageTest::*open)(DiskStoreOptions)) {
  DiskStoreOptions options = SmallCompaction();
  auto stopped = std::make_shared<std::atomic<bool>>(false);
  options.compaction_hook = [stopped, stop_at](DiskCompactionStep step) {
    return !(step == stop_at && !stopped->exchange(true));
  };
  auto store = (test->*open)(options);
  auto fs = Filesystem::Mount(store, {});
  EXPECT_TRUE(fs.ok());
  if (!fs.ok()) return 0;
  auto fd = (*fs)->Open("/hot", O_RDWR | O_CREAT, 0644);
  EXPECT_TRUE(fd.ok());
  for (int round = 0; round < 400 && !stopped->load(); ++round) {
    const std::string data = Fill(static_cast<char>('A' + round % 26), 2 * kPage);
    EXPECT_OK((*fs)->Pwrite(*fd, data.data(), data.size(), 0));
    EXPECT_OK((*fs)->Fsync(*fd));
  }
  EXPECT_TRUE(stopped->load()) << "no compaction reached the step";
  (void)(*fs)->Close(*fd);
  auto after = (*fs)->Open("/after", O_WRONLY | O_CREAT, 0644);
  EXPECT_TRUE(after.ok());
  EXPECT_OK((*fs)->Pwrite(*after, "after the switch", 16, 0));
  EXPECT_OK((*fs)->Fsync(*after));
  (*fs)->Crash();
  uint64_t newest = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (auto n = disk::ParseNumberedName(e.path().filename().string(), disk::kLogPrefix)) {
      newest = std::max(newest, *n);
    }
  }
  return newest;
}

// A compaction stopped just after switching logs: the newest log holds
// durable frames. A damaged header there is EIO, not an unused log.
TEST_F(DiskDamageTest, DamagedHeaderOfTheLastLogAfterALogSwitchIsEio) {
  const uint64_t newest =
      CompactUntil(this, dir_.path(), DiskCompactionStep::kLogSwitched, &DiskDamageTest::OpenOrDie);
  ASSERT_GE(newest, 2u);
  const std::string name = disk::LogName(newest);
  std::string log = Slurp(dir_ / name);
  ASSERT_GT(FrameOffsets(log).size(), 0u) << "the newest log should hold the last fsync";
  log[9] ^= 0x01;  // the log number inside the header
  Spit(dir_ / name, log);
  ExpectRefused(name, 0);
}

// What a creation that died before its fdatasync leaves (an empty file, or
// a header of zeros) is still taken for an unused log: the store opens with
// everything, and the leftover is replaced.
TEST_F(DiskDamageTest, UnwrittenLastLogIsAnUnusedLog) {
  MakeStore();
  for (const std::string& leftover : {std::string(), std::string(disk::kLogHeaderSize, '\0')}) {
    Spit(dir_ / "log-000002", leftover);
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    auto fs = Filesystem::Mount(store, {});
    ASSERT_TRUE(fs.ok());
    auto st = (*fs)->Stat("/c");
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->size, 2 * kPage);
    ASSERT_OK((*fs)->Unmount());
  }
}

// A torn tail that ends two bytes into an 8-byte slot: the scan for later
// frames stops at the end of the file (it read up to two bytes past it;
// found by the store-loader fuzzer, fuzz/store_corpus/scan_tail_*, and
// seen under ASan).
TEST_F(DiskDamageTest, TornTailEndingInsideAWordOpens) {
  MakeStore();
  std::string log = Slurp(dir_ / "log-000001");
  uint64_t end = 0;
  FrameOffsets(log, &end);
  log.resize(end + disk::kFrameAlign + 2);
  std::fill(log.begin() + static_cast<long>(end), log.end(), 'x');
  Spit(dir_ / "log-000001", log);
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  auto fs = Filesystem::Mount(store, {});
  ASSERT_TRUE(fs.ok());
  EXPECT_TRUE((*fs)->Stat("/c").ok());
}

// ---- Finding 4: a checkpoint whose log is gone ----

TEST_F(DiskDamageTest, CheckpointWhoseNextLogIsMissingIsEio) {
  const uint64_t newest = CompactUntil(this, dir_.path(), DiskCompactionStep::kOldFilesRemoved,
                                       &DiskDamageTest::OpenOrDie);
  ASSERT_GE(newest, 2u);
  ASSERT_TRUE(fs::exists(dir_ / disk::CheckpointName(newest)));
  ASSERT_EQ(::unlink((dir_ / disk::LogName(newest)).c_str()), 0);
  ExpectRefused(disk::LogName(newest));
}

// ---- Finding 3: forged records with valid checksums ----

struct Forgery {
  const char* name;
  std::string (*payload)();
  const char* reason;  // a word the message must hold
};

std::string Encode(const Request& r) {
  std::string out;
  uint32_t crc = 0;
  disk::EncodeRequest(r, &out, &crc);
  return out;
}

InodeRecord File(uint64_t ino, uint32_t mode = S_IFREG | 0644, uint64_t size = 0) {
  InodeRecord r;
  r.ino = InodeId(ino);
  r.mode = mode;
  r.size = size;
  return r;
}

const Forgery kForgeries[] = {
    {"PageSmallerThanAPage", [] { return Encode(PutPage{InodeId(2), PageIndex(0), PageBuffer::Allocate(100), 0}); }, "page of 100 bytes"},
    {"PageLargerThanAPage", [] { return Encode(PutPage{InodeId(2), PageIndex(0), PageBuffer::Allocate(65536), 0}); }, "page of 65536 bytes"},
    {"PageBytesElsewhere", [] {
       std::string out;
       disk::EncodeCheckpointPage(InodeId(2), PageIndex(0), 0, false,
                                  disk::PageLoc{disk::LogFileId(1), 64, kPage, kPage, 0}, &out);
       return out;
     }, "elsewhere"},
    {"PageIndexPastTheLargestFile", [] { return Encode(PutPage{InodeId(2), PageIndex(uint64_t{1} << 60), PageBuffer::Allocate(kPage), 0}); }, "page index"},
    {"PageOfInodeZero", [] { return Encode(PutPage{InodeId(0), PageIndex(0), PageBuffer::Allocate(kPage), 0}); }, "inode number 0"},
    {"InodeNumberAllOnes", [] { return Encode(PutInode{File(UINT64_MAX), false}); }, "inode number"},
    {"InodeNumberZero", [] { return Encode(PutInode{File(0), false}); }, "inode number 0"},
    {"SizePastInt64Max", [] { return Encode(PutInode{File(2, S_IFREG | 0644, uint64_t{1} << 63), false}); }, "size"},
    // Sockets and devices are kinds the VFS makes (rule X5), but only a
    // device has a number, and attributes keep setxattr's limits (X2).
    {"SocketInodeWithRdev", [] {
       InodeRecord r = File(2, S_IFSOCK | 0644);
       r.rdev = 5;
       return Encode(PutInode{r, false});
     }, "rdev"},
    {"XattrInUnknownNamespace", [] {
       InodeRecord r = File(2);
       r.xattrs["system.posix_acl_access"] = "x";  // security.* is known (rule X2)
       return Encode(PutInode{r, false});
     }, "namespace"},
    {"XattrValueTooLarge", [] {
       InodeRecord r = File(2);
       r.xattrs["user.big"] = std::string(65537, 'v');
       return Encode(PutInode{r, false});
     }, "value"},
    {"ModeZeroInode", [] { return Encode(PutInode{File(2, 0), false}); }, "mode"},
    {"ModeWithUnknownBits", [] { return Encode(PutInode{File(2, (S_IFREG | 0644) | (1u << 20)), false}); }, "mode"},
    {"SymlinkWithoutTarget", [] { return Encode(PutInode{File(2, S_IFLNK | 0777), false}); }, "symlink"},
    {"FileWithATarget", [] {
       InodeRecord r = File(2);
       r.symlink_target = "/etc";
       return Encode(PutInode{r, false});
     }, "target"},
    {"NanosecondsPastASecond", [] {
       InodeRecord r = File(2);
       r.mtime = Timespec{1, 1'000'000'000};
       return Encode(PutInode{r, false});
     }, "mtime"},
    {"NameOf256Bytes", [] { return Encode(PutDirent{kRootInode, std::string(256, 'n'), InodeId(2)}); }, "256 bytes"},
    {"NameWithNul", [] { return Encode(PutDirent{kRootInode, std::string("a\0b", 3), InodeId(2)}); }, "NUL"},
    {"NameWithSlash", [] { return Encode(PutDirent{kRootInode, "a/b", InodeId(2)}); }, "'/'"},
    {"EmptyName", [] { return Encode(PutDirent{kRootInode, "", InodeId(2)}); }, "empty name"},
    {"DotDotName", [] { return Encode(PutDirent{kRootInode, "..", InodeId(2)}); }, "'..'"},
    {"EntryNamingTheRoot", [] { return Encode(PutDirent{kRootInode, "loop", kRootInode}); }, "root"},
    {"EntryInDirectoryZero", [] { return Encode(PutDirent{InodeId(0), "x", InodeId(2)}); }, "inode number 0"},
    {"TruncateSizePastInt64Max", [] { return Encode(Truncate{InodeId(2), UINT64_MAX, 1}); }, "size"},
    {"TruncateGenerationAllOnes", [] { return Encode(Truncate{InodeId(2), 0, UINT64_MAX}); }, "generation"},
    // One past the largest the VFS gives out (vfs/types.h): a mount that
    // went on from it would write a generation the next open refuses.
    {"TruncateGenerationPastTheLargest", [] { return Encode(Truncate{InodeId(2), 0, kMaxGeneration + 1}); }, "generation"},
    {"PageGenerationPastTheLargest", [] { return Encode(PutPage{InodeId(2), PageIndex(0), PageBuffer::Allocate(kPage), kMaxGeneration + 1}); }, "generation"},
    {"FreeTheRoot", [] { return Encode(FreeInode{kRootInode}); }, "root"},
    {"SecondPageSize", [] { return Encode(PutSuperblock{8192}); }, "page size"},
    {"FlagByteOfTwo", [] {
       std::string out = Encode(PutInode{File(2), false});
       out[1] = 2;  // data_only
       return out;
     }, "malformed"},
};

class ForgedRecordTest : public DiskDamageTest, public ::testing::WithParamInterface<Forgery> {};

// A frame with a valid checksum holding one forged record: EIO naming the
// log and the record's offset, the store untouched.
TEST_P(ForgedRecordTest, IsEioNamingFileAndOffset) {
  MakeStore();
  const std::string payload = GetParam().payload();
  const uint64_t at = AppendFrame(1, payload);
  const auto before = Snapshot(dir_.path());
  std::string why;
  DiskStoreOptions quiet;
  quiet.error_log = [](const std::string&) {};
  EXPECT_ERRNO(OpenDiskStore(dir_.path(), quiet, &why), EIO);
  EXPECT_NE(why.find("log-000001"), std::string::npos) << why;
  EXPECT_NE(why.find("offset " + std::to_string(at)), std::string::npos) << why;
  EXPECT_NE(why.find(GetParam().reason), std::string::npos) << why;
  EXPECT_TRUE(before == Snapshot(dir_.path())) << "a failed open changed the directory";
}

INSTANTIATE_TEST_SUITE_P(Forgeries, ForgedRecordTest, ::testing::ValuesIn(kForgeries),
                         [](const auto& info) { return std::string(info.param.name); });

// A log whose records come before any superblock: the mount would take the
// store for empty and format it over them, and the old entries would come
// back beside the new files (found by the store-loader fuzzer,
// fuzz/store_corpus/records_before_the_superblock).
TEST_F(DiskDamageTest, RecordBeforeTheSuperblockIsEio) {
  const uint64_t salt = 0x1234;
  Spit(dir_ / "VFSSTORE", disk::EncodeIdentity(disk::Identity{disk::kFormatVersion, salt}));
  disk::LogHeader header;
  header.number = 1;
  header.salt = salt;
  Spit(dir_ / "log-000001", disk::EncodeLogHeader(header));
  const uint64_t at = AppendFrame(1, Encode(PutDirent{kRootInode, "c", InodeId(2)}));
  ExpectRefused("log-000001", static_cast<int64_t>(at));
}

// A store whose largest inode number is the largest allowed: it opens, a
// new file is ENOSPC (the next number would be refused by the next open),
// and the store opens again (found by the store-loader fuzzer,
// fuzz/store_corpus/largest_inode_number_then_create).
TEST_F(DiskDamageTest, LargestInodeNumberOpensAndCreateIsEnospc) {
  MakeStore();
  AppendFrame(1, Encode(PutInode{File(kMaxInodeNumber), false}) +
                     Encode(PutDirent{kRootInode, "big", InodeId(kMaxInodeNumber)}));
  {
    auto fs = Filesystem::Mount(OpenOrDie(), {});
    ASSERT_TRUE(fs.ok());
    EXPECT_TRUE((*fs)->Stat("/big").ok());
    EXPECT_ERRNO((*fs)->Open("/new", O_WRONLY | O_CREAT, 0644), ENOSPC);
    ASSERT_OK((*fs)->Unmount());
  }
  auto fs = Filesystem::Mount(OpenOrDie(), {});
  ASSERT_TRUE(fs.ok());
  EXPECT_TRUE((*fs)->Stat("/big").ok());
}

// A store whose largest generation is the largest allowed: it opens, a
// truncation or hole punch that needs a new generation is ENOSPC and
// changes nothing (the next one would be refused by the next open), a
// truncation that grows the file still works, and the store opens again
// with the file intact (found by the store-loader fuzzer at INT64_MAX,
// fuzz/store_corpus/generation_at_int64_max_then_a_repair).
TEST_F(DiskDamageTest, LargestGenerationOpensAndTruncateIsEnospc) {
  MakeStore();
  PageRef page = PageBuffer::Allocate(kPage);
  std::memset(page->data(), 'g', kPage);
  AppendFrame(1, Encode(PutInode{File(2, S_IFREG | 0644, 2 * kPage), false}) +
                     Encode(PutDirent{kRootInode, "f", InodeId(2)}) +
                     Encode(PutPage{InodeId(2), PageIndex(0), page, kMaxGeneration}) +
                     Encode(PutPage{InodeId(2), PageIndex(1), page, 0}));
  const std::string expected(2 * kPage, 'g');
  auto contents = [](Filesystem& fs) {
    std::string bytes(3 * kPage, '\0');
    auto fd = fs.Open("/f", O_RDONLY);
    if (!fd.ok()) return std::string("open failed");
    auto n = fs.Pread(*fd, bytes.data(), bytes.size(), 0);
    (void)fs.Close(*fd);
    bytes.resize(n.ok() ? *n : 0);
    return bytes;
  };
  {
    auto fs = Filesystem::Mount(OpenOrDie(), {});
    ASSERT_TRUE(fs.ok());
    EXPECT_ERRNO((*fs)->Truncate("/f", kPage), ENOSPC);
    auto fd = (*fs)->Open("/f", O_RDWR);
    ASSERT_TRUE(fd.ok());
    EXPECT_ERRNO((*fs)->Fallocate(*fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2 * kPage),
                 ENOSPC);
    ASSERT_OK((*fs)->Close(*fd));
    EXPECT_EQ(contents(**fs), expected);
    // Growing drops no page and needs no generation.
    ASSERT_OK((*fs)->Truncate("/f", 3 * kPage));
    ASSERT_OK((*fs)->Unmount());
  }
  auto fs = Filesystem::Mount(OpenOrDie(), {});
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ(contents(**fs), expected + std::string(kPage, '\0'));
}

// At the largest generation, a store that needs a mount-time repair (a
// page past its file's size, cut by a new truncation) does not mount:
// ENOSPC, and the store is left as it was.
TEST_F(DiskDamageTest, LargestGenerationWithARepairDueIsEnospcAtMount) {
  MakeStore();
  AppendFrame(1, Encode(PutInode{File(2), false}) + Encode(PutDirent{kRootInode, "f", InodeId(2)}) +
                     Encode(PutPage{InodeId(2), PageIndex(0), PageBuffer::Allocate(kPage),
                                    kMaxGeneration}));
  const auto before = Snapshot(dir_.path());
  {
    auto store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    EXPECT_ERRNO(Filesystem::Mount(store, {}), ENOSPC);
  }
  EXPECT_TRUE(before == Snapshot(dir_.path())) << "a failed mount changed the store";
}

// At the largest generation, a repair that needs no generation (an entry
// naming a missing inode, dropped) does not stop the mount.
TEST_F(DiskDamageTest, LargestGenerationWithAnEntryRepairMounts) {
  MakeStore();
  // Inodes 10 and 11: MakeStore's files are 2 to 4.
  AppendFrame(1, Encode(PutInode{File(10, S_IFREG | 0644, kPage), false}) +
                     Encode(PutDirent{kRootInode, "f", InodeId(10)}) +
                     Encode(PutPage{InodeId(10), PageIndex(0), PageBuffer::Allocate(kPage),
                                    kMaxGeneration}) +
                     Encode(PutDirent{kRootInode, "ghost", InodeId(11)}));
  auto fs = Filesystem::Mount(OpenOrDie(), {});
  ASSERT_TRUE(fs.ok()) << std::strerror(fs.error());
  EXPECT_EQ((*fs)->mount_report().dropped_entries, 1u);
  EXPECT_TRUE((*fs)->Stat("/f").ok());
  EXPECT_ERRNO((*fs)->Stat("/ghost"), ENOENT);
}

// The same frame holding a valid record opens: the forgeries fail for
// their field, not for being appended.
TEST_F(DiskDamageTest, AppendedValidFrameOpens) {
  MakeStore();
  AppendFrame(1, Encode(PutDirent{kRootInode, "d", InodeId(2)}));
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  auto fs = Filesystem::Mount(store, {});
  ASSERT_TRUE(fs.ok());
  EXPECT_TRUE((*fs)->Stat("/d").ok());
}

// A checkpoint footer whose metadata size wraps past 2^64 to look right.
TEST_F(DiskDamageTest, CheckpointFooterWithWrappingSizeIsEio) {
  const uint64_t newest = CompactUntil(this, dir_.path(), DiskCompactionStep::kOldFilesRemoved,
                                       &DiskDamageTest::OpenOrDie);
  ASSERT_GE(newest, 2u);
  const std::string name = disk::CheckpointName(newest);
  std::string checkpoint = Slurp(dir_ / name);
  const uint64_t footer_at = checkpoint.size() - disk::kCheckpointFooterSize;
  disk::CheckpointFooter footer;
  footer.number = newest;
  footer.meta_offset = footer_at + 4096;
  footer.meta_size = UINT64_MAX - 4095;  // meta_offset + meta_size == footer_at, mod 2^64
  checkpoint.replace(footer_at, disk::kCheckpointFooterSize,
                     disk::EncodeCheckpointFooter(footer, SaltOf(dir_.path())));
  Spit(dir_ / name, checkpoint);
  ExpectRefused(name, static_cast<int64_t>(footer_at));
}

}  // namespace
}  // namespace vfs::testing
