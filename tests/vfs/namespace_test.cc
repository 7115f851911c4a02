// Namespace behaviour of the VFS: open flags and path resolution, the
// current directory and *At descriptors, mkdir / rmdir / unlink, rename,
// links and symlinks, name limits, readdir, attributes, FIFOs and pipes,
// resource limits, mount options and the stopped state after a crash.
//
// Linux is the reference for every errno asserted here (fs/namei.c for path
// resolution and the rename / rmdir / open checks).
#include <dirent.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "tests/test_util.h"

namespace vfs::testing {
namespace {

class NamespaceTest : public VfsTest {
 protected:
  // All entries of the directory at `path`, in readdir order.
  std::vector<DirEntry> List(const std::string& path) {
    std::vector<DirEntry> out;
    auto fd = fs_->Open(path, O_RDONLY | O_DIRECTORY);
    EXPECT_TRUE(fd.ok()) << path << ": " << strerror(fd.error());
    if (!fd.ok()) return out;
    auto entries = fs_->ReadDir(*fd);
    EXPECT_TRUE(entries.ok()) << path << ": " << strerror(entries.error());
    if (entries.ok()) out = *std::move(entries);
    EXPECT_OK(fs_->Close(*fd));
    return out;
  }

  std::vector<std::string> Names(const std::string& path) {
    std::vector<std::string> names;
    for (const DirEntry& entry : List(path)) names.push_back(entry.name);
    return names;
  }

  // The inode number `path` names (without following a final symlink), or 0.
  uint64_t Ino(const std::string& path) {
    auto st = fs_->Lstat(path);
    EXPECT_TRUE(st.ok()) << path << ": " << strerror(st.error());
    return st.ok() ? st->ino.value() : 0;
  }

  uint64_t Nlink(const std::string& path) {
    auto st = fs_->Lstat(path);
    EXPECT_TRUE(st.ok()) << path << ": " << strerror(st.error());
    return st.ok() ? st->nlink : 0;
  }

  // The whole content readable through `fd` from offset 0.
  std::string ReadFd(Fd fd) {
    std::string out;
    char buf[4096];
    for (int64_t at = 0;;) {
      auto n = fs_->Pread(fd, buf, sizeof buf, at);
      EXPECT_TRUE(n.ok()) << strerror(n.error());
      if (!n.ok() || *n == 0) break;
      out.append(buf, *n);
      at += static_cast<int64_t>(*n);
    }
    return out;
  }
};

using OpenTest = NamespaceTest;
using CwdTest = NamespaceTest;
using MkdirTest = NamespaceTest;
using RmdirTest = NamespaceTest;
using UnlinkTest = NamespaceTest;
using RenameTest = NamespaceTest;
using LinkTest = NamespaceTest;
using SymlinkTest = NamespaceTest;
using NameLengthTest = NamespaceTest;
using ReadDirTest = NamespaceTest;
using AttributeTest = NamespaceTest;
using FifoTest = NamespaceTest;
using MountTest = NamespaceTest;
using CrashTest = NamespaceTest;

// ---- open ----

TEST_F(OpenTest, CreateMakesAnEmptyRegularFileWithTheGivenMode) {
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/f", O_WRONLY | O_CREAT, 0640));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/f"));
  EXPECT_EQ(st.mode, S_IFREG | 0640u);
  EXPECT_EQ(st.size, 0u);
  EXPECT_EQ(st.nlink, 1u);
  ASSERT_OK_AND_ASSIGN(fst, fs_->Fstat(fd));
  EXPECT_EQ(fst.ino, st.ino);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(OpenTest, CreateOfExistingFileWithoutExclOpensIt) {
  WriteFile("/f", "keep");
  Fd fd = OpenOrDie("/f", O_RDONLY | O_CREAT);
  char buf[8];
  ASSERT_OK_AND_ASSIGN(n, fs_->Read(fd, buf, sizeof buf));
  EXPECT_EQ(std::string(buf, n), "keep");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(OpenTest, ExclOnExistingFileIsEexist) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Open("/f", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
  EXPECT_EQ(ReadFile("/f"), "x");
}

TEST_F(OpenTest, ExclOnDanglingSymlinkIsEexistAndCreatesNoTarget) {
  ASSERT_OK(fs_->Symlink("/missing", "/link"));
  EXPECT_ERRNO(fs_->Open("/link", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
  EXPECT_FALSE(Exists("/missing"));
}

TEST_F(OpenTest, MissingParentIsEnoent) {
  EXPECT_ERRNO(fs_->Open("/nodir/f", O_WRONLY | O_CREAT, 0644), ENOENT);
  EXPECT_ERRNO(fs_->Open("/nofile", O_RDONLY), ENOENT);
  EXPECT_FALSE(Exists("/nodir"));
}

TEST_F(OpenTest, FileUsedAsDirectoryComponentIsEnotdir) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Open("/f/x", O_RDONLY), ENOTDIR);
  EXPECT_ERRNO(fs_->Open("/f/x", O_WRONLY | O_CREAT, 0644), ENOTDIR);
}

TEST_F(OpenTest, DirectoryFlagOnRegularFileIsEnotdir) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Open("/f", O_RDONLY | O_DIRECTORY), ENOTDIR);
}

TEST_F(OpenTest, DirectoryOpenedForWritingIsEisdir) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->Open("/d", O_WRONLY), EISDIR);
  EXPECT_ERRNO(fs_->Open("/d", O_RDWR), EISDIR);
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/d", O_RDONLY));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(OpenTest, CreateOnExistingDirectoryIsEisdir) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->Open("/d", O_RDONLY | O_CREAT, 0644), EISDIR);
  EXPECT_ERRNO(fs_->Open("/", O_RDONLY | O_CREAT, 0644), EISDIR);
}

TEST_F(OpenTest, NoFollowOnFinalSymlinkIsEloop) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Symlink("/f", "/link"));
  EXPECT_ERRNO(fs_->Open("/link", O_RDONLY | O_NOFOLLOW), ELOOP);
  EXPECT_ERRNO(fs_->Open("/link", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644), ELOOP);
}

TEST_F(OpenTest, NoFollowStillFollowsSymlinksInEarlierComponents) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/f", "inner");
  ASSERT_OK(fs_->Symlink("/d", "/dl"));
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/dl/f", O_RDONLY | O_NOFOLLOW));
  EXPECT_EQ(ReadFd(fd), "inner");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(OpenTest, PathWithNoFollowOpensTheSymlinkItself) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Symlink("/f", "/link"));
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/link", O_PATH | O_NOFOLLOW));
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_TRUE(S_ISLNK(st.mode));
  EXPECT_EQ(st.ino.value(), Ino("/link"));
  char buf[4];
  EXPECT_ERRNO(fs_->Read(fd, buf, sizeof buf), EBADF);
  EXPECT_ERRNO(fs_->Write(fd, "y", 1), EBADF);
  EXPECT_ERRNO(fs_->Fsync(fd), EBADF);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(OpenTest, ReadWriteAndFsyncOnPathDescriptorAreEbadf) {
  WriteFile("/f", "data");
  // O_PATH ignores the access mode: even O_RDWR gives no I/O.
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/f", O_PATH | O_RDWR));
  char buf[4];
  EXPECT_ERRNO(fs_->Read(fd, buf, sizeof buf), EBADF);
  EXPECT_ERRNO(fs_->Pread(fd, buf, sizeof buf, 0), EBADF);
  EXPECT_ERRNO(fs_->Write(fd, "y", 1), EBADF);
  EXPECT_ERRNO(fs_->Pwrite(fd, "y", 1, 0), EBADF);
  EXPECT_ERRNO(fs_->Fsync(fd), EBADF);
  EXPECT_ERRNO(fs_->Fdatasync(fd), EBADF);
  EXPECT_OK(fs_->Close(fd));
  EXPECT_EQ(ReadFile("/f"), "data");
}

TEST_F(OpenTest, TruncFlagEmptiesTheFile) {
  WriteFile("/f", "hello world");
  Fd fd = OpenOrDie("/f", O_WRONLY | O_TRUNC);
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_EQ(st.size, 0u);
  EXPECT_OK(fs_->Close(fd));
  EXPECT_EQ(ReadFile("/f"), "");
}

TEST_F(OpenTest, CreateThroughDanglingSymlinkCreatesTheTarget) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Symlink("d/target", "/link"));
  Fd fd = OpenOrDie("/link", O_WRONLY | O_CREAT);
  WriteAt(fd, 0, "via link");
  EXPECT_OK(fs_->Close(fd));
  ASSERT_OK_AND_ASSIGN(target, fs_->Lstat("/d/target"));
  EXPECT_TRUE(S_ISREG(target.mode));
  ASSERT_OK_AND_ASSIGN(link, fs_->Lstat("/link"));
  EXPECT_TRUE(S_ISLNK(link.mode));
  EXPECT_EQ(ReadFile("/d/target"), "via link");
}

