// I/O behaviour of the VFS: read / write / pread / pwrite / lseek, O_APPEND,
// sparse files and SEEK_DATA / SEEK_HOLE, truncation, the byte and file size
// limits, shared and separate offsets, a randomised comparison against a
// string model, and concurrent writers.
//
// Linux is the reference for every errno asserted here.
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <iostream>
#include <latch>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace vfs::testing {
namespace {

constexpr int64_t kMiB = 1 << 20;

// Compares two byte strings and on a mismatch names the sizes and the first
// differing offset instead of printing megabytes.
::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t at = 0;
  while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
  auto byte = [](const std::string& s, size_t i) {
    return i < s.size() ? std::to_string(static_cast<unsigned char>(s[i])) : std::string("end");
  };
  return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                       << "; first difference at offset " << at << ": got "
                                       << byte(got, at) << ", want " << byte(want, at);
}

class IoTest : public VfsTest {
 protected:
  IoTest() { options_.page_size = 4096; }

  // `count` bytes read through `fd` at `offset`.
  std::string PreadString(Fd fd, size_t count, int64_t offset) {
    std::string buf(count, '\xee');
    auto n = fs_->Pread(fd, buf.data(), count, offset);
    EXPECT_TRUE(n.ok()) << strerror(n.error());
    buf.resize(n.ok() ? *n : 0);
    return buf;
  }

  std::string ReadString(Fd fd, size_t count) {
    std::string buf(count, '\xee');
    auto n = fs_->Read(fd, buf.data(), count);
    EXPECT_TRUE(n.ok()) << strerror(n.error());
    buf.resize(n.ok() ? *n : 0);
    return buf;
  }

  int64_t Offset(Fd fd) {
    auto pos = fs_->Lseek(fd, 0, SEEK_CUR);
    EXPECT_TRUE(pos.ok()) << strerror(pos.error());
    return pos.ok() ? *pos : -1;
  }

  uint64_t Size(Fd fd) {
    auto st = fs_->Fstat(fd);
    EXPECT_TRUE(st.ok()) << strerror(st.error());
    return st.ok() ? st->size : 0;
  }

  uint64_t Blocks(Fd fd) {
    auto st = fs_->Fstat(fd);
    EXPECT_TRUE(st.ok()) << strerror(st.error());
    return st.ok() ? st->blocks : 0;
  }
};

using ReadWriteTest = IoTest;
using AppendTest = IoTest;
using HoleTest = IoTest;
using TruncateTest = IoTest;
using OffsetTest = IoTest;

// ---- read, write, pread, pwrite, lseek ----

TEST_F(ReadWriteTest, WriteAndReadAdvanceTheOffset) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  ASSERT_OK_AND_ASSIGN(n1, fs_->Write(fd, "hello", 5));
  EXPECT_EQ(n1, 5u);
  EXPECT_EQ(Offset(fd), 5);
  ASSERT_OK_AND_ASSIGN(n2, fs_->Write(fd, " world", 6));
  EXPECT_EQ(n2, 6u);
  EXPECT_EQ(Offset(fd), 11);
  EXPECT_EQ(Size(fd), 11u);
  ASSERT_OK_AND_ASSIGN(pos, fs_->Lseek(fd, 0, SEEK_SET));
  EXPECT_EQ(pos, 0);
  EXPECT_EQ(ReadString(fd, 4), "hell");
  EXPECT_EQ(Offset(fd), 4);
  EXPECT_EQ(ReadString(fd, 4), "o wo");
  EXPECT_EQ(Offset(fd), 8);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, ReadAtEndOfFileIsShortThenEmpty) {
  WriteFile("/f", "0123456789");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Lseek(fd, 6, SEEK_SET));
  EXPECT_EQ(ReadString(fd, 100), "6789");
  EXPECT_EQ(Offset(fd), 10);
  EXPECT_EQ(ReadString(fd, 100), "");
  EXPECT_EQ(PreadString(fd, 100, 8), "89");
  EXPECT_EQ(PreadString(fd, 100, 10), "");
  EXPECT_EQ(PreadString(fd, 100, 1000), "");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, PreadAndPwriteLeaveTheOffsetAlone) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "abcdef");
  EXPECT_EQ(Offset(fd), 0);
  WriteAt(fd, 2, "XY");
  EXPECT_EQ(PreadString(fd, 6, 0), "abXYef");
  EXPECT_EQ(PreadString(fd, 3, 3), "Yef");
  EXPECT_EQ(Offset(fd), 0);
  EXPECT_EQ(ReadString(fd, 2), "ab");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, ZeroByteReadAndWriteReturnZero) {
  WriteFile("/f", "abc");
  Fd fd = OpenOrDie("/f", O_RDWR);
  char buf[1];
  ASSERT_OK_AND_ASSIGN(r, fs_->Read(fd, buf, 0));
  EXPECT_EQ(r, 0u);
  ASSERT_OK_AND_ASSIGN(w, fs_->Write(fd, buf, 0));
  EXPECT_EQ(w, 0u);
  EXPECT_EQ(Offset(fd), 0);
  EXPECT_EQ(Size(fd), 3u);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, ReadOnWriteOnlyDescriptorIsEbadf) {
  WriteFile("/f", "abc");
  Fd fd = OpenOrDie("/f", O_WRONLY);
  char buf[4];
  EXPECT_ERRNO(fs_->Read(fd, buf, sizeof buf), EBADF);
  EXPECT_ERRNO(fs_->Pread(fd, buf, sizeof buf, 0), EBADF);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, WriteOnReadOnlyDescriptorIsEbadf) {
  WriteFile("/f", "abc");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  EXPECT_ERRNO(fs_->Write(fd, "x", 1), EBADF);
  EXPECT_ERRNO(fs_->Pwrite(fd, "x", 1, 0), EBADF);
  EXPECT_OK(fs_->Close(fd));
  EXPECT_EQ(ReadFile("/f"), "abc");
}

