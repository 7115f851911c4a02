// The fuzzer's inputs replayed in the normal build (gcc or clang, no
// libFuzzer): every saved regression and every corpus seed must run through
// the driver without a mismatch. Also tests of the reference model itself,
// and that the checker does report a wrong result.
#include <fcntl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/memory/memory_store.h"
#include "fuzz/fuzz_driver.h"
#include "fuzz/reference_model.h"
#include "gtest/gtest.h"
#include "vfs/filesystem.h"

namespace vfs::fuzz {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> bytes) {
  std::vector<uint8_t> out;
  for (int b : bytes) out.push_back(static_cast<uint8_t>(b));
  return out;
}

void ReplayDirectory(const std::string& dir, size_t* count) {
  for (const std::string& path : ListInputs(dir)) {
    std::vector<uint8_t> input;
    ASSERT_TRUE(ReadInput(path, &input)) << path;
    DriverOptions options;
    options.trace = true;
    RunOutcome outcome = RunInput(input.data(), input.size(), options);
    EXPECT_FALSE(outcome.mismatch) << path << "\n" << outcome.report;
    ++*count;
  }
}

TEST(FuzzRegression, EverySavedRegressionReplaysWithoutMismatch) {
  size_t count = 0;
  ReplayDirectory(VFS_SOURCE_DIR "/fuzz/regressions", &count);
  std::printf("replayed %zu regressions\n", count);
}

TEST(FuzzRegression, EveryCorpusSeedReplaysWithoutMismatch) {
  size_t count = 0;
  ReplayDirectory(VFS_SOURCE_DIR "/fuzz/corpus", &count);
  EXPECT_GT(count, 0u) << "no seeds in fuzz/corpus";
}

// The first finding (fuzz/regressions/truncate_keeps_page_in_writeback),
// by hand: a page sent by sync_file_range, then a shrinking ftruncate that
// keeps it, then fsync. The truncation's record used to carry the size of
// the file before its first write (0), so the store dropped the page.
TEST(FuzzFindings, ShrinkingTruncateKeepsAPageSentBeforeIt) {
  auto store = NewMemoryStore();
  auto fs = Filesystem::Mount(store).value();
  Fd fd = fs->Open("/d", O_WRONLY | O_CREAT, 0644).value();
  ASSERT_TRUE(fs->Write(fd, "durable", 7).ok());
  ASSERT_TRUE(fs->Pwrite(fd, "far", 3, 46809).ok());
  ASSERT_TRUE(fs->SyncFileRange(fd, 0, 4096, kSyncFileRangeWrite).ok());  // page 0 sent
  ASSERT_TRUE(fs->Ftruncate(fd, 221).ok());  // page 0 stays, the far page goes
  ASSERT_TRUE(fs->Fsync(fd).ok());
  Fd root = fs->Open("/", O_RDONLY | O_DIRECTORY).value();
  ASSERT_TRUE(fs->Fsync(root).ok());
  fs->Crash();
  auto after = Filesystem::Mount(store).value();
  Fd rd = after->Open("/d", O_RDONLY).value();
  std::string data(300, '?');
  auto n = after->Pread(rd, data.data(), data.size(), 0);
  ASSERT_TRUE(n.ok());
  data.resize(*n);
  EXPECT_EQ(data, "durable" + std::string(221 - 7, '\0'));
}

// A small program: create "/a" holding bytes, then read it back through a
// new descriptor; op bytes follow Driver::Step.
std::vector<uint8_t> CreateAndReadProgram() {
  return Bytes({
      29, 5, 0, 20, 0x41,        // create "/a" with 20 bytes (the default op)
      0, 5, 0, 2, 0, 0xa4, 0x01,  // open("/a", O_RDWR, 0644)
      4, 0, 100,                  // read(fd 0, 100)
  });
}

TEST(FuzzChecker, ACleanProgramHasNoMismatch) {
  std::vector<uint8_t> program = CreateAndReadProgram();
  DriverOptions options;
  options.trace = true;
  RunOutcome outcome = RunInput(program.data(), program.size(), options);
  EXPECT_FALSE(outcome.mismatch) << outcome.report;
  EXPECT_EQ(outcome.calls, 3u);
  // The read returned the 20 bytes: every call succeeded.
  EXPECT_EQ(outcome.trace,
            "#0 create \"/a\" with <20 bytes> = ok = ok = ok\n"
            "#1 openat(-100, \"/a\", 0x2, 644) = ok\n"
            "#2 read(0, 100) = ok\n"
            "#3 (end: close every descriptor, compare the trees) = ok\n");
}