TEST_F(OpenTest, TrailingSlashOnRegularFileIsEnotdir) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Open("/f/", O_RDONLY), ENOTDIR);
}

TEST_F(OpenTest, TrailingSlashOnDirectoryOpensIt) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/d/", O_RDONLY));
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_TRUE(S_ISDIR(st.mode));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(OpenTest, CreateWithTrailingSlashOnMissingNameIsEisdir) {
  EXPECT_ERRNO(fs_->Open("/new/", O_WRONLY | O_CREAT, 0644), EISDIR);
  EXPECT_FALSE(Exists("/new"));
}

// Linux (open_last_lookups in fs/namei.c) refuses a trailing slash with
// O_CREAT before it looks at what the name is: EISDIR even for a file.
TEST_F(OpenTest, CreateWithTrailingSlashOnExistingFileIsEisdir) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Open("/f/", O_WRONLY | O_CREAT, 0644), EISDIR);
  EXPECT_EQ(ReadFile("/f"), "x");
}

TEST_F(OpenTest, EmptyPathIsEnoent) {
  EXPECT_ERRNO(fs_->Open("", O_RDONLY), ENOENT);
  EXPECT_ERRNO(fs_->Open("", O_WRONLY | O_CREAT, 0644), ENOENT);
}

TEST_F(OpenTest, NulByteInPathIsEinvalAndCreatesNothing) {
  const std::string path("/a\0b", 4);
  EXPECT_ERRNO(fs_->Open(path, O_WRONLY | O_CREAT, 0644), EINVAL);
  EXPECT_FALSE(Exists("/a"));
  EXPECT_EQ(Names("/"), (std::vector<std::string>{".", ".."}));
}

// ---- The current directory and directory descriptors ----

TEST_F(CwdTest, RelativePathsResolveAgainstTheCurrentDirectory) {
  ASSERT_OK(fs_->Mkdir("/a", 0755));
  ASSERT_OK(fs_->Mkdir("/a/b", 0755));
  ASSERT_OK(fs_->Chdir("/a/b"));
  ASSERT_OK_AND_ASSIGN(cwd, fs_->Getcwd());
  EXPECT_EQ(cwd, "/a/b");
  WriteFile("f", "in b");
  WriteFile("../g", "in a");
  EXPECT_EQ(ReadFile("/a/b/f"), "in b");
  EXPECT_EQ(ReadFile("/a/g"), "in a");
  ASSERT_OK(fs_->Chdir(".."));
  ASSERT_OK_AND_ASSIGN(up, fs_->Getcwd());
  EXPECT_EQ(up, "/a");
  EXPECT_EQ(ReadFile("b/f"), "in b");
}

TEST_F(CwdTest, GetcwdFollowsARenameOfTheCurrentDirectory) {
  ASSERT_OK(fs_->Mkdir("/a", 0755));
  ASSERT_OK(fs_->Mkdir("/a/b", 0755));
  ASSERT_OK(fs_->Chdir("/a/b"));
  ASSERT_OK(fs_->Rename("/a", "/z"));
  ASSERT_OK_AND_ASSIGN(cwd, fs_->Getcwd());
  EXPECT_EQ(cwd, "/z/b");
}

TEST_F(CwdTest, ChdirToFileIsEnotdir) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Chdir("/f"), ENOTDIR);
  EXPECT_ERRNO(fs_->Chdir("/missing"), ENOENT);
  ASSERT_OK_AND_ASSIGN(cwd, fs_->Getcwd());
  EXPECT_EQ(cwd, "/");
}

TEST_F(CwdTest, CreateInARemovedCurrentDirectoryIsEnoent) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Chdir("/d"));
  ASSERT_OK(fs_->Rmdir("/d"));
  EXPECT_ERRNO(fs_->Open("f", O_WRONLY | O_CREAT, 0644), ENOENT);
  EXPECT_ERRNO(fs_->Mkdir("sub", 0755), ENOENT);
  EXPECT_ERRNO(fs_->Getcwd(), ENOENT);
  EXPECT_EQ(Names("/"), (std::vector<std::string>{".", ".."}));
}

TEST_F(CwdTest, OpenAtResolvesRelativeToTheDirectoryDescriptor) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(fd, fs_->OpenAt(dir, "f", O_WRONLY | O_CREAT, 0644));
  WriteAt(fd, 0, "at");
  EXPECT_OK(fs_->Close(fd));
  EXPECT_EQ(ReadFile("/d/f"), "at");
  EXPECT_FALSE(Exists("/f"));
  EXPECT_OK(fs_->Close(dir));
}

TEST_F(CwdTest, OpenAtWithPathDescriptorOfDirectoryWorks) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/f", "x");
  Fd dir = OpenOrDie("/d", O_PATH | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(fd, fs_->OpenAt(dir, "f", O_RDONLY));
  EXPECT_EQ(ReadFd(fd), "x");
  EXPECT_OK(fs_->Close(fd));
  EXPECT_OK(fs_->Close(dir));
}

TEST_F(CwdTest, OpenAtWithNonDirectoryDescriptorIsEnotdir) {
  WriteFile("/f", "x");
  Fd file = OpenOrDie("/f", O_RDONLY);
  EXPECT_ERRNO(fs_->OpenAt(file, "g", O_WRONLY | O_CREAT, 0644), ENOTDIR);
  EXPECT_OK(fs_->Close(file));
}

TEST_F(CwdTest, OpenAtWithBadDescriptorIsEbadf) {
  EXPECT_ERRNO(fs_->OpenAt(Fd(1000), "f", O_WRONLY | O_CREAT, 0644), EBADF);
  EXPECT_ERRNO(fs_->OpenAt(Fd(-1), "f", O_WRONLY | O_CREAT, 0644), EBADF);
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  Fd closed = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(fs_->Close(closed));
  EXPECT_ERRNO(fs_->OpenAt(closed, "f", O_WRONLY | O_CREAT, 0644), EBADF);
  EXPECT_FALSE(Exists("/f"));
  EXPECT_FALSE(Exists("/d/f"));
}

TEST_F(CwdTest, OpenAtWithAbsolutePathIgnoresTheDescriptor) {
  WriteFile("/f", "abs");
  ASSERT_OK_AND_ASSIGN(fd, fs_->OpenAt(Fd(1000), "/f", O_RDONLY));
  EXPECT_EQ(ReadFd(fd), "abs");
  EXPECT_OK(fs_->Close(fd));
}

// ---- mkdir, rmdir, unlink, link counts ----

TEST_F(MkdirTest, MkdirOnExistingNameIsEexist) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Mkdir("/d", 0755), EEXIST);
  EXPECT_ERRNO(fs_->Mkdir("/f", 0755), EEXIST);
  EXPECT_ERRNO(fs_->Mkdir("/d/.", 0755), EEXIST);
  EXPECT_EQ(ReadFile("/f"), "x");
}

// Rule V1: a directory's st_size is 40 plus 20 per entry, as tmpfs counts
// it, through every call that adds or removes an entry and across a
// remount (which rebuilds the count from the store).
TEST_F(MkdirTest, DirectorySizeCountsTwentyBytesPerEntryAsTmpfs) {
  const auto size = [this](const char* path) {
    auto st = fs_->Stat(path);
    return st.ok() ? st->size : ~uint64_t{0};
  };
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_EQ(size("/d"), 40u);
  WriteFile("/d/a", "x");
  ASSERT_OK(fs_->Mkdir("/d/s", 0755));
  ASSERT_OK(fs_->Symlink("a", "/d/l"));
  ASSERT_OK(fs_->Link("/d/a", "/d/h"));
  EXPECT_EQ(size("/d"), 120u);
  EXPECT_EQ(size("/d/s"), 40u);
  ASSERT_OK(fs_->Rename("/d/h", "/d/l"));  // over an entry: one fewer
  EXPECT_EQ(size("/d"), 100u);
  ASSERT_OK(fs_->Rename("/d/s", "/s"));  // to another directory
  EXPECT_EQ(size("/d"), 80u);
  ASSERT_OK(fs_->Rename("/d/a", "/d/b"));  // within it
  EXPECT_EQ(size("/d"), 80u);
  ASSERT_OK(fs_->Unlink("/d/b"));
  EXPECT_EQ(size("/d"), 60u);
  fs_->Sync();
  Remount();
  EXPECT_EQ(size("/d"), 60u);
  EXPECT_EQ(size("/"), 80u);  // d and s
}

TEST_F(MkdirTest, MkdirOnRootIsEexist) { EXPECT_ERRNO(fs_->Mkdir("/", 0755), EEXIST); }

TEST_F(MkdirTest, MkdirOnSymlinkIsEexistAndDoesNotFollowIt) {
  ASSERT_OK(fs_->Symlink("/missing", "/dangling"));
  EXPECT_ERRNO(fs_->Mkdir("/dangling", 0755), EEXIST);
  EXPECT_FALSE(Exists("/missing"));
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Symlink("/d", "/dl"));
  EXPECT_ERRNO(fs_->Mkdir("/dl", 0755), EEXIST);
}