TEST_F(ReadWriteTest, IoOnClosedDescriptorIsEbadf) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  ASSERT_OK(fs_->Close(fd));
  char buf[4];
  EXPECT_ERRNO(fs_->Read(fd, buf, sizeof buf), EBADF);
  EXPECT_ERRNO(fs_->Write(fd, "x", 1), EBADF);
  EXPECT_ERRNO(fs_->Lseek(fd, 0, SEEK_SET), EBADF);
  EXPECT_ERRNO(fs_->Fstat(fd), EBADF);
  EXPECT_ERRNO(fs_->Close(fd), EBADF);
  EXPECT_ERRNO(fs_->Read(Fd(-1), buf, sizeof buf), EBADF);
}

TEST_F(ReadWriteTest, ReadOfDirectoryIsEisdir) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  Fd fd = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  char buf[4];
  EXPECT_ERRNO(fs_->Read(fd, buf, sizeof buf), EISDIR);
  EXPECT_ERRNO(fs_->Pread(fd, buf, sizeof buf, 0), EISDIR);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, NegativePreadOffsetIsEinval) {
  WriteFile("/f", "abc");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  char buf[4];
  EXPECT_ERRNO(fs_->Pread(fd, buf, sizeof buf, -1), EINVAL);
  EXPECT_ERRNO(fs_->Pread(fd, buf, sizeof buf, INT64_MIN), EINVAL);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, NegativePwriteOffsetIsEinval) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->Pwrite(fd, "x", 1, -2), EINVAL);
  EXPECT_ERRNO(fs_->Pwrite(fd, "x", 1, INT64_MIN), EINVAL);
  EXPECT_EQ(Size(fd), 0u);
  EXPECT_OK(fs_->Close(fd));
}

// pwrite(2) refuses every negative offset (ksys_pwrite64: pos < 0 is EINVAL);
// only pwritev2 gives -1 the meaning "the current offset".
TEST_F(ReadWriteTest, PwriteAtOffsetMinusOneIsEinval) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->Pwrite(fd, "x", 1, -1), EINVAL);
  EXPECT_EQ(Size(fd), 0u);
  EXPECT_EQ(Offset(fd), 0);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, LseekSetCurAndEndComputeThePosition) {
  WriteFile("/f", "0123456789");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK_AND_ASSIGN(set, fs_->Lseek(fd, 3, SEEK_SET));
  EXPECT_EQ(set, 3);
  ASSERT_OK_AND_ASSIGN(cur, fs_->Lseek(fd, 4, SEEK_CUR));
  EXPECT_EQ(cur, 7);
  ASSERT_OK_AND_ASSIGN(back, fs_->Lseek(fd, -2, SEEK_CUR));
  EXPECT_EQ(back, 5);
  EXPECT_EQ(ReadString(fd, 2), "56");
  ASSERT_OK_AND_ASSIGN(end, fs_->Lseek(fd, -1, SEEK_END));
  EXPECT_EQ(end, 9);
  EXPECT_EQ(ReadString(fd, 5), "9");
  ASSERT_OK_AND_ASSIGN(past, fs_->Lseek(fd, 100, SEEK_END));
  EXPECT_EQ(past, 110);
  EXPECT_EQ(ReadString(fd, 5), "");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, LseekToNegativePositionIsEinvalAndKeepsTheOffset) {
  WriteFile("/f", "0123456789");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Lseek(fd, 4, SEEK_SET));
  EXPECT_ERRNO(fs_->Lseek(fd, -1, SEEK_SET), EINVAL);
  EXPECT_ERRNO(fs_->Lseek(fd, -5, SEEK_CUR), EINVAL);
  EXPECT_ERRNO(fs_->Lseek(fd, -11, SEEK_END), EINVAL);
  EXPECT_EQ(Offset(fd), 4);
  EXPECT_OK(fs_->Close(fd));
}