TEST(FuzzChecker, AWrongVfsResultIsReportedAsAMismatch) {
  std::vector<uint8_t> program = CreateAndReadProgram();
  for (int64_t call = 0; call < 3; ++call) {
    DriverOptions options;
    options.trace = true;
    options.tamper_call = call;
    RunOutcome outcome = RunInput(program.data(), program.size(), options);
    EXPECT_TRUE(outcome.mismatch) << "tampering with call " << call << " went unnoticed";
    EXPECT_NE(outcome.report.find("mismatch at call #" + std::to_string(call)), std::string::npos)
        << outcome.report;
  }
}

TEST(FuzzChecker, ALostDurableFileAfterACrashIsReported) {
  std::vector<uint8_t> program;
  ASSERT_TRUE(ReadInput(VFS_SOURCE_DIR "/fuzz/corpus/fsync_file_and_dir_then_crash", &program));
  RunOutcome clean = RunInput(program.data(), program.size());
  ASSERT_FALSE(clean.mismatch) << clean.report;
  ASSERT_EQ(clean.crashes, 1u);
  DriverOptions options;
  options.tamper_call = 5;  // the power cut: the mounted tree loses "/a"
  RunOutcome outcome = RunInput(program.data(), program.size(), options);
  EXPECT_TRUE(outcome.mismatch);
  EXPECT_NE(outcome.report.find("\"/a\" is gone, but its directory was fsynced with it"),
            std::string::npos)
      << outcome.report;
}

TEST(FuzzChecker, AnUnsyncedFileMayVanishInACrash) {
  // As fsync_file_and_dir_then_crash without the directory fsync: the
  // name is not durable (D3), so losing it is no mismatch.
  std::vector<uint8_t> program = Bytes({29, 5, 0, 200, 0x10, 0x20, 7,  // create "/a"
                                        0, 5, 0, 2, 0, 0xa4, 0x01,     // open it
                                        11, 0,                         // fsync(0)
                                        28});                          // power cut
  DriverOptions options;
  options.tamper_call = 3;
  RunOutcome outcome = RunInput(program.data(), program.size(), options);
  EXPECT_FALSE(outcome.mismatch) << outcome.report;
  EXPECT_EQ(outcome.crashes, 1u);
}

TEST(FuzzChecker, RandomProgramsWithFixedSeedsAgree) {
  // Deterministic pseudo-random inputs (seed printed), so the checker runs
  // crash checks and odd arguments in the normal test suite too.
  uint64_t state = 0x5eed;
  std::printf("seed %#llx\n", static_cast<unsigned long long>(state));
  size_t crashes = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> input(64 + i % 400);
    for (uint8_t& b : input) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      b = static_cast<uint8_t>(state >> 56);
    }
    DriverOptions options;
    options.trace = true;
    RunOutcome outcome = RunInput(input.data(), input.size(), options);
    ASSERT_FALSE(outcome.mismatch) << "input " << i << "\n" << outcome.report;
    crashes += outcome.crashes;
  }
  EXPECT_GT(crashes, 0u) << "no input exercised a crash";
}

// ---- The reference model on its own ----

TEST(ReferenceModel, OpenReturnsTheLowestFreeDescriptor) {
  ReferenceModel model(ReferenceModel::Limits{});
  EXPECT_EQ(*model.Open("/a", O_CREAT | O_RDWR, 0644), 0);
  EXPECT_EQ(*model.Open("/a", O_RDONLY, 0), 1);
  ASSERT_TRUE(model.Close(0).ok());
  EXPECT_EQ(*model.Open("/a", O_RDONLY, 0), 0);
  EXPECT_EQ(model.Close(7).error(), EBADF);
}