TEST_F(MkdirTest, MkdirAcceptsATrailingSlash) {
  ASSERT_OK(fs_->Mkdir("/d/", 0755));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/d"));
  EXPECT_TRUE(S_ISDIR(st.mode));
}

TEST_F(MkdirTest, MkdirMakesADirectoryWithTheGivenMode) {
  ASSERT_OK(fs_->Mkdir("/d", 0750));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/d"));
  EXPECT_EQ(st.mode, S_IFDIR | 0750u);
  EXPECT_EQ(Names("/d"), (std::vector<std::string>{".", ".."}));
}

TEST_F(RmdirTest, RmdirOfNonEmptyDirectoryIsEnotempty) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/f", "x");
  EXPECT_ERRNO(fs_->Rmdir("/d"), ENOTEMPTY);
  EXPECT_EQ(ReadFile("/d/f"), "x");
}

TEST_F(RmdirTest, RmdirOfNonDirectoryIsEnotdir) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Rmdir("/f"), ENOTDIR);
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Symlink("/d", "/dl"));
  EXPECT_ERRNO(fs_->Rmdir("/dl"), ENOTDIR);
  EXPECT_TRUE(Exists("/f"));
  EXPECT_TRUE(Exists("/d"));
}

TEST_F(RmdirTest, RmdirOfRootIsEbusy) { EXPECT_ERRNO(fs_->Rmdir("/"), EBUSY); }

TEST_F(RmdirTest, RmdirWithDotAsLastComponentIsEinval) {
  ASSERT_OK(fs_->Mkdir("/x", 0755));
  EXPECT_ERRNO(fs_->Rmdir("/x/."), EINVAL);
  EXPECT_TRUE(Exists("/x"));
}

TEST_F(RmdirTest, RmdirOfMissingNameIsEnoent) { EXPECT_ERRNO(fs_->Rmdir("/missing"), ENOENT); }

TEST_F(RmdirTest, RmdirRemovesAnEmptyDirectory) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Rmdir("/d"));
  EXPECT_FALSE(Exists("/d"));
  EXPECT_EQ(Nlink("/"), 2u);
}

TEST_F(UnlinkTest, UnlinkOfDirectoryIsEisdir) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->Unlink("/d"), EISDIR);
  EXPECT_TRUE(Exists("/d"));
}

TEST_F(UnlinkTest, UnlinkOfMissingNameIsEnoent) {
  EXPECT_ERRNO(fs_->Unlink("/missing"), ENOENT);
  EXPECT_ERRNO(fs_->Unlink("/nodir/missing"), ENOENT);
}

TEST_F(UnlinkTest, UnlinkWithTrailingSlashOnFileIsEnotdir) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Unlink("/f/"), ENOTDIR);
  EXPECT_TRUE(Exists("/f"));
}

TEST_F(UnlinkTest, UnlinkOfSymlinkRemovesTheLinkNotTheTarget) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Symlink("/f", "/link"));
  ASSERT_OK(fs_->Unlink("/link"));
  EXPECT_FALSE(Exists("/link"));
  EXPECT_EQ(ReadFile("/f"), "x");
}

TEST_F(UnlinkTest, UnlinkedOpenFileStaysReadableAndWritableUntilClose) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  WriteAt(fd, 0, "before");
  ASSERT_OK(fs_->Unlink("/f"));
  EXPECT_FALSE(Exists("/f"));
  EXPECT_EQ(ReadFd(fd), "before");
  WriteAt(fd, 6, " after");
  EXPECT_EQ(ReadFd(fd), "before after");
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_EQ(st.nlink, 0u);
  EXPECT_EQ(st.size, 12u);
  EXPECT_OK(fs_->Close(fd));
  EXPECT_FALSE(Exists("/f"));
}

TEST_F(MkdirTest, DirectoryLinkCountIsTwoPlusSubdirectories) {
  EXPECT_EQ(Nlink("/"), 2u);
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_EQ(Nlink("/d"), 2u);
  EXPECT_EQ(Nlink("/"), 3u);
  ASSERT_OK(fs_->Mkdir("/d/a", 0755));
  ASSERT_OK(fs_->Mkdir("/d/b", 0755));
  WriteFile("/d/f", "files do not count");
  ASSERT_OK(fs_->Symlink("/d", "/d/l"));
  EXPECT_EQ(Nlink("/d"), 4u);
  ASSERT_OK(fs_->Rmdir("/d/a"));
  EXPECT_EQ(Nlink("/d"), 3u);
}

TEST_F(MkdirTest, FileLinkCountIsOne) {
  WriteFile("/f", "x");
  EXPECT_EQ(Nlink("/f"), 1u);
  ASSERT_OK(fs_->Symlink("/f", "/link"));
  EXPECT_EQ(Nlink("/f"), 1u);  // a symlink is not a link
  EXPECT_EQ(Nlink("/link"), 1u);
}

// ---- rename ----

TEST_F(RenameTest, RenameReplacesAFile) {
  WriteFile("/a", "new");
  WriteFile("/b", "old");
  ASSERT_OK(fs_->Rename("/a", "/b"));
  EXPECT_FALSE(Exists("/a"));
  EXPECT_EQ(ReadFile("/b"), "new");
  EXPECT_EQ(Names("/"), (std::vector<std::string>{".", "..", "b"}));
}

TEST_F(RenameTest, ReplacedTargetStaysReadableThroughItsOpenDescriptor) {
  WriteFile("/a", "moved");
  WriteFile("/b", "replaced");
  const uint64_t moved_ino = Ino("/a");
  Fd old_target = OpenOrDie("/b", O_RDONLY);
  ASSERT_OK(fs_->Rename("/a", "/b"));
  EXPECT_EQ(ReadFile("/b"), "moved");
  EXPECT_EQ(Ino("/b"), moved_ino);
  EXPECT_EQ(ReadFd(old_target), "replaced");
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(old_target));
  EXPECT_EQ(st.nlink, 0u);
  EXPECT_OK(fs_->Close(old_target));
}

TEST_F(RenameTest, RenameDirectoryIntoOwnChildIsEinval) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Mkdir("/d/sub", 0755));
  EXPECT_ERRNO(fs_->Rename("/d", "/d/x"), EINVAL);
  EXPECT_ERRNO(fs_->Rename("/d", "/d/sub/x"), EINVAL);
  EXPECT_TRUE(Exists("/d/sub"));
  EXPECT_EQ(Names("/d"), (std::vector<std::string>{".", "..", "sub"}));
  EXPECT_EQ(Names("/d/sub"), (std::vector<std::string>{".", ".."}));
}

TEST_F(RenameTest, RenameDirectoryOverNonEmptyDirectoryIsEnotempty) {
  ASSERT_OK(fs_->Mkdir("/a", 0755));
  ASSERT_OK(fs_->Mkdir("/b", 0755));
  WriteFile("/b/f", "x");
  EXPECT_ERRNO(fs_->Rename("/a", "/b"), ENOTEMPTY);
  EXPECT_TRUE(Exists("/a"));
  EXPECT_EQ(ReadFile("/b/f"), "x");
}

TEST_F(RenameTest, RenameDirectoryOverEmptyDirectoryReplacesIt) {
  ASSERT_OK(fs_->Mkdir("/a", 0755));
  WriteFile("/a/f", "x");
  ASSERT_OK(fs_->Mkdir("/b", 0755));
  ASSERT_OK(fs_->Rename("/a", "/b"));
  EXPECT_FALSE(Exists("/a"));
  EXPECT_EQ(ReadFile("/b/f"), "x");
  EXPECT_EQ(Nlink("/"), 3u);
}

TEST_F(RenameTest, RenameDirectoryOverFileIsEnotdir) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Rename("/d", "/f"), ENOTDIR);
  EXPECT_TRUE(Exists("/d"));
  EXPECT_EQ(ReadFile("/f"), "x");
}

TEST_F(RenameTest, RenameFileOverDirectoryIsEisdir) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Rename("/f", "/d"), EISDIR);
  EXPECT_EQ(ReadFile("/f"), "x");
  ASSERT_OK_AND_ASSIGN(st, fs_->Lstat("/d"));
  EXPECT_TRUE(S_ISDIR(st.mode));
}

TEST_F(RenameTest, NoReplaceOnExistingTargetIsEexistAndChangesNothing) {
  WriteFile("/a", "a");
  WriteFile("/b", "b");
  EXPECT_ERRNO(fs_->Rename("/a", "/b", kRenameNoReplace), EEXIST);
  EXPECT_EQ(ReadFile("/a"), "a");
  EXPECT_EQ(ReadFile("/b"), "b");
}

TEST_F(RenameTest, NoReplaceOnMissingTargetMoves) {
  WriteFile("/a", "a");
  ASSERT_OK(fs_->Rename("/a", "/b", kRenameNoReplace));
  EXPECT_FALSE(Exists("/a"));
  EXPECT_EQ(ReadFile("/b"), "a");
}