// Linux (vfs_setpos) answers EINVAL for any result past the largest offset,
// an overflowing sum included; the header promises EINVAL for a negative
// result.
TEST_F(ReadWriteTest, LseekOverflowingTheLargestOffsetIsEinval) {
  WriteFile("/f", "0123456789");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Lseek(fd, 4, SEEK_SET));
  EXPECT_ERRNO(fs_->Lseek(fd, INT64_MAX, SEEK_END), EINVAL);
  EXPECT_ERRNO(fs_->Lseek(fd, INT64_MAX, SEEK_CUR), EINVAL);
  EXPECT_EQ(Offset(fd), 4);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, LseekWithBadWhenceIsEinval) {
  WriteFile("/f", "0123456789");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Lseek(fd, 4, SEEK_SET));
  EXPECT_ERRNO(fs_->Lseek(fd, 0, 99), EINVAL);
  EXPECT_ERRNO(fs_->Lseek(fd, 0, -1), EINVAL);
  EXPECT_EQ(Offset(fd), 4);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, WritePastTheEndLeavesAZeroFilledGap) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "ab");
  ASSERT_OK(fs_->Lseek(fd, 10, SEEK_SET));
  ASSERT_OK_AND_ASSIGN(n, fs_->Write(fd, "cd", 2));
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(Size(fd), 12u);
  EXPECT_EQ(PreadString(fd, 12, 0), std::string("ab") + std::string(8, '\0') + "cd");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, WriteAcrossPageBoundariesReadsBack) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  std::string data;
  for (int i = 0; i < 3 * 4096 + 100; ++i) data += static_cast<char>('a' + i % 26);
  WriteAt(fd, 4000, data);
  EXPECT_TRUE(SameBytes(PreadString(fd, data.size() + 1, 4000), data));
  EXPECT_EQ(PreadString(fd, 200, 4090), data.substr(90, 200));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadWriteTest, WriteUpdatesMtimeAndCtime) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  ASSERT_OK_AND_ASSIGN(before, fs_->Fstat(fd));
  WriteAt(fd, 0, "x");
  ASSERT_OK_AND_ASSIGN(after, fs_->Fstat(fd));
  EXPECT_GT(after.mtime, before.mtime);
  EXPECT_GT(after.ctime, before.ctime);
  EXPECT_OK(fs_->Close(fd));
}

// ---- O_APPEND ----

