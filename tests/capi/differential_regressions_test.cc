// Differences from Linux tmpfs that the differential test found
// (tests/differential/differential_test.cc), one test each, through the C API. Each expected
// answer is what Linux tmpfs gave for the same calls; the comment above each
// test is the shrunk reproduction it comes from.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <string>

#include "vfs/vfs.h"

namespace {

class DifferentialRegressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vfs_options options;
    vfs_options_init(&options);
    ASSERT_EQ(vfs_mount(&options, &fs_), 0);
  }
  void TearDown() override { vfs_unmount(fs_); }

  vfs_fs* fs_ = nullptr;
};

// mkdir("/c", 07777); stat("/c"): Linux 041777 (vfs_mkdir keeps only the
// permission bits and the sticky bit).
TEST_F(DifferentialRegressionTest, MkdirDropsTheSetuidAndSetgidBits) {
  ASSERT_EQ(vfs_mkdir(fs_, "/c", 07777), 0);
  vfs_stat_buf st;
  ASSERT_EQ(vfs_stat(fs_, "/c", &st), 0);
  EXPECT_EQ(st.mode, static_cast<uint32_t>(S_IFDIR | 01777));
  ASSERT_EQ(vfs_mkdir(fs_, "/e", 02755), 0);
  ASSERT_EQ(vfs_stat(fs_, "/e", &st), 0);
  EXPECT_EQ(st.mode, static_cast<uint32_t>(S_IFDIR | 0755));
}