TEST_F(RenameTest, ExchangeSwapsTwoNames) {
  WriteFile("/a", "content of a");
  WriteFile("/b", "content of b");
  const uint64_t ino_a = Ino("/a");
  const uint64_t ino_b = Ino("/b");
  ASSERT_OK(fs_->Rename("/a", "/b", kRenameExchange));
  EXPECT_EQ(ReadFile("/a"), "content of b");
  EXPECT_EQ(ReadFile("/b"), "content of a");
  EXPECT_EQ(Ino("/a"), ino_b);
  EXPECT_EQ(Ino("/b"), ino_a);
}

TEST_F(RenameTest, ExchangeOfDirectoryAndFileAcrossParentsMovesLinkCountsAndDotDot) {
  ASSERT_OK(fs_->Mkdir("/p1", 0755));
  ASSERT_OK(fs_->Mkdir("/p2", 0755));
  ASSERT_OK(fs_->Mkdir("/p1/x", 0755));
  WriteFile("/p2/y", "file");
  ASSERT_OK(fs_->Rename("/p1/x", "/p2/y", kRenameExchange));
  EXPECT_EQ(ReadFile("/p1/x"), "file");
  ASSERT_OK_AND_ASSIGN(moved, fs_->Lstat("/p2/y"));
  EXPECT_TRUE(S_ISDIR(moved.mode));
  EXPECT_EQ(Nlink("/p1"), 2u);
  EXPECT_EQ(Nlink("/p2"), 3u);
  std::vector<DirEntry> entries = List("/p2/y");
  ASSERT_GE(entries.size(), 2u);
  EXPECT_EQ(entries[1].name, "..");
  EXPECT_EQ(entries[1].ino.value(), Ino("/p2"));
}

TEST_F(RenameTest, ExchangeWithMissingTargetIsEnoent) {
  WriteFile("/a", "a");
  EXPECT_ERRNO(fs_->Rename("/a", "/b", kRenameExchange), ENOENT);
  EXPECT_EQ(ReadFile("/a"), "a");
  EXPECT_FALSE(Exists("/b"));
}

TEST_F(RenameTest, NoReplaceWithExchangeIsEinval) {
  WriteFile("/a", "a");
  WriteFile("/b", "b");
  EXPECT_ERRNO(fs_->Rename("/a", "/b", kRenameNoReplace | kRenameExchange), EINVAL);
  EXPECT_ERRNO(fs_->Rename("/a", "/c", kRenameNoReplace | kRenameExchange), EINVAL);
  EXPECT_EQ(ReadFile("/a"), "a");
  EXPECT_EQ(ReadFile("/b"), "b");
  EXPECT_FALSE(Exists("/c"));
}

TEST_F(RenameTest, UnknownFlagIsEinval) {
  WriteFile("/a", "a");
  EXPECT_ERRNO(fs_->Rename("/a", "/c", 1u << 8), EINVAL);
  EXPECT_EQ(ReadFile("/a"), "a");
  EXPECT_FALSE(Exists("/c"));
}

TEST_F(RenameTest, RenameBetweenHardLinksOfOneInodeKeepsBothNames) {
  WriteFile("/a", "shared");
  ASSERT_OK(fs_->Link("/a", "/b"));
  ASSERT_OK(fs_->Rename("/a", "/b"));
  EXPECT_EQ(ReadFile("/a"), "shared");
  EXPECT_EQ(ReadFile("/b"), "shared");
  EXPECT_EQ(Nlink("/a"), 2u);
}

TEST_F(RenameTest, RenameOfDotOrRootIsEbusy) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->Rename("/d/.", "/e"), EBUSY);
  EXPECT_ERRNO(fs_->Rename("/d/..", "/e"), EBUSY);
  EXPECT_ERRNO(fs_->Rename("/", "/e"), EBUSY);
  ASSERT_OK(fs_->Chdir("/d"));
  EXPECT_ERRNO(fs_->Rename(".", "/e"), EBUSY);
  EXPECT_FALSE(Exists("/e"));
  EXPECT_TRUE(Exists("/d"));
}

TEST_F(RenameTest, RenameOntoDotIsEbusy) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Mkdir("/e", 0755));
  EXPECT_ERRNO(fs_->Rename("/e", "/d/."), EBUSY);
  EXPECT_TRUE(Exists("/e"));
}

TEST_F(RenameTest, RenameBetweenDirectoriesUpdatesDotDot) {
  ASSERT_OK(fs_->Mkdir("/p1", 0755));
  ASSERT_OK(fs_->Mkdir("/p1/d", 0755));
  ASSERT_OK(fs_->Mkdir("/p2", 0755));
  ASSERT_OK(fs_->Rename("/p1/d", "/p2/d"));
  std::vector<DirEntry> entries = List("/p2/d");
  ASSERT_GE(entries.size(), 2u);
  EXPECT_EQ(entries[1].name, "..");
  EXPECT_EQ(entries[1].ino.value(), Ino("/p2"));
  EXPECT_EQ(Ino("/p2/d/.."), Ino("/p2"));
  EXPECT_EQ(Nlink("/p1"), 2u);
  EXPECT_EQ(Nlink("/p2"), 3u);
}

TEST_F(RenameTest, RenameOfMissingSourceIsEnoent) {
  EXPECT_ERRNO(fs_->Rename("/missing", "/b"), ENOENT);
  EXPECT_FALSE(Exists("/b"));
}

// ---- link ----

TEST_F(LinkTest, HardLinksShareData) {
  WriteFile("/a", "one");
  ASSERT_OK(fs_->Link("/a", "/b"));
  EXPECT_EQ(Ino("/a"), Ino("/b"));
  Fd fd = OpenOrDie("/b", O_WRONLY);
  WriteAt(fd, 3, " two");
  EXPECT_OK(fs_->Close(fd));
  EXPECT_EQ(ReadFile("/a"), "one two");
}

TEST_F(LinkTest, LinkCountFollowsLinksAndUnlinks) {
  WriteFile("/a", "x");
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Link("/a", "/b"));
  EXPECT_EQ(Nlink("/a"), 2u);
  ASSERT_OK(fs_->Link("/a", "/d/c"));
  EXPECT_EQ(Nlink("/b"), 3u);
  ASSERT_OK(fs_->Unlink("/a"));
  EXPECT_EQ(Nlink("/b"), 2u);
  EXPECT_EQ(ReadFile("/d/c"), "x");
}

TEST_F(LinkTest, LinkToDirectoryIsEperm) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->Link("/d", "/e"), EPERM);
  EXPECT_FALSE(Exists("/e"));
  EXPECT_EQ(Nlink("/d"), 2u);
}

TEST_F(LinkTest, LinkOntoExistingNameIsEexist) {
  WriteFile("/a", "a");
  WriteFile("/b", "b");
  EXPECT_ERRNO(fs_->Link("/a", "/b"), EEXIST);
  EXPECT_EQ(ReadFile("/b"), "b");
  EXPECT_EQ(Nlink("/a"), 1u);
}

TEST_F(LinkTest, LinkOfMissingSourceIsEnoent) {
  EXPECT_ERRNO(fs_->Link("/missing", "/b"), ENOENT);
  EXPECT_FALSE(Exists("/b"));
}

// ---- symlink, readlink ----

TEST_F(SymlinkTest, RelativeTargetResolvesFromTheLinksDirectory) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Mkdir("/e", 0755));
  WriteFile("/d/f", "target");
  ASSERT_OK(fs_->Symlink("f", "/d/same_dir"));
  ASSERT_OK(fs_->Symlink("../d/f", "/e/other_dir"));
  EXPECT_EQ(ReadFile("/d/same_dir"), "target");
  EXPECT_EQ(ReadFile("/e/other_dir"), "target");
}

TEST_F(SymlinkTest, AbsoluteTargetResolvesFromTheVfsRoot) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Mkdir("/e", 0755));
  WriteFile("/d/f", "target");
  ASSERT_OK(fs_->Symlink("/d/f", "/e/abs"));
  EXPECT_EQ(ReadFile("/e/abs"), "target");
  ASSERT_OK(fs_->Symlink("/d", "/e/dir"));
  EXPECT_EQ(ReadFile("/e/dir/f"), "target");
}

TEST_F(SymlinkTest, ReadlinkReturnsTheTargetVerbatim) {
  ASSERT_OK(fs_->Symlink("../not/normalised//x", "/link"));
  ASSERT_OK_AND_ASSIGN(target, fs_->Readlink("/link"));
  EXPECT_EQ(target, "../not/normalised//x");
}

TEST_F(SymlinkTest, ReadlinkOfNonSymlinkIsEinval) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->Readlink("/f"), EINVAL);
  EXPECT_ERRNO(fs_->Readlink("/d"), EINVAL);
  EXPECT_ERRNO(fs_->Readlink("/missing"), ENOENT);
}