TEST_F(AppendTest, EveryWriteGoesToTheEndEvenAfterLseek) {
  WriteFile("/f", "start");
  Fd fd = OpenOrDie("/f", O_RDWR | O_APPEND);
  ASSERT_OK(fs_->Write(fd, "-one", 4));
  EXPECT_EQ(Offset(fd), 9);
  ASSERT_OK(fs_->Lseek(fd, 0, SEEK_SET));
  ASSERT_OK(fs_->Write(fd, "-two", 4));
  EXPECT_EQ(Offset(fd), 13);
  EXPECT_EQ(ReadFile("/f"), "start-one-two");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(AppendTest, AppendFollowsWritesThroughOtherDescriptors) {
  WriteFile("/f", "a");
  Fd append = OpenOrDie("/f", O_WRONLY | O_APPEND);
  Fd other = OpenOrDie("/f", O_WRONLY);
  WriteAt(other, 1, "bcd");
  ASSERT_OK(fs_->Write(append, "e", 1));
  EXPECT_EQ(ReadFile("/f"), "abcde");
  EXPECT_OK(fs_->Close(append));
  EXPECT_OK(fs_->Close(other));
}

TEST_F(AppendTest, PwriteOnAppendDescriptorAppends) {
  WriteFile("/f", "start");
  Fd fd = OpenOrDie("/f", O_WRONLY | O_APPEND);
  ASSERT_OK_AND_ASSIGN(n, fs_->Pwrite(fd, "end", 3, 0));
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(ReadFile("/f"), "startend");
  EXPECT_EQ(Offset(fd), 0);  // pwrite never moves the offset
  EXPECT_OK(fs_->Close(fd));
}

// ---- Holes ----

TEST_F(HoleTest, WriteAtOneMebibyteReadsZerosBeforeIt) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, kMiB, "tail");
  EXPECT_EQ(Size(fd), static_cast<uint64_t>(kMiB + 4));
  EXPECT_TRUE(SameBytes(PreadString(fd, kMiB, 0), std::string(kMiB, '\0')));
  EXPECT_EQ(PreadString(fd, 10, kMiB - 2), std::string(2, '\0') + "tail");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(HoleTest, BlocksCountOnlyWrittenPages) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, kMiB, "x");
  EXPECT_EQ(Blocks(fd), 4096u / 512);
  WriteAt(fd, 4095, "yz");  // straddles pages 0 and 1
  EXPECT_EQ(Blocks(fd), 3 * 4096u / 512);
  WriteAt(fd, 0, "w");  // page 0 again: no new page
  EXPECT_EQ(Blocks(fd), 3 * 4096u / 512);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(HoleTest, HolesTakeNoSpace) {
  ASSERT_OK_AND_ASSIGN(before, fs_->Statfs());
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 100 * kMiB, "x");
  ASSERT_OK_AND_ASSIGN(after, fs_->Statfs());
  EXPECT_EQ(before.blocks_free - after.blocks_free, 1u);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(HoleTest, FtruncateExtensionReadsZerosAndAllocatesNothing) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "abc");
  ASSERT_OK(fs_->Ftruncate(fd, kMiB));
  EXPECT_EQ(Size(fd), static_cast<uint64_t>(kMiB));
  EXPECT_EQ(Blocks(fd), 4096u / 512);
  EXPECT_TRUE(
      SameBytes(PreadString(fd, kMiB, 0), std::string("abc") + std::string(kMiB - 3, '\0')));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(HoleTest, SeekDataAndSeekHoleArePageGranular) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 2 * 4096 + 10, "x");  // page 2
  WriteAt(fd, 5 * 4096, "y");       // page 5; size 20481
  ASSERT_EQ(Size(fd), 20481u);
  auto seek = [&](int64_t offset, int whence) {
    auto pos = fs_->Lseek(fd, offset, whence);
    return pos.ok() ? *pos : -pos.error();
  };
  EXPECT_EQ(seek(0, SEEK_DATA), 8192);
  EXPECT_EQ(Offset(fd), 8192);  // SEEK_DATA moves the offset
  EXPECT_EQ(seek(0, SEEK_HOLE), 0);
  EXPECT_EQ(seek(8200, SEEK_DATA), 8200);
  EXPECT_EQ(seek(8200, SEEK_HOLE), 12288);
  EXPECT_EQ(seek(12288, SEEK_DATA), 20480);
  EXPECT_EQ(seek(12288, SEEK_HOLE), 12288);
  EXPECT_EQ(seek(16000, SEEK_HOLE), 16000);
  EXPECT_EQ(seek(20480, SEEK_DATA), 20480);
  // The end of the file is a hole.
  EXPECT_EQ(seek(20480, SEEK_HOLE), 20481);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(HoleTest, SeekDataAndSeekHoleAtOrPastTheEndAreEnxio) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "abc");
  ASSERT_OK(fs_->Lseek(fd, 1, SEEK_SET));
  EXPECT_ERRNO(fs_->Lseek(fd, 3, SEEK_DATA), ENXIO);
  EXPECT_ERRNO(fs_->Lseek(fd, 3, SEEK_HOLE), ENXIO);
  EXPECT_ERRNO(fs_->Lseek(fd, 1000, SEEK_DATA), ENXIO);
  EXPECT_ERRNO(fs_->Lseek(fd, 1000, SEEK_HOLE), ENXIO);
  EXPECT_ERRNO(fs_->Lseek(fd, -1, SEEK_DATA), ENXIO);
  EXPECT_EQ(Offset(fd), 1);
  Fd empty = OpenOrDie("/empty", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->Lseek(empty, 0, SEEK_DATA), ENXIO);
  EXPECT_ERRNO(fs_->Lseek(empty, 0, SEEK_HOLE), ENXIO);
  EXPECT_OK(fs_->Close(fd));
  EXPECT_OK(fs_->Close(empty));
}

TEST_F(HoleTest, SeekDataInATrailingHoleIsEnxio) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "abc");
  ASSERT_OK(fs_->Ftruncate(fd, 10 * 4096));
  EXPECT_ERRNO(fs_->Lseek(fd, 4096, SEEK_DATA), ENXIO);
  ASSERT_OK_AND_ASSIGN(hole, fs_->Lseek(fd, 0, SEEK_HOLE));
  EXPECT_EQ(hole, 4096);
  ASSERT_OK_AND_ASSIGN(in_hole, fs_->Lseek(fd, 5000, SEEK_HOLE));
  EXPECT_EQ(in_hole, 5000);
  EXPECT_OK(fs_->Close(fd));
}