// pread(fd, buf, 100, INT64_MAX): Linux EINVAL (rw_verify_area: the range's
// end passes INT64_MAX); a count of 0 there reads nothing.
TEST_F(DifferentialRegressionTest, PreadWhoseRangePassesInt64MaxIsEinval) {
  int fd = vfs_open(fs_, "/c", O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  char buf[100];
  EXPECT_EQ(vfs_pread(fs_, fd, buf, sizeof buf, INT64_MAX), -EINVAL);
  EXPECT_EQ(vfs_pread(fs_, fd, buf, 0, INT64_MAX), 0);
  EXPECT_EQ(vfs_pread(fs_, fd, buf, sizeof buf, INT64_MAX - 100), 0);
}

// pwrite(fd, "abc", 3, INT64_MAX - 1): Linux EINVAL, not EFBIG; the file is
// unchanged.
TEST_F(DifferentialRegressionTest, PwriteWhoseRangePassesInt64MaxIsEinval) {
  int fd = vfs_open(fs_, "/c", O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_pwrite(fs_, fd, "abc", 3, INT64_MAX - 1), -EINVAL);
  vfs_stat_buf st;
  ASSERT_EQ(vfs_fstat(fs_, fd, &st), 0);
  EXPECT_EQ(st.size, 0u);
}

// lseek(fd, INT64_MAX - 1, SEEK_SET); read(fd, buf, 100) and write: Linux
// EINVAL for both (the file position's range passes INT64_MAX).
TEST_F(DifferentialRegressionTest, ReadAndWriteAtAPositionWhoseRangePassesInt64MaxAreEinval) {
  int fd = vfs_open(fs_, "/c", O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(vfs_lseek(fs_, fd, INT64_MAX - 1, SEEK_SET), INT64_MAX - 1);
  char buf[100];
  EXPECT_EQ(vfs_read(fs_, fd, buf, sizeof buf), -EINVAL);
  EXPECT_EQ(vfs_write(fs_, fd, "abc", 3), -EINVAL);
}

// open("/../nnn...(256)/", O_WRONLY|O_CREAT): Linux EISDIR, decided before
// the too-long last name is looked up; a missing directory before it is
// still ENOENT, and without O_CREAT the name is ENAMETOOLONG.
TEST_F(DifferentialRegressionTest, OpenCreateWithASlashAfterATooLongNameIsEisdir) {
  const std::string name(256, 'n');
  EXPECT_EQ(vfs_open(fs_, ("/../" + name + "/").c_str(), O_WRONLY | O_CREAT, 0), -EISDIR);
  EXPECT_EQ(vfs_open(fs_, (name + "/").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0), -EISDIR);
  EXPECT_EQ(vfs_open(fs_, ("/missing/" + name + "/").c_str(), O_WRONLY | O_CREAT, 0), -ENOENT);
  ASSERT_GE(vfs_open(fs_, "/f", O_WRONLY | O_CREAT, 0600), 0);
  EXPECT_EQ(vfs_open(fs_, ("/f/" + name + "/").c_str(), O_WRONLY | O_CREAT, 0), -ENOTDIR);
  EXPECT_EQ(vfs_open(fs_, ("/" + name + "/").c_str(), O_RDONLY, 0), -ENAMETOOLONG);
  EXPECT_EQ(vfs_open(fs_, ("/" + name).c_str(), O_WRONLY | O_CREAT, 0600), -ENAMETOOLONG);
}

// mkdir("/b"); chdir("/b"); rmdir("/b"); open("./e/", O_WRONLY|O_CREAT):
// Linux EISDIR (decided before the lookup that a removed directory fails).
TEST_F(DifferentialRegressionTest, OpenCreateWithASlashInARemovedDirectoryIsEisdir) {
  ASSERT_EQ(vfs_mkdir(fs_, "/b", 0755), 0);
  ASSERT_EQ(vfs_chdir(fs_, "/b"), 0);
  ASSERT_EQ(vfs_rmdir(fs_, "/b"), 0);
  EXPECT_EQ(vfs_open(fs_, "./e/", O_WRONLY | O_CREAT, 0600), -EISDIR);
  EXPECT_EQ(vfs_open(fs_, "e", O_WRONLY | O_CREAT, 0600), -ENOENT);
}

// symlink("/d/nnn...(256)/", "/c"); mkdir("/d"); open("/c", O_RDWR|O_CREAT):
// Linux EISDIR, the slash and the long name coming from the target.
TEST_F(DifferentialRegressionTest, OpenCreateThroughASymlinkToASlashedTooLongNameIsEisdir) {
  const std::string name(256, 'n');
  ASSERT_EQ(vfs_symlink(fs_, ("/d/" + name + "/").c_str(), "/c"), 0);
  ASSERT_EQ(vfs_mkdir(fs_, "/d", 0777), 0);
  EXPECT_EQ(vfs_open(fs_, "/c", O_RDWR | O_CREAT, 0444), -EISDIR);
  EXPECT_EQ(vfs_open(fs_, "/c", O_RDWR, 0), -ENAMETOOLONG);
}

// mkfifo("/b"); open("/b", O_RDWR|O_NONBLOCK); lseek(fd, 4097, 5): Linux
// EINVAL (an unknown whence, before the FIFO's ESPIPE).
TEST_F(DifferentialRegressionTest, LseekWithAnUnknownWhenceOnAFifoIsEinval) {
  ASSERT_EQ(vfs_mkfifo(fs_, "/b", 0644), 0);
  int fd = vfs_open(fs_, "/b", O_RDWR | O_NONBLOCK, 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_lseek(fs_, fd, 4097, 5), -EINVAL);
  EXPECT_EQ(vfs_lseek(fs_, fd, 0, SEEK_SET), -ESPIPE);
}

// symlink("/a/", "/c"); open("/c", O_RDWR|O_DIRECTORY|O_NOFOLLOW): Linux
// ENOTDIR (do_open's O_DIRECTORY check comes before may_open's ELOOP).
TEST_F(DifferentialRegressionTest, OpenDirectoryNoFollowOfASymlinkIsEnotdir) {
  ASSERT_EQ(vfs_symlink(fs_, "/a/", "/c"), 0);
  EXPECT_EQ(vfs_open(fs_, "/c", O_RDWR | O_DIRECTORY | O_NOFOLLOW, 0), -ENOTDIR);
  EXPECT_EQ(vfs_open(fs_, "/c", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
}

// mkdir("/b"); chdir("/b"); rmdir("/b"); mkdir("nnn...(256)/c/a/"),
// unlink("nnn...(256)"), symlink("b", "nnn...(256)"): Linux ENOENT (a
// removed directory has no names, checked before the name's length).
TEST_F(DifferentialRegressionTest, TooLongNameInARemovedDirectoryIsEnoent) {
  const std::string name(256, 'n');
  ASSERT_EQ(vfs_mkdir(fs_, "/b", 0755), 0);
  ASSERT_EQ(vfs_chdir(fs_, "/b"), 0);
  ASSERT_EQ(vfs_rmdir(fs_, "/b"), 0);
  EXPECT_EQ(vfs_mkdir(fs_, (name + "/c/a/").c_str(), 0755), -ENOENT);
  EXPECT_EQ(vfs_unlink(fs_, name.c_str()), -ENOENT);
  EXPECT_EQ(vfs_symlink(fs_, "b", name.c_str()), -ENOENT);
  vfs_stat_buf st;
  EXPECT_EQ(vfs_stat(fs_, ("/" + name).c_str(), &st), -ENAMETOOLONG);
}

// open("/.", O_RDONLY); lseek(fd, INT64_MAX, SEEK_SET); read(fd, buf, 100):
// Linux EINVAL (the range check comes before the directory's EISDIR).
TEST_F(DifferentialRegressionTest, ReadOfADirectoryAtInt64MaxIsEinval) {
  int fd = vfs_open(fs_, "/.", O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  char buf[100];
  EXPECT_EQ(vfs_read(fs_, fd, buf, sizeof buf), -EISDIR);
  ASSERT_EQ(vfs_lseek(fs_, fd, INT64_MAX, SEEK_SET), INT64_MAX);
  EXPECT_EQ(vfs_read(fs_, fd, buf, sizeof buf), -EINVAL);
}

// open("/", O_RDONLY); fcntl(fd, F_SETFL, O_DIRECT|O_NONBLOCK): Linux EINVAL
// (a tmpfs directory cannot do direct I/O); a regular file can, and so can a
// FIFO (mkfifo("/e"); open O_RDONLY|O_NONBLOCK; F_SETFL O_DIRECT: Linux 0).
TEST_F(DifferentialRegressionTest, SetflODirectOnADirectoryIsEinval) {
  int dir = vfs_open(fs_, "/", O_RDONLY, 0);
  ASSERT_GE(dir, 0);
  EXPECT_EQ(vfs_setfl(fs_, dir, O_DIRECT | O_NONBLOCK), -EINVAL);
  EXPECT_EQ(vfs_getfl(fs_, dir) & O_NONBLOCK, 0);
  int file = vfs_open(fs_, "/f", O_RDWR | O_CREAT, 0600);
  ASSERT_GE(file, 0);
  EXPECT_EQ(vfs_setfl(fs_, file, O_DIRECT), 0);
  ASSERT_EQ(vfs_mkfifo(fs_, "/e", 0644), 0);
  int fifo = vfs_open(fs_, "/e", O_RDONLY | O_NONBLOCK, 0);
  ASSERT_GE(fifo, 0);
  EXPECT_EQ(vfs_setfl(fs_, fifo, O_DIRECT | O_NONBLOCK), 0);
}

}  // namespace