TEST_F(SymlinkTest, SymlinkOnExistingNameIsEexist) {
  WriteFile("/f", "x");
  EXPECT_ERRNO(fs_->Symlink("/elsewhere", "/f"), EEXIST);
  EXPECT_EQ(ReadFile("/f"), "x");
}

TEST_F(SymlinkTest, SymlinkLoopIsEloop) {
  ASSERT_OK(fs_->Symlink("/b", "/a"));
  ASSERT_OK(fs_->Symlink("/a", "/b"));
  ASSERT_OK(fs_->Symlink("self", "/self"));
  EXPECT_ERRNO(fs_->Open("/a", O_RDONLY), ELOOP);
  EXPECT_ERRNO(fs_->Stat("/a"), ELOOP);
  EXPECT_ERRNO(fs_->Open("/self", O_WRONLY | O_CREAT, 0644), ELOOP);
  EXPECT_ERRNO(fs_->Stat("/a/x"), ELOOP);
  ASSERT_OK_AND_ASSIGN(st, fs_->Lstat("/a"));
  EXPECT_TRUE(S_ISLNK(st.mode));
}

// Builds /l1 -> /l2 -> ... -> /l<n> -> /f, so opening /l1 follows n links.
void MakeChain(Filesystem& fs, int n) {
  for (int i = 1; i <= n; ++i) {
    const std::string target = i == n ? "/f" : "/l" + std::to_string(i + 1);
    ASSERT_OK(fs.Symlink(target, "/l" + std::to_string(i)));
  }
}

TEST_F(SymlinkTest, DefaultDepthFollowsFortyLinksAndRefusesFortyOne) {
  WriteFile("/f", "end");
  ASSERT_NO_FATAL_FAILURE(MakeChain(*fs_, 41));
  EXPECT_ERRNO(fs_->Stat("/l1"), ELOOP);
  EXPECT_EQ(ReadFile("/l2"), "end");  // 40 links
}

class ShallowSymlinkTest : public NamespaceTest {
 protected:
  ShallowSymlinkTest() { options_.max_symlink_depth = 5; }
};

TEST_F(ShallowSymlinkTest, ChainLongerThanMaxSymlinkDepthIsEloop) {
  WriteFile("/f", "end");
  ASSERT_NO_FATAL_FAILURE(MakeChain(*fs_, 6));
  EXPECT_ERRNO(fs_->Open("/l1", O_RDONLY), ELOOP);
  EXPECT_ERRNO(fs_->Stat("/l1"), ELOOP);
}

TEST_F(ShallowSymlinkTest, ChainAtMaxSymlinkDepthWorks) {
  WriteFile("/f", "end");
  ASSERT_NO_FATAL_FAILURE(MakeChain(*fs_, 5));
  EXPECT_EQ(ReadFile("/l1"), "end");
}

TEST_F(ShallowSymlinkTest, LinksInEveryComponentCountTowardsOneLookupsDepth) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/f", "end");
  // /a0 -> /a1 -> /a2 -> /d, and /d/x -> y -> f.
  ASSERT_OK(fs_->Symlink("/a1", "/a0"));
  ASSERT_OK(fs_->Symlink("/a2", "/a1"));
  ASSERT_OK(fs_->Symlink("/d", "/a2"));
  ASSERT_OK(fs_->Symlink("y", "/d/x"));
  ASSERT_OK(fs_->Symlink("f", "/d/y"));
  EXPECT_EQ(ReadFile("/a1/x"), "end");  // 2 + 2 links
  EXPECT_EQ(ReadFile("/a0/y"), "end");  // 3 + 1 links
  EXPECT_EQ(ReadFile("/a0/x"), "end");  // 3 + 2 links: at the limit
  ASSERT_OK(fs_->Symlink("/a0", "/a"));
  EXPECT_ERRNO(fs_->Stat("/a/x"), ELOOP);  // 4 + 2 links
  EXPECT_EQ(ReadFile("/a/f"), "end");      // 4 links
}

TEST_F(SymlinkTest, DotDotAtTheRootStaysAtTheRoot) {
  WriteFile("/a", "at root");
  EXPECT_EQ(ReadFile("/../../a"), "at root");
  EXPECT_EQ(Ino("/.."), kRootInode.value());
  ASSERT_OK(fs_->Symlink("../../../a", "/up"));
  EXPECT_EQ(ReadFile("/up"), "at root");
  std::vector<DirEntry> entries = List("/");
  ASSERT_GE(entries.size(), 2u);
  EXPECT_EQ(entries[1].name, "..");
  EXPECT_EQ(entries[1].ino, kRootInode);
}

TEST_F(SymlinkTest, LstatDescribesTheLinkAndStatItsTarget) {
  WriteFile("/f", "12345");
  ASSERT_OK(fs_->Symlink("/f", "/link"));
  ASSERT_OK_AND_ASSIGN(lst, fs_->Lstat("/link"));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/link"));
  EXPECT_TRUE(S_ISLNK(lst.mode));
  EXPECT_EQ(lst.size, 2u);  // strlen("/f")
  EXPECT_TRUE(S_ISREG(st.mode));
  EXPECT_EQ(st.size, 5u);
  EXPECT_EQ(st.ino.value(), Ino("/f"));
  EXPECT_NE(lst.ino, st.ino);
}

TEST_F(SymlinkTest, StatOfDanglingSymlinkIsEnoent) {
  ASSERT_OK(fs_->Symlink("/missing", "/link"));
  EXPECT_ERRNO(fs_->Stat("/link"), ENOENT);
  EXPECT_OK(fs_->Lstat("/link"));
}

// ---- Name and path length ----

TEST_F(NameLengthTest, ComponentOfMaxNameLengthWorks) {
  const std::string name(255, 'n');
  WriteFile("/" + name, "long");
  EXPECT_EQ(ReadFile("/" + name), "long");
  ASSERT_OK(fs_->Mkdir("/d" + name.substr(1), 0755));
}

TEST_F(NameLengthTest, ComponentLongerThanMaxNameLengthIsEnametoolong) {
  const std::string name(256, 'n');
  EXPECT_ERRNO(fs_->Open("/" + name, O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
  EXPECT_ERRNO(fs_->Mkdir("/" + name, 0755), ENAMETOOLONG);
  EXPECT_ERRNO(fs_->Lstat("/" + name), ENAMETOOLONG);
  EXPECT_ERRNO(fs_->Symlink("/x", "/" + name), ENAMETOOLONG);
  EXPECT_EQ(Names("/"), (std::vector<std::string>{".", ".."}));
}

TEST_F(NameLengthTest, PathOfMaxPathLengthBytesIsEnametoolong) {
  WriteFile("/abcd", "x");
  std::string dots;
  for (int i = 0; i < 2045; ++i) dots += "./";
  const std::string fits = "/" + dots + "abcd";       // 4095 bytes + NUL
  const std::string too_long = "//" + dots + "abcd";  // 4096 bytes + NUL
  ASSERT_EQ(fits.size(), 4095u);
  ASSERT_EQ(too_long.size(), 4096u);
  EXPECT_EQ(ReadFile(fits), "x");
  EXPECT_ERRNO(fs_->Open(too_long, O_RDONLY), ENAMETOOLONG);
  EXPECT_ERRNO(fs_->Stat(too_long), ENAMETOOLONG);
}

// ---- readdir ----

TEST_F(ReadDirTest, DotEntriesComeFirstThenNamesInByteOrder) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  for (const char* name : {"b", "a", "B", "aa", "\xc3\xa9", "_", "a0"}) {
    WriteFile(std::string("/d/") + name, "");
  }
  EXPECT_EQ(Names("/d"),
            (std::vector<std::string>{".", "..", "B", "_", "a", "a0", "aa", "b", "\xc3\xa9"}));
}

TEST_F(ReadDirTest, DotEntriesNameTheDirectoryAndItsParent) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  std::vector<DirEntry> entries = List("/d");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], (DirEntry{InodeId(Ino("/d")), DT_DIR, "."}));
  EXPECT_EQ(entries[1], (DirEntry{kRootInode, DT_DIR, ".."}));
}

TEST_F(ReadDirTest, EntriesCarryTheirTypeAndInode) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/reg", "x");
  ASSERT_OK(fs_->Mkdir("/d/dir", 0755));
  ASSERT_OK(fs_->Symlink("reg", "/d/lnk"));
  ASSERT_OK(fs_->Mkfifo("/d/fifo", 0644));
  std::vector<DirEntry> entries = List("/d");
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[2], (DirEntry{InodeId(Ino("/d/dir")), DT_DIR, "dir"}));
  EXPECT_EQ(entries[3], (DirEntry{InodeId(Ino("/d/fifo")), DT_FIFO, "fifo"}));
  EXPECT_EQ(entries[4], (DirEntry{InodeId(Ino("/d/lnk")), DT_LNK, "lnk"}));
  EXPECT_EQ(entries[5], (DirEntry{InodeId(Ino("/d/reg")), DT_REG, "reg"}));
}