// ---- truncate, ftruncate ----

TEST_F(TruncateTest, ShrinkThenExtendReadsZerosNotTheOldData) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, std::string(3 * 4096, 'a'));
  ASSERT_OK(fs_->Ftruncate(fd, 5000));  // inside page 1
  EXPECT_EQ(Blocks(fd), 2 * 4096u / 512);
  ASSERT_OK(fs_->Ftruncate(fd, 3 * 4096));
  EXPECT_TRUE(SameBytes(PreadString(fd, 3 * 4096, 0),
                        std::string(5000, 'a') + std::string(3 * 4096 - 5000, '\0')));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(TruncateTest, WriteBeyondAShrunkEndReadsZerosInTheGap) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, std::string(3 * 4096, 'a'));
  ASSERT_OK(fs_->Truncate("/f", 100));
  WriteAt(fd, 10000, "z");
  EXPECT_EQ(Size(fd), 10001u);
  EXPECT_TRUE(
      SameBytes(PreadString(fd, 10001, 0), std::string(100, 'a') + std::string(9900, '\0') + "z"));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(TruncateTest, TruncateToZeroFreesEveryPage) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, std::string(2 * 4096, 'a'));
  ASSERT_OK(fs_->Ftruncate(fd, 0));
  EXPECT_EQ(Size(fd), 0u);
  EXPECT_EQ(Blocks(fd), 0u);
  ASSERT_OK(fs_->Ftruncate(fd, 4096));
  EXPECT_EQ(PreadString(fd, 4096, 0), std::string(4096, '\0'));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(TruncateTest, TruncateDoesNotMoveTheOffset) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "0123456789");
  ASSERT_OK(fs_->Lseek(fd, 8, SEEK_SET));
  ASSERT_OK(fs_->Ftruncate(fd, 4));
  EXPECT_EQ(Offset(fd), 8);
  ASSERT_OK(fs_->Write(fd, "x", 1));
  EXPECT_EQ(PreadString(fd, 9, 0), std::string("0123") + std::string(4, '\0') + "x");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(TruncateTest, NegativeLengthIsEinval) {
  WriteFile("/f", "abc");
  EXPECT_ERRNO(fs_->Truncate("/f", -1), EINVAL);
  Fd fd = OpenOrDie("/f", O_RDWR);
  EXPECT_ERRNO(fs_->Ftruncate(fd, -1), EINVAL);
  EXPECT_OK(fs_->Close(fd));
  EXPECT_EQ(ReadFile("/f"), "abc");
}

TEST_F(TruncateTest, FtruncateOnReadOnlyDescriptorIsEinval) {
  WriteFile("/f", "abc");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  EXPECT_ERRNO(fs_->Ftruncate(fd, 0), EINVAL);
  EXPECT_OK(fs_->Close(fd));
  EXPECT_EQ(ReadFile("/f"), "abc");
}

TEST_F(TruncateTest, FtruncateOfDirectoryDescriptorIsEinval) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  Fd fd = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  EXPECT_ERRNO(fs_->Ftruncate(fd, 0), EINVAL);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(TruncateTest, TruncateOfDirectoryIsEisdir) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->Truncate("/d", 0), EISDIR);
}

TEST_F(TruncateTest, TruncateOfMissingPathIsEnoent) {
  EXPECT_ERRNO(fs_->Truncate("/missing", 0), ENOENT);
  EXPECT_FALSE(Exists("/missing"));
}

TEST_F(TruncateTest, TruncateFollowsASymlink) {
  WriteFile("/f", "abcdef");
  ASSERT_OK(fs_->Symlink("/f", "/link"));
  ASSERT_OK(fs_->Truncate("/link", 2));
  EXPECT_EQ(ReadFile("/f"), "ab");
}

TEST_F(TruncateTest, TruncateUpdatesMtimeAndCtime) {
  WriteFile("/f", "abcdef");
  ASSERT_OK_AND_ASSIGN(before, fs_->Stat("/f"));
  ASSERT_OK(fs_->Truncate("/f", 3));
  ASSERT_OK_AND_ASSIGN(shrunk, fs_->Stat("/f"));
  EXPECT_GT(shrunk.mtime, before.mtime);
  EXPECT_GT(shrunk.ctime, before.ctime);
  Fd fd = OpenOrDie("/f", O_WRONLY);
  ASSERT_OK(fs_->Ftruncate(fd, 100));
  ASSERT_OK_AND_ASSIGN(grown, fs_->Fstat(fd));
  EXPECT_GT(grown.mtime, shrunk.mtime);
  EXPECT_GT(grown.ctime, shrunk.ctime);
  EXPECT_OK(fs_->Close(fd));
}

