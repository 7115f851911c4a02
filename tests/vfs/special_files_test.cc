// Rule X5 (mknod of every type, rdev durable, device and socket nodes give
// ENXIO in-process), rule X6 (FIFO answers), and the directory lseek of
// tmpfs (dcache_dir_lseek): Linux's fs/namei.c may_mknod / vfs_mknod,
// fs/pipe.c and fs/libfs.c are the reference.
#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace vfs::testing {
namespace {

class SpecialFilesTest : public VfsTest {
 protected:
  void SyncRoot() {
    Fd root = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
    ASSERT_OK(fs_->Fsync(root));
    ASSERT_OK(fs_->Close(root));
  }
};

TEST_F(SpecialFilesTest, MknodMakesEveryTypeX5) {
  ASSERT_OK(fs_->Mknod("/reg", S_IFREG | 0644, 0));
  ASSERT_OK(fs_->Mknod("/zero", 0644, 0));  // type 0: a regular file
  ASSERT_OK(fs_->Mknod("/fifo", S_IFIFO | 0644, 0));
  ASSERT_OK(fs_->Mknod("/sock", S_IFSOCK | 0644, 0));
  ASSERT_OK(fs_->Mknod("/chr", S_IFCHR | 0644, makedev(1, 3)));
  ASSERT_OK(fs_->Mknod("/blk", S_IFBLK | 0644, makedev(8, 1)));
  const std::vector<std::pair<std::string, uint32_t>> want = {
      {"/reg", S_IFREG}, {"/zero", S_IFREG}, {"/fifo", S_IFIFO},
      {"/sock", S_IFSOCK}, {"/chr", S_IFCHR}, {"/blk", S_IFBLK}};
  for (const auto& [path, type] : want) {
    ASSERT_OK_AND_ASSIGN(st, fs_->Lstat(path));
    EXPECT_EQ(st.mode & S_IFMT, type) << path;
  }
  ASSERT_OK_AND_ASSIGN(chr, fs_->Stat("/chr"));
  EXPECT_EQ(chr.rdev, makedev(1, 3));
  ASSERT_OK_AND_ASSIGN(fifo, fs_->Stat("/fifo"));
  EXPECT_EQ(fifo.rdev, 0u);
}

TEST_F(SpecialFilesTest, MknodOfADirectoryIsEpermAndOfAnUnknownTypeEinvalX5) {
  EXPECT_ERRNO(fs_->Mknod("/d", S_IFDIR | 0755, 0), EPERM);
  EXPECT_ERRNO(fs_->Mknod("/l", S_IFLNK | 0777, 0), EINVAL);
  EXPECT_ERRNO(fs_->Mknod("/x", 0170000 | 0644, 0), EINVAL);
}

TEST_F(SpecialFilesTest, MknodOnAnExistingNameIsEexistX5) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Mknod("/f", S_IFIFO | 0644, 0), EEXIST);
}

TEST_F(SpecialFilesTest, ReaddirGivesTheTypesOfSpecialFilesX5) {
  ASSERT_OK(fs_->Mknod("/a_sock", S_IFSOCK | 0644, 0));
  ASSERT_OK(fs_->Mknod("/b_chr", S_IFCHR | 0644, makedev(1, 3)));
  ASSERT_OK(fs_->Mknod("/c_blk", S_IFBLK | 0644, makedev(8, 1)));
  Fd dir = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(entries, fs_->ReadDir(dir));
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[2].type, DT_SOCK);
  EXPECT_EQ(entries[3].type, DT_CHR);
  EXPECT_EQ(entries[4].type, DT_BLK);
}

TEST_F(SpecialFilesTest, OpeningADeviceOrSocketIsEnxioX5) {
  ASSERT_OK(fs_->Mknod("/sock", S_IFSOCK | 0666, 0));
  ASSERT_OK(fs_->Mknod("/chr", S_IFCHR | 0666, makedev(1, 3)));
  EXPECT_ERRNO(fs_->Open("/sock", O_RDWR), ENXIO);
  EXPECT_ERRNO(fs_->Open("/chr", O_RDONLY), ENXIO);
  EXPECT_OK(fs_->Open("/chr", O_PATH));  // a handle without I/O is fine
}

TEST_F(SpecialFilesTest, RdevIsDurableWithTheRecordX5) {
  ASSERT_OK(fs_->Mknod("/chr", S_IFCHR | 0640, makedev(4, 64)));
  ASSERT_OK(fs_->Mknod("/sock", S_IFSOCK | 0600, 0));
  SyncRoot();
  CrashAndRemount();
  ASSERT_OK_AND_ASSIGN(chr, fs_->Stat("/chr"));
  EXPECT_EQ(chr.mode, S_IFCHR | 0640u);
  EXPECT_EQ(chr.rdev, makedev(4, 64));
  ASSERT_OK_AND_ASSIGN(sock, fs_->Stat("/sock"));
  EXPECT_EQ(sock.mode, S_IFSOCK | 0600u);
}

TEST_F(SpecialFilesTest, NonblockingWriteOpenOfAFifoWithNoReaderIsEnxioX6) {
  ASSERT_OK(fs_->Mkfifo("/p", 0644));
  EXPECT_ERRNO(fs_->Open("/p", O_WRONLY | O_NONBLOCK), ENXIO);
  Fd reader = OpenOrDie("/p", O_RDONLY | O_NONBLOCK);
  EXPECT_OK(fs_->Open("/p", O_WRONLY | O_NONBLOCK));
  ASSERT_OK(fs_->Close(reader));
}