TEST_F(ReadDirTest, MaxBatchesTheEntriesAndAnEmptyBatchEndsThem) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/a", "");
  WriteFile("/d/b", "");
  WriteFile("/d/c", "");
  Fd fd = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  std::vector<std::vector<std::string>> batches;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(batch, fs_->ReadDir(fd, 2));
    std::vector<std::string> names;
    for (const DirEntry& entry : batch) names.push_back(entry.name);
    batches.push_back(names);
  }
  EXPECT_EQ(batches, (std::vector<std::vector<std::string>>{{".", ".."}, {"a", "b"}, {"c"}, {}}));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadDirTest, EntryAddedBetweenBatchesAfterThePositionIsSeen) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/a", "");
  WriteFile("/d/c", "");
  Fd fd = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(first, fs_->ReadDir(fd, 3));
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[2].name, "a");
  WriteFile("/d/b", "");
  ASSERT_OK_AND_ASSIGN(rest, fs_->ReadDir(fd));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].name, "b");
  EXPECT_EQ(rest[1].name, "c");
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadDirTest, LseekToZeroRewinds) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/d/a", "");
  Fd fd = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(all, fs_->ReadDir(fd));
  EXPECT_EQ(all.size(), 3u);
  ASSERT_OK_AND_ASSIGN(end, fs_->ReadDir(fd));
  EXPECT_TRUE(end.empty());
  ASSERT_OK_AND_ASSIGN(pos, fs_->Lseek(fd, 0, SEEK_SET));
  EXPECT_EQ(pos, 0);
  ASSERT_OK_AND_ASSIGN(again, fs_->ReadDir(fd));
  EXPECT_EQ(again, all);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(ReadDirTest, ReadDirOfFileIsEnotdir) {
  WriteFile("/f", "x");
  Fd fd = OpenOrDie("/f", O_RDONLY);
  EXPECT_ERRNO(fs_->ReadDir(fd), ENOTDIR);
  EXPECT_OK(fs_->Close(fd));
  EXPECT_ERRNO(fs_->ReadDir(Fd(1000)), EBADF);
}

// ---- Attributes ----

TEST_F(AttributeTest, ChmodChangesOnlyThePermissionBits) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Chmod("/f", S_IFDIR | 04711));
  ASSERT_OK(fs_->Chmod("/d", S_IFREG | 0700));
  ASSERT_OK_AND_ASSIGN(f, fs_->Stat("/f"));
  ASSERT_OK_AND_ASSIGN(d, fs_->Stat("/d"));
  EXPECT_EQ(f.mode, S_IFREG | 04711u);
  EXPECT_EQ(d.mode, S_IFDIR | 0700u);
}

TEST_F(AttributeTest, FchmodChangesOnlyThePermissionBits) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT, 0644);
  ASSERT_OK(fs_->Fchmod(fd, S_IFLNK | 0600));
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(fd));
  EXPECT_EQ(st.mode, S_IFREG | 0600u);
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(AttributeTest, ChmodChangesCtime) {
  WriteFile("/f", "x");
  ASSERT_OK_AND_ASSIGN(before, fs_->Stat("/f"));
  ASSERT_OK(fs_->Chmod("/f", 0600));
  ASSERT_OK_AND_ASSIGN(after, fs_->Stat("/f"));
  EXPECT_GT(after.ctime, before.ctime);
  EXPECT_EQ(after.mtime, before.mtime);
}

TEST_F(AttributeTest, UtimensSetsExplicitTimes) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Utimens("/f", {Timespec{100, 5}, Timespec{200, 999999999}}));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/f"));
  EXPECT_EQ(st.atime.sec, 100);
  EXPECT_EQ(st.atime.nsec, 5);
  EXPECT_EQ(st.mtime.sec, 200);
  EXPECT_EQ(st.mtime.nsec, 999999999);
}

TEST_F(AttributeTest, UtimensNowTakesTheClock) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Utimens("/f", {Timespec{1, 0}, Timespec{1, 0}}));
  ASSERT_OK_AND_ASSIGN(before, fs_->Stat("/f"));
  ASSERT_OK(fs_->Utimens("/f", {Timespec{0, kUtimeNow}, Timespec{0, kUtimeNow}}));
  ASSERT_OK_AND_ASSIGN(after, fs_->Stat("/f"));
  EXPECT_GT(after.atime, before.ctime);
  EXPECT_EQ(after.atime, after.mtime);
  EXPECT_EQ(after.mtime, after.ctime);
}

TEST_F(AttributeTest, UtimensOmitLeavesThatTimeAlone) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Utimens("/f", {Timespec{100, 0}, Timespec{200, 0}}));
  ASSERT_OK(fs_->Utimens("/f", {Timespec{0, kUtimeOmit}, Timespec{300, 0}}));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/f"));
  EXPECT_EQ(st.atime, (Timespec{100, 0}));
  EXPECT_EQ(st.mtime, (Timespec{300, 0}));
  ASSERT_OK(fs_->Utimens("/f", {Timespec{400, 0}, Timespec{0, kUtimeOmit}}));
  ASSERT_OK_AND_ASSIGN(st2, fs_->Stat("/f"));
  EXPECT_EQ(st2.atime, (Timespec{400, 0}));
  EXPECT_EQ(st2.mtime, (Timespec{300, 0}));
}

TEST_F(AttributeTest, UtimensWithBothOmittedChangesNothing) {
  WriteFile("/f", "x");
  ASSERT_OK_AND_ASSIGN(before, fs_->Stat("/f"));
  ASSERT_OK(fs_->Utimens("/f", {Timespec{0, kUtimeOmit}, Timespec{0, kUtimeOmit}}));
  ASSERT_OK_AND_ASSIGN(after, fs_->Stat("/f"));
  EXPECT_EQ(after.atime, before.atime);
  EXPECT_EQ(after.mtime, before.mtime);
  EXPECT_EQ(after.ctime, before.ctime);
}

// Linux's utimensat returns 0 for two UTIME_OMITs before it even looks the
// path up ("Nothing to do, we must not even check the path", fs/utimes.c).
TEST_F(AttributeTest, UtimensWithBothOmittedDoesNotLookUpThePath) {
  EXPECT_OK(fs_->Utimens("/missing", {Timespec{0, kUtimeOmit}, Timespec{0, kUtimeOmit}}));
}

TEST_F(AttributeTest, UtimensWithInvalidNsecIsEinvalAndChangesNothing) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Utimens("/f", {Timespec{100, 0}, Timespec{200, 0}}));
  ASSERT_OK_AND_ASSIGN(before, fs_->Stat("/f"));
  EXPECT_ERRNO(fs_->Utimens("/f", {Timespec{5, 1000000000}, Timespec{6, 0}}), EINVAL);
  EXPECT_ERRNO(fs_->Utimens("/f", {Timespec{5, 0}, Timespec{6, -1}}), EINVAL);
  Fd fd = OpenOrDie("/f", O_RDONLY);
  EXPECT_ERRNO(fs_->Futimens(fd, {Timespec{5, 0}, Timespec{6, 1000000000}}), EINVAL);
  EXPECT_OK(fs_->Close(fd));
  ASSERT_OK_AND_ASSIGN(after, fs_->Stat("/f"));
  EXPECT_EQ(after.atime, before.atime);
  EXPECT_EQ(after.mtime, before.mtime);
  EXPECT_EQ(after.ctime, before.ctime);
}

TEST_F(AttributeTest, UtimensChangesCtime) {
  WriteFile("/f", "x");
  ASSERT_OK_AND_ASSIGN(before, fs_->Stat("/f"));
  ASSERT_OK(fs_->Utimens("/f", {Timespec{100, 0}, Timespec{200, 0}}));
  ASSERT_OK_AND_ASSIGN(after, fs_->Stat("/f"));
  EXPECT_GT(after.ctime, before.ctime);
  Fd fd = OpenOrDie("/f", O_RDONLY);
  ASSERT_OK(fs_->Futimens(fd, {Timespec{1, 0}, Timespec{2, 0}}));
  ASSERT_OK_AND_ASSIGN(later, fs_->Fstat(fd));
  EXPECT_GT(later.ctime, after.ctime);
  EXPECT_EQ(later.mtime, (Timespec{2, 0}));
  EXPECT_OK(fs_->Close(fd));
}

TEST_F(AttributeTest, UtimensWithoutFollowChangesTheSymlink) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Symlink("/f", "/link"));
  ASSERT_OK(fs_->Utimens("/f", {Timespec{10, 0}, Timespec{10, 0}}));
  ASSERT_OK(fs_->Utimens("/link", {Timespec{20, 0}, Timespec{20, 0}}, /*follow=*/false));
  ASSERT_OK_AND_ASSIGN(link, fs_->Lstat("/link"));
  ASSERT_OK_AND_ASSIGN(file, fs_->Stat("/f"));
  EXPECT_EQ(link.mtime, (Timespec{20, 0}));
  EXPECT_EQ(file.mtime, (Timespec{10, 0}));
}