// ---- max_bytes ----

class SpaceTest : public IoTest {
 protected:
  static constexpr uint64_t kPages = 8;
  SpaceTest() { options_.max_bytes = kPages * 4096; }

  uint64_t FreeBlocks() {
    auto st = fs_->Statfs();
    EXPECT_TRUE(st.ok()) << strerror(st.error());
    return st.ok() ? st->blocks_free : 0;
  }
};

TEST_F(SpaceTest, StatfsReportsTheLimitAndTheAllocatedPages) {
  ASSERT_OK_AND_ASSIGN(empty, fs_->Statfs());
  EXPECT_EQ(empty.block_size, 4096u);
  EXPECT_EQ(empty.blocks, kPages);
  EXPECT_EQ(empty.blocks_free, kPages);
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, std::string(4096 + 1, 'a'));  // pages 0 and 1
  WriteAt(fd, 5 * 4096, "b");                  // page 5
  ASSERT_OK_AND_ASSIGN(used, fs_->Statfs());
  EXPECT_EQ(used.blocks, kPages);
  EXPECT_EQ(used.blocks_free, kPages - 3);
  EXPECT_EQ(Blocks(fd), 3 * 4096u / 512);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(SpaceTest, WriteNeedingMorePagesThanFreeIsEnospcAndChangesNothing) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  const std::string old(6 * 4096, 'a');
  WriteAt(fd, 0, old);
  ASSERT_EQ(FreeBlocks(), 2u);
  // Pages 5..8: page 5 is allocated, 6, 7 and 8 are new: one too many.
  const std::string big(4 * 4096, 'b');
  EXPECT_ERRNO(fs_->Pwrite(fd, big.data(), big.size(), 5 * 4096), ENOSPC);
  ASSERT_OK(fs_->Lseek(fd, 6 * 4096, SEEK_SET));
  EXPECT_ERRNO(fs_->Write(fd, big.data(), 3 * 4096), ENOSPC);
  EXPECT_EQ(Offset(fd), 6 * 4096);
  EXPECT_EQ(Size(fd), old.size());
  EXPECT_TRUE(SameBytes(PreadString(fd, old.size() + 10, 0), old));
  EXPECT_EQ(FreeBlocks(), 2u);
  // A second file gets nothing either.
  Fd other = OpenOrDie("/g", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->Pwrite(other, big.data(), 3 * 4096, 0), ENOSPC);
  EXPECT_EQ(Size(other), 0u);
  EXPECT_OK(fs_->Close(other));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(SpaceTest, WriteThatFitsExactlyFillsTheLimit) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, std::string(kPages * 4096, 'a'));
  EXPECT_EQ(FreeBlocks(), 0u);
  EXPECT_ERRNO(fs_->Pwrite(fd, "x", 1, kPages * 4096), ENOSPC);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(SpaceTest, OverwritingAllocatedPagesWorksWhenFull) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, std::string(kPages * 4096, 'a'));
  ASSERT_EQ(FreeBlocks(), 0u);
  const std::string fresh(kPages * 4096, 'b');
  WriteAt(fd, 0, fresh);
  WriteAt(fd, 4095, "cd");  // straddles two allocated pages
  EXPECT_EQ(PreadString(fd, 3, 4094), "bcd");
  EXPECT_EQ(FreeBlocks(), 0u);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(SpaceTest, UnlinkFreesSpaceOnlyWhenTheLastDescriptorCloses) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, std::string(kPages * 4096, 'a'));
  ASSERT_OK(fs_->Unlink("/f"));
  EXPECT_EQ(FreeBlocks(), 0u);
  Fd other = OpenOrDie("/g", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->Pwrite(other, "x", 1, 0), ENOSPC);
  ASSERT_OK(fs_->Close(fd));
  EXPECT_EQ(FreeBlocks(), kPages);
  WriteAt(other, 0, std::string(kPages * 4096, 'g'));
  EXPECT_OK(fs_->Close(other));
}