TEST(ReferenceModel, WritePastTheEndLeavesAZeroFilledHole) {
  ReferenceModel model(ReferenceModel::Limits{});
  const int fd = *model.Open("/f", O_CREAT | O_RDWR, 0600);
  ASSERT_EQ(*model.Pwrite(fd, "xy", 5), 2u);
  EXPECT_EQ(*model.Pread(fd, 100, 0), std::string("\0\0\0\0\0xy", 7));
  EXPECT_EQ(model.Pread(fd, 1, -1).error(), EINVAL);
}

TEST(ReferenceModel, SymlinkLoopIsEloopAndDanglingLinkIsEnoent) {
  ReferenceModel model(ReferenceModel::Limits{});
  ASSERT_TRUE(model.Symlink("l", "/l").ok());
  EXPECT_EQ(model.Stat("/l", /*follow=*/true).error(), ELOOP);
  EXPECT_TRUE(model.Stat("/l", /*follow=*/false).ok());
  ASSERT_TRUE(model.Symlink("/nowhere", "/d").ok());
  EXPECT_EQ(model.Stat("/d", true).error(), ENOENT);
}

// As Linux (tests/vfs/trailing_slash_test.cc has the table): a trailing
// slash makes a lookup follow a final symlink, never mkdir, unlink, rename
// or rmdir.
TEST(ReferenceModel, TrailingSlashFollowsASymlinkOnlyForLookups) {
  ReferenceModel model(ReferenceModel::Limits{});
  ASSERT_TRUE(model.Mkdir("/d", 0755).ok());
  ASSERT_TRUE(model.Symlink("d", "/ld").ok());
  ASSERT_TRUE(model.Symlink("nowhere", "/ln").ok());
  EXPECT_TRUE(model.Stat("/ld/", /*follow=*/false).ok());
  EXPECT_EQ(model.Stat("/ln/", /*follow=*/false).error(), ENOENT);
  EXPECT_EQ(model.Mkdir("/ln/", 0755).error(), EEXIST);
  EXPECT_EQ(model.Stat("/nowhere", true).error(), ENOENT);
  EXPECT_EQ(model.Rmdir("/ld/").error(), ENOTDIR);
  EXPECT_EQ(model.Unlink("/ld/").error(), ENOTDIR);
  EXPECT_EQ(model.Rename("/ld/", "/x", 0).error(), ENOTDIR);
  EXPECT_EQ(model.Open("/ln/", O_CREAT | O_WRONLY, 0644).error(), EISDIR);
  EXPECT_TRUE(model.Stat("/d", true).ok());
}