// ---- FIFOs and pipes ----

TEST_F(FifoTest, PipeReturnsTheBytesWrittenInOrder) {
  ASSERT_OK_AND_ASSIGN(ends, fs_->Pipe());
  auto [rd, wr] = ends;
  ASSERT_OK_AND_ASSIGN(n1, fs_->Write(wr, "hello ", 6));
  ASSERT_OK_AND_ASSIGN(n2, fs_->Write(wr, "pipe", 4));
  EXPECT_EQ(n1 + n2, 10u);
  char buf[16];
  ASSERT_OK_AND_ASSIGN(first, fs_->Read(rd, buf, 3));
  EXPECT_EQ(std::string(buf, first), "hel");
  ASSERT_OK_AND_ASSIGN(rest, fs_->Read(rd, buf, sizeof buf));
  EXPECT_EQ(std::string(buf, rest), "lo pipe");
  EXPECT_OK(fs_->Close(rd));
  EXPECT_OK(fs_->Close(wr));
}

TEST_F(FifoTest, ReadOfEmptyPipeIsEagainWhileAWriterIsOpenThenEndOfFile) {
  ASSERT_OK_AND_ASSIGN(ends, fs_->Pipe());
  auto [rd, wr] = ends;
  char buf[8];
  EXPECT_ERRNO(fs_->Read(rd, buf, sizeof buf), EAGAIN);
  ASSERT_OK_AND_ASSIGN(n, fs_->Write(wr, "last", 4));
  EXPECT_EQ(n, 4u);
  ASSERT_OK(fs_->Close(wr));
  ASSERT_OK_AND_ASSIGN(got, fs_->Read(rd, buf, sizeof buf));
  EXPECT_EQ(std::string(buf, got), "last");  // data written before the close
  ASSERT_OK_AND_ASSIGN(eof, fs_->Read(rd, buf, sizeof buf));
  EXPECT_EQ(eof, 0u);
  EXPECT_OK(fs_->Close(rd));
}

TEST_F(FifoTest, DupOfWriteEndKeepsThePipeOpenForWriting) {
  ASSERT_OK_AND_ASSIGN(ends, fs_->Pipe());
  auto [rd, wr] = ends;
  ASSERT_OK_AND_ASSIGN(wr2, fs_->Dup(wr));
  ASSERT_OK(fs_->Close(wr));
  char buf[8];
  EXPECT_ERRNO(fs_->Read(rd, buf, sizeof buf), EAGAIN);
  ASSERT_OK(fs_->Close(wr2));
  ASSERT_OK_AND_ASSIGN(eof, fs_->Read(rd, buf, sizeof buf));
  EXPECT_EQ(eof, 0u);
  EXPECT_OK(fs_->Close(rd));
}

TEST_F(FifoTest, WrongEndOfPipeIsEbadf) {
  ASSERT_OK_AND_ASSIGN(ends, fs_->Pipe());
  auto [rd, wr] = ends;
  char buf[4];
  EXPECT_ERRNO(fs_->Write(rd, "x", 1), EBADF);
  EXPECT_ERRNO(fs_->Read(wr, buf, sizeof buf), EBADF);
  EXPECT_OK(fs_->Close(rd));
  EXPECT_OK(fs_->Close(wr));
}

TEST_F(FifoTest, SeekPreadAndPwriteOnPipeAreEspipe) {
  ASSERT_OK_AND_ASSIGN(ends, fs_->Pipe());
  auto [rd, wr] = ends;
  char buf[4];
  EXPECT_ERRNO(fs_->Lseek(rd, 0, SEEK_SET), ESPIPE);
  EXPECT_ERRNO(fs_->Lseek(wr, 0, SEEK_CUR), ESPIPE);
  EXPECT_ERRNO(fs_->Pread(rd, buf, sizeof buf, 0), ESPIPE);
  EXPECT_ERRNO(fs_->Pwrite(wr, "x", 1, 0), ESPIPE);
  EXPECT_OK(fs_->Close(rd));
  EXPECT_OK(fs_->Close(wr));
}

TEST_F(FifoTest, FsyncAndFdatasyncOnPipeAreEinval) {
  ASSERT_OK_AND_ASSIGN(ends, fs_->Pipe());
  auto [rd, wr] = ends;
  EXPECT_ERRNO(fs_->Fsync(rd), EINVAL);
  EXPECT_ERRNO(fs_->Fsync(wr), EINVAL);
  EXPECT_ERRNO(fs_->Fdatasync(rd), EINVAL);
  EXPECT_ERRNO(fs_->Fdatasync(wr), EINVAL);
  EXPECT_OK(fs_->Close(rd));
  EXPECT_OK(fs_->Close(wr));
}

TEST_F(FifoTest, MkfifoMakesANamedPipe) {
  ASSERT_OK(fs_->Mkfifo("/fifo", 0640));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/fifo"));
  EXPECT_EQ(st.mode, S_IFIFO | 0640u);
  EXPECT_ERRNO(fs_->Mkfifo("/fifo", 0640), EEXIST);
  // O_RDWR on a FIFO is both ends at once (Linux allows it without blocking).
  Fd fd = OpenOrDie("/fifo", O_RDWR);
  ASSERT_OK_AND_ASSIGN(n, fs_->Write(fd, "through", 7));
  EXPECT_EQ(n, 7u);
  char buf[16];
  ASSERT_OK_AND_ASSIGN(got, fs_->Read(fd, buf, sizeof buf));
  EXPECT_EQ(std::string(buf, got), "through");
  EXPECT_ERRNO(fs_->Read(fd, buf, sizeof buf), EAGAIN);
  EXPECT_ERRNO(fs_->Lseek(fd, 0, SEEK_SET), ESPIPE);
  EXPECT_ERRNO(fs_->Pread(fd, buf, 1, 0), ESPIPE);
  EXPECT_ERRNO(fs_->Fsync(fd), EINVAL);
  EXPECT_OK(fs_->Close(fd));
}

// ---- Limits ----

class InodeLimitTest : public NamespaceTest {
 protected:
  InodeLimitTest() { options_.max_inodes = 4; }  // the root and three more
};

TEST_F(InodeLimitTest, CreatePastMaxInodesIsEnospcAndLeavesNoEntry) {
  WriteFile("/a", "");
  ASSERT_OK(fs_->Mkdir("/b", 0755));
  ASSERT_OK(fs_->Symlink("/a", "/c"));
  ASSERT_OK_AND_ASSIGN(full, fs_->Statfs());
  EXPECT_EQ(full.files, 4u);
  EXPECT_EQ(full.files_free, 0u);
  EXPECT_ERRNO(fs_->Open("/d", O_WRONLY | O_CREAT, 0644), ENOSPC);
  EXPECT_ERRNO(fs_->Mkdir("/d", 0755), ENOSPC);
  EXPECT_ERRNO(fs_->Symlink("/a", "/d"), ENOSPC);
  EXPECT_ERRNO(fs_->Mkfifo("/d", 0644), ENOSPC);
  EXPECT_ERRNO(fs_->Open("/b/d", O_WRONLY | O_CREAT, 0644), ENOSPC);
  EXPECT_FALSE(Exists("/d"));
  EXPECT_FALSE(Exists("/b/d"));
  EXPECT_EQ(Names("/"), (std::vector<std::string>{".", "..", "a", "b", "c"}));
  EXPECT_EQ(Nlink("/"), 3u);
  // A hard link takes no inode.
  ASSERT_OK(fs_->Link("/a", "/a2"));
  // Removing a file gives its inode back.
  ASSERT_OK(fs_->Unlink("/c"));
  WriteFile("/d", "room again");
  EXPECT_EQ(ReadFile("/d"), "room again");
}

class FdLimitTest : public NamespaceTest {
 protected:
  FdLimitTest() { options_.max_open_fds = 4; }
};

TEST_F(FdLimitTest, OpenPastMaxOpenFdsIsEmfileAndCreatesNoFile) {
  std::vector<Fd> fds;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/f" + std::to_string(i), O_RDWR | O_CREAT, 0644));
    fds.push_back(fd);
  }
  WriteAt(fds[0], 0, "kept");
  EXPECT_ERRNO(fs_->Open("/new", O_RDWR | O_CREAT, 0644), EMFILE);
  EXPECT_ERRNO(fs_->Open("/f0", O_RDONLY | O_TRUNC), EMFILE);
  EXPECT_FALSE(Exists("/new"));
  ASSERT_OK_AND_ASSIGN(st, fs_->Stat("/f0"));
  EXPECT_EQ(st.size, 4u);  // the refused O_TRUNC truncated nothing
  ASSERT_OK(fs_->Close(fds.back()));
  fds.pop_back();
  ASSERT_OK_AND_ASSIGN(fd, fs_->Open("/new", O_RDWR | O_CREAT, 0644));
  EXPECT_EQ(fd, Fd(3));  // the lowest free descriptor
  fds.push_back(fd);
  for (Fd open : fds) EXPECT_OK(fs_->Close(open));
}