TEST_F(SpaceTest, TruncateFreesSpace) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, std::string(kPages * 4096, 'a'));
  ASSERT_OK(fs_->Ftruncate(fd, 4096 + 1));  // keeps pages 0 and 1
  EXPECT_EQ(FreeBlocks(), kPages - 2);
  WriteAt(fd, 2 * 4096, std::string((kPages - 2) * 4096, 'b'));
  EXPECT_EQ(FreeBlocks(), 0u);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(SpaceTest, OTruncFreesSpace) {
  WriteFile("/f", std::string(kPages * 4096, 'a'));
  ASSERT_EQ(FreeBlocks(), 0u);
  Fd fd = OpenOrDie("/f", O_WRONLY | O_TRUNC);
  EXPECT_EQ(FreeBlocks(), kPages);
  EXPECT_OK(fs_->Close(fd));
}

// ---- max_file_size ----

class FileSizeTest : public IoTest {
 protected:
  FileSizeTest() { options_.max_file_size = 10000; }
};

TEST_F(FileSizeTest, WriteAtMaxFileSizeIsEfbig) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->Pwrite(fd, "x", 1, 10000), EFBIG);
  EXPECT_ERRNO(fs_->Pwrite(fd, "x", 1, 20000), EFBIG);
  ASSERT_OK(fs_->Lseek(fd, 10000, SEEK_SET));
  EXPECT_ERRNO(fs_->Write(fd, "x", 1), EFBIG);
  EXPECT_EQ(Offset(fd), 10000);
  EXPECT_EQ(Size(fd), 0u);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(FileSizeTest, WriteCrossingMaxFileSizeIsCutShortAtIt) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  ASSERT_OK_AND_ASSIGN(n, fs_->Pwrite(fd, "0123456789", 10, 9995));
  EXPECT_EQ(n, 5u);
  EXPECT_EQ(Size(fd), 10000u);
  EXPECT_EQ(PreadString(fd, 10, 9995), "01234");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(FileSizeTest, AppendToAFileAtMaxFileSizeIsEfbig) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT | O_APPEND);
  ASSERT_OK(fs_->Ftruncate(fd, 10000));
  EXPECT_ERRNO(fs_->Write(fd, "x", 1), EFBIG);
  EXPECT_EQ(Size(fd), 10000u);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(FileSizeTest, TruncatePastMaxFileSizeIsEfbig) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  EXPECT_ERRNO(fs_->Ftruncate(fd, 10001), EFBIG);
  EXPECT_ERRNO(fs_->Truncate("/f", 10001), EFBIG);
  EXPECT_EQ(Size(fd), 0u);
  ASSERT_OK(fs_->Ftruncate(fd, 10000));
  EXPECT_EQ(Size(fd), 10000u);
  EXPECT_OK(fs_->Close(fd));
}

// ---- Offsets ----

TEST_F(OffsetTest, DupSharesTheOffset) {
  WriteFile("/f", "0123456789");
  Fd fd = OpenOrDie("/f", O_RDWR);
  ASSERT_OK_AND_ASSIGN(dup, fs_->Dup(fd));
  EXPECT_NE(dup, fd);
  EXPECT_EQ(ReadString(fd, 3), "012");
  EXPECT_EQ(Offset(dup), 3);
  EXPECT_EQ(ReadString(dup, 3), "345");
  EXPECT_EQ(Offset(fd), 6);
  ASSERT_OK(fs_->Write(dup, "ab", 2));
  EXPECT_EQ(Offset(fd), 8);
  ASSERT_OK(fs_->Close(fd));
  EXPECT_EQ(ReadString(dup, 5), "89");  // the description outlives one close
  EXPECT_OK(fs_->Close(dup));
  EXPECT_EQ(ReadFile("/f"), "012345ab89");
}

TEST_F(OffsetTest, SeparateOpensHaveSeparateOffsets) {
  WriteFile("/f", "0123456789");
  Fd a = OpenOrDie("/f", O_RDWR);
  Fd b = OpenOrDie("/f", O_RDWR);
  EXPECT_EQ(ReadString(a, 4), "0123");
  EXPECT_EQ(Offset(b), 0);
  EXPECT_EQ(ReadString(b, 2), "01");
  ASSERT_OK(fs_->Write(b, "XY", 2));  // at 2, through b only
  EXPECT_EQ(Offset(a), 4);
  EXPECT_EQ(ReadString(a, 2), "45");
  EXPECT_EQ(PreadString(a, 10, 0), "01XY456789");
  EXPECT_OK(fs_->Close(a));
  EXPECT_OK(fs_->Close(b));
}

// ---- A random sequence against a string model ----

class SmallPageTest : public IoTest {
 protected:
  SmallPageTest() { options_.page_size = 512; }
};