TEST_F(SpecialFilesTest, WriteToAFifoWithNoReaderIsEpipeX6) {
  ASSERT_OK(fs_->Mkfifo("/p", 0644));
  Fd reader = OpenOrDie("/p", O_RDONLY | O_NONBLOCK);
  Fd writer = OpenOrDie("/p", O_WRONLY | O_NONBLOCK);
  ASSERT_OK(fs_->Write(writer, "x", 1));
  ASSERT_OK(fs_->Close(reader));
  EXPECT_ERRNO(fs_->Write(writer, "y", 1), EPIPE);
  ASSERT_OK_AND_ASSIGN(zero, fs_->Write(writer, "", 0));  // nothing to write: 0
  EXPECT_EQ(zero, 0u);
}

TEST_F(SpecialFilesTest, WriteToAPipeWhoseReadEndIsClosedIsEpipeX6) {
  ASSERT_OK_AND_ASSIGN(ends, fs_->Pipe());
  ASSERT_OK(fs_->Close(ends.first));
  EXPECT_ERRNO(fs_->Write(ends.second, "y", 1), EPIPE);
}

TEST_F(SpecialFilesTest, PositionedCallsOnAFifoAreEspipeX6) {
  ASSERT_OK(fs_->Mkfifo("/p", 0644));
  Fd fd = OpenOrDie("/p", O_RDWR);
  char c;
  EXPECT_ERRNO(fs_->Pread(fd, &c, 1, 0), ESPIPE);
  EXPECT_ERRNO(fs_->Pwrite(fd, "c", 1, 0), ESPIPE);
  EXPECT_ERRNO(fs_->Lseek(fd, 0, SEEK_SET), ESPIPE);
  EXPECT_ERRNO(fs_->Pwrite2(fd, "c", 1, 0, 0), ESPIPE);
}

// Rule X6, as Linux's pwritev2: offset -1 means the current position, so on
// a FIFO it is a plain write (do_writev), not ESPIPE.
TEST_F(SpecialFilesTest, Pwrite2AtMinusOneWritesToAFifoX6) {
  ASSERT_OK(fs_->Mkfifo("/p", 0644));
  Fd fd = OpenOrDie("/p", O_RDWR);
  ASSERT_OK_AND_ASSIGN(n, fs_->Pwrite2(fd, "abc", 3, -1, kRwfDsync));
  EXPECT_EQ(n, 3u);
  char buf[8] = {};
  ASSERT_OK_AND_ASSIGN(got, fs_->Read(fd, buf, sizeof buf));
  EXPECT_EQ(std::string(buf, got), "abc");
  EXPECT_ERRNO(fs_->Pwrite2(fd, "x", 1, -1, 0x40), EOPNOTSUPP);  // an unknown flag
}

// Past the last name a directory's position reads nothing until the next
// lseek, names made afterwards included (tmpfs gives them positions below
// it), and the position stays where it was: at INT64_MAX a readdir moved
// it past the largest offset (the fuzzer found the overflow under UBSan).
TEST_F(SpecialFilesTest, DirectoryLseekPastTheLastNameReadsNothing) {
  WriteFile("/d", "");
  Fd dir = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  for (int64_t pos : {int64_t{4}, INT64_MAX}) {
    ASSERT_OK_AND_ASSIGN(set, fs_->Lseek(dir, pos, SEEK_SET));  // ".", "..", "d" are 0-2
    EXPECT_EQ(set, pos);
    WriteFile(pos == 4 ? "/e" : "/f", "");  // sorts after "d"
    ASSERT_OK_AND_ASSIGN(none, fs_->ReadDir(dir));
    EXPECT_TRUE(none.empty()) << pos;
    ASSERT_OK_AND_ASSIGN(at, fs_->Lseek(dir, 0, SEEK_CUR));
    EXPECT_EQ(at, pos);
  }
  // At the last name itself (position 3 after ".", ".." and "d"), a name
  // made later that sorts after it is read, as when reading reached the end.
  ASSERT_OK_AND_ASSIGN(end, fs_->Lseek(dir, 3, SEEK_SET));
  EXPECT_EQ(end, 3);
  ASSERT_OK_AND_ASSIGN(rest, fs_->ReadDir(dir));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].name, "e");
  EXPECT_EQ(rest[1].name, "f");
}

TEST_F(SpecialFilesTest, DirectoryLseekTakesAnyPositionAndReaddirGoesOn) {
  for (const char* name : {"/a", "/b", "/c", "/d"}) WriteFile(name, "");
  Fd dir = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(first, fs_->ReadDir(dir, 3));  // ".", "..", "a"
  ASSERT_EQ(first.size(), 3u);
  ASSERT_OK_AND_ASSIGN(at, fs_->Lseek(dir, 0, SEEK_CUR));
  EXPECT_EQ(at, 3);
  ASSERT_OK_AND_ASSIGN(set, fs_->Lseek(dir, 4, SEEK_SET));  // past "b"
  EXPECT_EQ(set, 4);
  ASSERT_OK_AND_ASSIGN(rest, fs_->ReadDir(dir));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].name, "c");
  EXPECT_EQ(rest[1].name, "d");
  ASSERT_OK_AND_ASSIGN(back, fs_->Lseek(dir, -5, SEEK_CUR));  // 6 - 5
  EXPECT_EQ(back, 1);
  ASSERT_OK_AND_ASSIGN(again, fs_->ReadDir(dir, 2));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].name, "..");
  EXPECT_EQ(again[1].name, "a");
  EXPECT_ERRNO(fs_->Lseek(dir, -1, SEEK_SET), EINVAL);
  EXPECT_ERRNO(fs_->Lseek(dir, 0, SEEK_END), EINVAL);
  ASSERT_OK_AND_ASSIGN(far, fs_->Lseek(dir, 1000, SEEK_SET));
  EXPECT_EQ(far, 1000);
  ASSERT_OK_AND_ASSIGN(none, fs_->ReadDir(dir));
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace vfs::testing