TEST_F(FdLimitTest, DupPastMaxOpenFdsIsEmfile) {
  std::vector<Fd> fds;
  fds.push_back(OpenOrDie("/f", O_RDWR | O_CREAT));
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(dup, fs_->Dup(fds[0]));
    fds.push_back(dup);
  }
  EXPECT_ERRNO(fs_->Dup(fds[0]), EMFILE);
  for (Fd open : fds) EXPECT_OK(fs_->Close(open));
}

TEST_F(FdLimitTest, PipeNeedingTwoFreeDescriptorsIsEmfileWithOne) {
  std::vector<Fd> fds;
  for (int i = 0; i < 3; ++i) fds.push_back(OpenOrDie("/f", O_RDWR | O_CREAT));
  EXPECT_ERRNO(fs_->Pipe(), EMFILE);
  // Nothing leaked: the one free slot is still free.
  ASSERT_OK_AND_ASSIGN(last, fs_->Dup(fds[0]));
  fds.push_back(last);
  for (Fd open : fds) EXPECT_OK(fs_->Close(open));
}

// ---- Mount options ----

TEST_F(MountTest, PageSizeNotAPowerOfTwoIsEinval) {
  auto store = NewMemoryStore();
  for (uint32_t size : {1000u, 3000u, 4097u, 65535u}) {
    Options options;
    options.page_size = size;
    EXPECT_ERRNO(Filesystem::Mount(store, options), EINVAL);
  }
}

TEST_F(MountTest, PageSizeOutsideTheRangeIsEinval) {
  auto store = NewMemoryStore();
  for (uint32_t size : {1u, 256u, 131072u}) {
    Options options;
    options.page_size = size;
    EXPECT_ERRNO(Filesystem::Mount(store, options), EINVAL);
  }
  // The refused mounts left the store unformatted and free.
  Options options;
  options.page_size = 1024;
  ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(store, options));
  EXPECT_EQ(fs->page_size(), 1024u);
}

TEST_F(MountTest, SmallestAndLargestPageSizesWork) {
  for (uint32_t size : {512u, 65536u}) {
    SCOPED_TRACE(size);
    auto store = NewMemoryStore();
    Options options;
    options.page_size = size;
    ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(store, options));
    EXPECT_EQ(fs->page_size(), size);
    ASSERT_OK_AND_ASSIGN(fd, fs->Open("/f", O_RDWR | O_CREAT, 0644));
    // Bytes on both sides of the first page boundary.
    ASSERT_OK_AND_ASSIGN(n, fs->Pwrite(fd, "abcd", 4, size - 2));
    EXPECT_EQ(n, 4u);
    char buf[4];
    ASSERT_OK_AND_ASSIGN(got, fs->Pread(fd, buf, 4, size - 2));
    EXPECT_EQ(std::string(buf, got), "abcd");
    ASSERT_OK_AND_ASSIGN(st, fs->Fstat(fd));
    EXPECT_EQ(st.blksize, size);
    EXPECT_EQ(st.blocks, 2u * size / 512);
    ASSERT_OK_AND_ASSIGN(sfs, fs->Statfs());
    EXPECT_EQ(sfs.block_size, size);
    EXPECT_OK(fs->Close(fd));
    ASSERT_OK(fs->Unmount());
    // The store keeps the page size: a mount without one takes it.
    ASSERT_OK_AND_ASSIGN(again, Filesystem::Mount(store));
    EXPECT_EQ(again->page_size(), size);
  }
}

TEST_F(MountTest, StoreFormattedWithOnePageSizeRefusesAnother) {
  WriteFile("/f", "kept");
  ASSERT_EQ(fs_->page_size(), 4096u);
  ASSERT_OK(fs_->Unmount());
  Options other = options_;
  other.page_size = 8192;
  EXPECT_ERRNO(Filesystem::Mount(store_, other), EINVAL);
  // The refused mount released the store and changed nothing in it.
  Options same = options_;
  same.page_size = 4096;
  ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(store_, same));
  fs_ = std::move(fs);
  EXPECT_EQ(ReadFile("/f"), "kept");
}

TEST_F(MountTest, MountingAMountedStoreIsEbusy) {
  EXPECT_ERRNO(Filesystem::Mount(store_, options_), EBUSY);
  // The first mount is untouched.
  WriteFile("/f", "still mounted");
  EXPECT_EQ(ReadFile("/f"), "still mounted");
  ASSERT_OK(fs_->Unmount());
  ASSERT_OK_AND_ASSIGN(fs, Filesystem::Mount(store_, options_));
  fs_ = std::move(fs);
  EXPECT_EQ(ReadFile("/f"), "still mounted");
}

// ---- After a crash ----

TEST_F(CrashTest, EveryCallAfterCrashIsEio) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Symlink("/f", "/link"));
  Fd fd = OpenOrDie("/f", O_RDWR);
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  fs_->Crash();

  char buf[4];
  EXPECT_ERRNO(fs_->Open("/f", O_RDONLY), EIO);
  EXPECT_ERRNO(fs_->Open("/new", O_RDWR | O_CREAT, 0644), EIO);
  EXPECT_ERRNO(fs_->OpenAt(dir, "g", O_RDWR | O_CREAT, 0644), EIO);
  EXPECT_ERRNO(fs_->Dup(fd), EIO);
  EXPECT_ERRNO(fs_->Read(fd, buf, sizeof buf), EIO);
  EXPECT_ERRNO(fs_->Write(fd, "y", 1), EIO);
  EXPECT_ERRNO(fs_->Pread(fd, buf, sizeof buf, 0), EIO);
  EXPECT_ERRNO(fs_->Pwrite(fd, "y", 1, 0), EIO);
  EXPECT_ERRNO(fs_->Lseek(fd, 0, SEEK_SET), EIO);
  EXPECT_ERRNO(fs_->Truncate("/f", 0), EIO);
  EXPECT_ERRNO(fs_->Ftruncate(fd, 0), EIO);
  EXPECT_ERRNO(fs_->Mkdir("/e", 0755), EIO);
  EXPECT_ERRNO(fs_->Rmdir("/d"), EIO);
  EXPECT_ERRNO(fs_->Unlink("/f"), EIO);
  EXPECT_ERRNO(fs_->Rename("/f", "/g"), EIO);
  EXPECT_ERRNO(fs_->Link("/f", "/g"), EIO);
  EXPECT_ERRNO(fs_->Symlink("/f", "/g"), EIO);
  EXPECT_ERRNO(fs_->Readlink("/link"), EIO);
  EXPECT_ERRNO(fs_->Mkfifo("/g", 0644), EIO);
  EXPECT_ERRNO(fs_->Pipe(), EIO);
  EXPECT_ERRNO(fs_->Chdir("/d"), EIO);
  EXPECT_ERRNO(fs_->Getcwd(), EIO);
  EXPECT_ERRNO(fs_->Stat("/f"), EIO);
  EXPECT_ERRNO(fs_->Lstat("/f"), EIO);
  EXPECT_ERRNO(fs_->Fstat(fd), EIO);
  EXPECT_ERRNO(fs_->Chmod("/f", 0600), EIO);
  EXPECT_ERRNO(fs_->Fchmod(fd, 0600), EIO);
  EXPECT_ERRNO(fs_->Utimens("/f", {Timespec{1, 0}, Timespec{1, 0}}), EIO);
  EXPECT_ERRNO(fs_->Futimens(fd, {Timespec{1, 0}, Timespec{1, 0}}), EIO);
  EXPECT_ERRNO(fs_->ReadDir(dir), EIO);
  EXPECT_ERRNO(fs_->Statfs(), EIO);
  EXPECT_ERRNO(fs_->Fsync(fd), EIO);
  EXPECT_ERRNO(fs_->Fdatasync(fd), EIO);
  EXPECT_ERRNO(fs_->Syncfs(fd), EIO);
  EXPECT_ERRNO(fs_->SyncFileRange(fd, 0, 0, kSyncFileRangeWrite), EIO);
  EXPECT_ERRNO(fs_->Unmount(), EIO);
}

// The header's contract: "After Crash() or Unmount() every call returns EIO."
TEST_F(CrashTest, CloseAfterCrashIsEio) {
  Fd fd = OpenOrDie("/f", O_RDWR | O_CREAT);
  fs_->Crash();
  EXPECT_ERRNO(fs_->Close(fd), EIO);
}

TEST_F(CrashTest, EveryCallAfterUnmountIsEio) {
  WriteFile("/f", "x");
  ASSERT_OK(fs_->Unmount());
  EXPECT_ERRNO(fs_->Open("/f", O_RDONLY), EIO);
  EXPECT_ERRNO(fs_->Stat("/f"), EIO);
  EXPECT_ERRNO(fs_->Mkdir("/d", 0755), EIO);
  EXPECT_ERRNO(fs_->Unmount(), EIO);
}

}  // namespace
}  // namespace vfs::testing