TEST_F(SmallPageTest, RandomPwritesAndTruncatesMatchAStringModel) {
  constexpr uint32_t kSeed = 0x5eed1234;
  constexpr int kSteps = 4000;
  constexpr uint32_t kPage = 512;
  std::cout << "RandomPwritesAndTruncatesMatchAStringModel seed " << kSeed << std::endl;
  RecordProperty("seed", static_cast<int>(kSeed));
  std::mt19937 rng(kSeed);
  auto below = [&rng](uint32_t n) { return static_cast<uint32_t>(rng() % n); };

  std::string model;
  Fd fd = OpenOrDie("/m", O_RDWR | O_CREAT);
  for (int step = 0; step < kSteps; ++step) {
    SCOPED_TRACE("seed " + std::to_string(kSeed) + " step " + std::to_string(step));
    if (below(5) == 0) {
      const uint32_t length = below(20 * kPage);
      ASSERT_OK(fs_->Ftruncate(fd, length));
      model.resize(length, '\0');
    } else {
      // Offsets and lengths near page boundaries are the interesting ones.
      uint32_t offset = below(18 * kPage);
      if (below(2) == 0) offset = offset / kPage * kPage + (below(2) ? 0 : kPage - 1 - below(3));
      const uint32_t length = 1 + below(3 * kPage);
      std::string data(length, '\0');
      for (char& c : data) c = static_cast<char>(below(256));
      WriteAt(fd, offset, data);
      if (model.size() < offset + length) model.resize(offset + length, '\0');
      model.replace(offset, length, data);
    }
    ASSERT_EQ(Size(fd), model.size());
    if (step % 8 == 0 || step == kSteps - 1) {
      ASSERT_TRUE(SameBytes(PreadString(fd, model.size() + kPage, 0), model));
    }
  }
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_LE(st.blocks, (model.size() + kPage - 1) / kPage * (kPage / 512));
  ASSERT_OK(fs_->Close(fd));

  // Unmount makes everything durable: the store gives the same bytes back.
  ASSERT_NO_FATAL_FAILURE(Remount());
  EXPECT_TRUE(SameBytes(ReadFile("/m"), model));
}

// ---- Concurrency ----

class ConcurrencyTest : public IoTest {
 protected:
  void SetUp() override {
    IoTest::SetUp();
    // TickingClock's counter is not atomic; concurrent calls need a clock
    // that is.
    auto now = std::make_shared<std::atomic<int64_t>>(1'000'000);
    options_.clock = [now]() { return Timespec{now->fetch_add(1) + 1, 0}; };
    Remount();
  }
};

TEST_F(ConcurrencyTest, ConcurrentWritersEachFindTheirOwnBytes) {
  constexpr int kThreads = 4;
  constexpr int kChunks = 64;
  constexpr size_t kChunk = 1000;  // not a page multiple: chunks share pages
  auto fill = [](int thread, int chunk) {
    return static_cast<char>(1 + (thread * kChunks + chunk) % 251);
  };
  Fd shared = OpenOrDie("/shared", O_RDWR | O_CREAT);
  std::latch start(2 * kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    // Each writes its own file sequentially with write(2).
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      auto fd = fs_->Open("/own" + std::to_string(t), O_WRONLY | O_CREAT, 0644);
      ASSERT_TRUE(fd.ok()) << strerror(fd.error());
      for (int i = 0; i < kChunks; ++i) {
        const std::string data(kChunk, fill(t, i));
        auto n = fs_->Write(*fd, data.data(), data.size());
        ASSERT_TRUE(n.ok() && *n == kChunk) << strerror(n.error());
      }
      EXPECT_OK(fs_->Close(*fd));
    });
    // Each writes its interleaved chunks of the shared file with pwrite(2).
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kChunks; ++i) {
        const std::string data(kChunk, fill(t, i));
        const int64_t offset = static_cast<int64_t>((i * kThreads + t) * kChunk);
        auto n = fs_->Pwrite(shared, data.data(), data.size(), offset);
        ASSERT_TRUE(n.ok() && *n == kChunk) << strerror(n.error());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::string shared_want;
  for (int i = 0; i < kChunks; ++i) {
    for (int t = 0; t < kThreads; ++t) shared_want += std::string(kChunk, fill(t, i));
  }
  EXPECT_EQ(Size(shared), shared_want.size());
  EXPECT_TRUE(SameBytes(PreadString(shared, shared_want.size() + 1, 0), shared_want));
  EXPECT_OK(fs_->Close(shared));
  for (int t = 0; t < kThreads; ++t) {
    std::string own_want;
    for (int i = 0; i < kChunks; ++i) own_want += std::string(kChunk, fill(t, i));
    EXPECT_TRUE(SameBytes(ReadFile("/own" + std::to_string(t)), own_want)) << "thread " << t;
  }
}

}  // namespace
}  // namespace vfs::testing