// As Linux: in a removed directory "." and ".." resolve, other names do not,
// and readdir is ENOENT.
TEST(ReferenceModel, DotResolvesInARemovedDirectory) {
  ReferenceModel model(ReferenceModel::Limits{});
  ASSERT_TRUE(model.Mkdir("/d", 0755).ok());
  const int dir = *model.Open("/d", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_TRUE(model.Rmdir("/d").ok());
  const int dot = *model.OpenAt(dir, ".", O_RDONLY, 0);
  EXPECT_GE(dot, 0);
  EXPECT_TRUE(model.OpenAt(dir, "..", O_RDONLY, 0).ok());
  EXPECT_EQ(model.OpenAt(dir, "x", O_CREAT | O_WRONLY, 0644).error(), ENOENT);
  EXPECT_EQ(model.ReadDir(dir, SIZE_MAX).error(), ENOENT);
}

TEST(ReferenceModel, RenameOfADirectoryIntoItselfIsEinval) {
  ReferenceModel model(ReferenceModel::Limits{});
  ASSERT_TRUE(model.Mkdir("/a", 0755).ok());
  ASSERT_TRUE(model.Mkdir("/a/b", 0755).ok());
  EXPECT_EQ(model.Rename("/a", "/a/b/c", 0).error(), EINVAL);
  EXPECT_EQ(model.Rmdir("/a").error(), ENOTEMPTY);
  EXPECT_TRUE(model.Rename("/a/b", "/c", 0).ok());
  EXPECT_TRUE(model.Rmdir("/a").ok());
}

TEST(ReferenceModel, OnlyAFsyncedDirectoryHasDurableEntries) {
  ReferenceModel model(ReferenceModel::Limits{});
  const int fd = *model.Open("/f", O_CREAT | O_WRONLY, 0644);
  ASSERT_TRUE(model.Fsync(fd).ok());  // the file, not its name (D3)
  const ModelNode& root = model.node(model.root());
  EXPECT_TRUE(root.durable_children.empty());
  EXPECT_TRUE(root.changed_names.count("f"));
  const int dir = *model.Open("/", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_TRUE(model.Fsync(dir).ok());
  EXPECT_EQ(root.durable_children.count("f"), 1u);
  EXPECT_TRUE(root.changed_names.empty());
}

TEST(ReferenceModel, PathLimitsGiveEnametoolong) {
  ReferenceModel model(ReferenceModel::Limits{});
  EXPECT_EQ(model.Mkdir("/" + std::string(17, 'n'), 0755).error(), ENAMETOOLONG);
  EXPECT_EQ(model.Mkdir("/" + std::string(70, 'n'), 0755).error(), ENAMETOOLONG);
  EXPECT_EQ(model.Mkdir(std::string("/a\0b", 4), 0755).error(), EINVAL);
  EXPECT_EQ(model.Mkdir("", 0755).error(), ENOENT);
}

// Rule X4: O_TMPFILE makes a file with no name; without write access, or
// without O_DIRECTORY's bit, it is EINVAL; on a file ENOTDIR.
TEST(ReferenceModel, TmpfileHasNoNameAndNlinkZero) {
  ReferenceModel model(ReferenceModel::Limits{});
  ASSERT_TRUE(model.Mkdir("/d", 0755).ok());
  EXPECT_EQ(model.Open("/d", O_TMPFILE | O_RDONLY, 0600).error(), EINVAL);
  EXPECT_EQ(model.Open("/d", (O_TMPFILE & ~O_DIRECTORY) | O_RDWR, 0600).error(), EINVAL);
  EXPECT_EQ(model.Open("/d", O_TMPFILE | O_CREAT | O_RDWR, 0600).error(), EINVAL);
  Result<int> fd = model.Open("/d", O_TMPFILE | O_RDWR, 06755);
  ASSERT_TRUE(fd.ok());
  ASSERT_EQ(*model.Write(*fd, "xy"), 2u);
  ModelStat st = *model.Fstat(*fd);
  EXPECT_EQ(st.kind, ModelNode::Kind::kFile);
  EXPECT_EQ(st.nlink, 0u);
  EXPECT_EQ(st.perm, 06755u);  // root keeps the set-id bits (X1)
  EXPECT_EQ(st.size, 2u);
  int dir = *model.Open("/d", O_RDONLY | O_DIRECTORY, 0);
  EXPECT_EQ(model.ReadDir(dir, SIZE_MAX)->size(), 2u);  // "." and ".." only
  ASSERT_TRUE(model.Open("/f", O_CREAT | O_RDWR, 0600).ok());
  EXPECT_EQ(model.Open("/f", O_TMPFILE | O_RDWR, 0600).error(), ENOTDIR);
}

// A directory's position counts entries ("." 0, ".." 1, then names in
// order), as tmpfs: lseek to it and readdir goes on from there.
TEST(ReferenceModel, DirectoryLseekResumesReaddirAtThatEntry) {
  ReferenceModel model(ReferenceModel::Limits{});
  for (const char* name : {"/a", "/b", "/c"}) ASSERT_TRUE(model.Mkdir(name, 0755).ok());
  int dir = *model.Open("/", O_RDONLY | O_DIRECTORY, 0);
  EXPECT_EQ(*model.Lseek(dir, 3, SEEK_SET), 3);
  auto rest = *model.ReadDir(dir, SIZE_MAX);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].name, "b");
  EXPECT_EQ(*model.Lseek(dir, 0, SEEK_CUR), 5);
  EXPECT_EQ(*model.Lseek(dir, -4, SEEK_CUR), 1);
  EXPECT_EQ(model.ReadDir(dir, 1)->at(0).name, "..");
  EXPECT_EQ(*model.Lseek(dir, 100, SEEK_SET), 100);
  EXPECT_TRUE(model.ReadDir(dir, SIZE_MAX)->empty());
  EXPECT_EQ(model.Lseek(dir, -1, SEEK_SET).error(), EINVAL);
  EXPECT_EQ(model.Lseek(dir, 0, SEEK_END).error(), EINVAL);
}

}  // namespace
}  // namespace vfs::fuzz
