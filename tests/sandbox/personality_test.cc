// Personalities, row by row: the linux, wasi (wasmer and spec modes) and aix
// answers of the durability calls (semantics E1, E5, E6, E7, O5, O6).
#include <fcntl.h>

#include <cerrno>
#include <string>

#include "tests/test_util.h"
#include "vfs/inode.h"

namespace vfs {
namespace {

using testing::VfsTest;

class PersonalityTest : public VfsTest {
 protected:
  void Use(Personality personality, WasiMode mode = WasiMode::kWasmer) {
    options_.personality = personality;
    options_.wasi_mode = mode;
    Remount();
  }
  // Descriptors of each kind the tables name.
  struct Kinds {
    Fd file, dir, pipe_read, pipe_write, no_right, path;
  };
  Kinds Make(uint64_t removed_right) {
    WriteFile("/f", "data");
    if (!Exists("/d")) EXPECT_OK(fs_->Mkdir("/d", 0755));
    Kinds k;
    k.file = OpenOrDie("/f", O_RDWR);
    k.dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
    auto ends = fs_->Pipe();
    EXPECT_TRUE(ends.ok());
    k.pipe_read = ends->first;
    k.pipe_write = ends->second;
    k.no_right = OpenOrDie("/f", O_RDWR);
    EXPECT_OK(fs_->SetRights(k.no_right, wasi::kRightsAll & ~removed_right, wasi::kRightsAll));
    k.path = OpenOrDie("/f", O_PATH);
    return k;
  }
  // A descriptor number that is not open.
  Fd Closed() {
    Fd fd = OpenOrDie("/f", O_RDONLY);
    EXPECT_OK(fs_->Close(fd));
    return fd;
  }
};

// ---- WASI, Wasmer mode (E7): the default ----

TEST_F(PersonalityTest, WasmerFdSyncTable) {
  Kinds k = Make(wasi::kRightFdSync);
  EXPECT_EQ(fs_->FdSync(Closed()), wasi::kBadf);         // E7 fd_sync 1
  EXPECT_EQ(fs_->FdSync(k.path), wasi::kBadf);           // O_PATH is no fd here
  EXPECT_EQ(fs_->FdSync(k.no_right), wasi::kAcces);      // 2: Access, not notcapable
  EXPECT_EQ(fs_->FdSync(k.dir), wasi::kIsdir);           // 3: Dir
  EXPECT_EQ(fs_->FdSync(k.pipe_read), wasi::kInval);     // 3: Pipe
  EXPECT_EQ(fs_->FdSync(k.pipe_write), wasi::kInval);
  EXPECT_EQ(fs_->FdSync(k.file), wasi::kSuccess);        // 4
}

TEST_F(PersonalityTest, WasmerFdDatasyncTable) {
  Kinds k = Make(wasi::kRightFdDatasync);
  EXPECT_EQ(fs_->FdDatasync(Closed()), wasi::kBadf);     // E7 fd_datasync 1
  EXPECT_EQ(fs_->FdDatasync(k.no_right), wasi::kAcces);  // 2
  EXPECT_EQ(fs_->FdDatasync(k.dir), wasi::kIsdir);       // 3: Dir
  EXPECT_EQ(fs_->FdDatasync(k.pipe_read), wasi::kIo);    // 3: other kinds io
  EXPECT_EQ(fs_->FdDatasync(k.pipe_write), wasi::kIo);   //    (fd_sync said inval)
  EXPECT_EQ(fs_->FdDatasync(k.file), wasi::kSuccess);
}

TEST_F(PersonalityTest, WasmerChecksTheRightBeforeTheKind) {
  Kinds k = Make(0);
  ASSERT_OK(fs_->SetRights(k.dir, 0, 0));
  EXPECT_EQ(fs_->FdSync(k.dir), wasi::kAcces);
  EXPECT_EQ(fs_->FdDatasync(k.dir), wasi::kAcces);
}

// ---- WASI, spec mode (E6) ----

TEST_F(PersonalityTest, SpecFdSyncTable) {
  Use(Personality::kLinux, WasiMode::kSpec);
  Kinds k = Make(wasi::kRightFdSync);
  EXPECT_EQ(fs_->FdSync(Closed()), wasi::kBadf);
  EXPECT_EQ(fs_->FdSync(k.no_right), wasi::kNotcapable);
  EXPECT_EQ(fs_->FdSync(k.dir), wasi::kIsdir);
  EXPECT_EQ(fs_->FdSync(k.pipe_write), wasi::kInval);
  EXPECT_EQ(fs_->FdSync(k.file), wasi::kSuccess);
}

TEST_F(PersonalityTest, SpecFdDatasyncTable) {
  Use(Personality::kLinux, WasiMode::kSpec);
  Kinds k = Make(wasi::kRightFdDatasync);
  EXPECT_EQ(fs_->FdDatasync(Closed()), wasi::kBadf);
  EXPECT_EQ(fs_->FdDatasync(k.no_right), wasi::kNotcapable);
  EXPECT_EQ(fs_->FdDatasync(k.dir), wasi::kIsdir);
  EXPECT_EQ(fs_->FdDatasync(k.pipe_write), wasi::kInval);  // not io: the spec mode
  EXPECT_EQ(fs_->FdDatasync(k.file), wasi::kSuccess);
}

// ---- The wasi personality: fsync / fdatasync answer as fd_sync / fd_datasync ----

TEST_F(PersonalityTest, WasiPersonalityFsyncTable) {
  Use(Personality::kWasi);
  Kinds k = Make(wasi::kRightFdSync);
  EXPECT_ERRNO(fs_->Fsync(Closed()), EBADF);
  EXPECT_ERRNO(fs_->Fsync(k.no_right), EACCES);
  EXPECT_ERRNO(fs_->Fsync(k.dir), EISDIR);  // linux: 0 (D3)
  EXPECT_ERRNO(fs_->Fsync(k.pipe_write), EINVAL);
  EXPECT_OK(fs_->Fsync(k.file));
}

TEST_F(PersonalityTest, WasiPersonalityFdatasyncTable) {
  Use(Personality::kWasi);
  Kinds k = Make(wasi::kRightFdDatasync);
  EXPECT_ERRNO(fs_->Fdatasync(Closed()), EBADF);
  EXPECT_ERRNO(fs_->Fdatasync(k.no_right), EACCES);
  EXPECT_ERRNO(fs_->Fdatasync(k.dir), EISDIR);
  EXPECT_ERRNO(fs_->Fdatasync(k.pipe_write), EIO);  // Wasmer's flush: io
  EXPECT_OK(fs_->Fdatasync(k.file));
}

TEST_F(PersonalityTest, WasiPersonalitySpecModeAnswersNotCapable) {
  Use(Personality::kWasi, WasiMode::kSpec);
  Kinds k = Make(wasi::kRightFdSync | wasi::kRightFdDatasync);
  EXPECT_ERRNO(fs_->Fsync(k.no_right), kENotCapable);
  EXPECT_ERRNO(fs_->Fdatasync(k.no_right), kENotCapable);
  EXPECT_ERRNO(fs_->Fdatasync(k.pipe_write), EINVAL);
}

TEST_F(PersonalityTest, WasiPersonalityFsyncStillMakesDataDurable) {
  Use(Personality::kWasi);
  WriteFile("/w", "wasm data");
  Fd fd = OpenOrDie("/w", O_RDWR);
  ASSERT_OK(fs_->Syncfs(fd));  // the name: a directory fsync is EISDIR here
  ASSERT_OK(fs_->Pwrite(fd, "WASM", 4, 0));
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/w"), "WASM data");
}

// ---- linux (the default), for contrast ----

TEST_F(PersonalityTest, LinuxFsyncTable) {
  Kinds k = Make(wasi::kRightFdSync);
  EXPECT_ERRNO(fs_->Fsync(Closed()), EBADF);         // E1.1
  EXPECT_ERRNO(fs_->Fsync(k.path), EBADF);           // E1.1: O_PATH
  EXPECT_ERRNO(fs_->Fsync(k.pipe_write), EINVAL);    // E1.2
  EXPECT_OK(fs_->Fsync(k.dir));                      // D3
  Fd ro = OpenOrDie("/f", O_RDONLY);
  EXPECT_OK(fs_->Fsync(ro));                         // E1.4: read-only is fine
  EXPECT_OK(fs_->Fdatasync(ro));
  EXPECT_ERRNO(fs_->Fsync(k.no_right), EACCES);      // rights hold in every personality
}

// ---- aix (E5, O5, O6) ----

TEST_F(PersonalityTest, AixFsyncNeedsAWritableDescriptor) {
  Use(Personality::kAix);
  WriteFile("/f", "data");
  Fd ro = OpenOrDie("/f", O_RDONLY);
  Fd rw = OpenOrDie("/f", O_RDWR);
  EXPECT_ERRNO(fs_->Fsync(ro), EBADF);                                   // E5
  EXPECT_ERRNO(fs_->Fdatasync(ro), EBADF);
  EXPECT_ERRNO(fs_->FsyncRange(ro, kFsyncRangeDataSync, 0, 0), EBADF);
  EXPECT_OK(fs_->Fsync(rw));
  EXPECT_OK(fs_->FsyncRange(rw, kFsyncRangeFileSync, 0, 4));
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  Fd dir = OpenOrDie("/d", O_RDONLY | O_DIRECTORY);
  EXPECT_ERRNO(fs_->Fsync(dir), EBADF);  // a directory cannot be open for writing
}

TEST_F(PersonalityTest, AixFsyncRangeBsdLenientAcceptsReadOnly) {
  options_.fsync_range_bsd_lenient = true;
  Use(Personality::kAix);
  WriteFile("/f", "data");
  Fd ro = OpenOrDie("/f", O_RDONLY);
  EXPECT_OK(fs_->FsyncRange(ro, kFsyncRangeDataSync, 0, 0));
  EXPECT_ERRNO(fs_->Fsync(ro), EBADF);  // the knob is fsync_range's only
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->FsyncRange(OpenOrDie("/d", O_RDONLY | O_DIRECTORY), kFsyncRangeDataSync, 0, 0),
               EINVAL);  // E5: not a regular file
}

class AixSyncFlagTest : public PersonalityTest {
 protected:
  // The M2 flags left after one write through a description opened with
  // `flags` on a file whose record is already durable (so the write changes
  // only data and timestamps).
  uint8_t FlagsAfterWrite(int flags) {
    WriteFile("/s", std::string(4096, 'a'));
    Fd setup = OpenOrDie("/s", O_RDWR);
    EXPECT_OK(fs_->Fsync(setup));
    Fd fd = OpenOrDie("/s", O_RDWR | flags);
    EXPECT_OK(fs_->Pwrite(fd, "b", 1, 0));
    auto dirty = fs_->InodeDirtyFlags(fd);
    EXPECT_TRUE(dirty.ok());
    return dirty.ok() ? *dirty : 0xff;
  }
};

// Rule O5 row by row: what a write through each flag leaves dirty.
TEST_F(AixSyncFlagTest, AixOSyncAloneIsDataIntegrity) {
  Use(Personality::kAix);
  EXPECT_EQ(FlagsAfterWrite(kAixOSync), kDirtySync);  // mtime left for later
}

TEST_F(AixSyncFlagTest, AixOSyncWithODsyncIsFileIntegrity) {
  Use(Personality::kAix);
  EXPECT_EQ(FlagsAfterWrite(kAixOSync | O_DSYNC), 0);  // == Linux's O_SYNC
  EXPECT_EQ(FlagsAfterWrite(O_SYNC), 0);
}

TEST_F(AixSyncFlagTest, AixODsyncIsDataIntegrity) {
  Use(Personality::kAix);
  EXPECT_EQ(FlagsAfterWrite(O_DSYNC), kDirtySync);
}

TEST_F(AixSyncFlagTest, AixXpgSusEnvMakesOSyncFileIntegrity) {
  options_.aix_xpg_sus_env = true;
  Use(Personality::kAix);
  EXPECT_EQ(FlagsAfterWrite(kAixOSync), 0);
}

TEST_F(AixSyncFlagTest, LinuxTreatsTheOSyncBitAloneAsOSync) {
  EXPECT_EQ(FlagsAfterWrite(kAixOSync), 0);  // Linux's open adds O_DSYNC
}

class AixDeferTest : public PersonalityTest {
 protected:
  // Creates /deferred with durable contents "old" and its name durable.
  void MakeDurableFile() {
    WriteFile("/deferred", "old");
    Fd fd = OpenOrDie("/deferred", O_RDWR);
    ASSERT_OK(fs_->Fsync(fd));
    ASSERT_OK(fs_->Close(fd));
    // The name: in the aix personality a directory cannot be fsynced (it is
    // never open for writing, E5), so sync() commits it.
    fs_->Sync();
  }
};

// Rule O6: sync() is not an explicit sync of the file, so deferred pages
// stay out of the store and a crash loses them.
TEST_F(AixDeferTest, SyncLeavesDeferredPagesAndACrashLosesThem) {
  Use(Personality::kAix);
  MakeDurableFile();
  Fd fd = OpenOrDie("/deferred", O_RDWR | kAixODefer);
  ASSERT_OK(fs_->Pwrite(fd, "NEW", 3, 0));
  fs_->Sync();
  ASSERT_OK(fs_->Syncfs(fd));
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/deferred"), "old");
}

TEST_F(AixDeferTest, FsyncWritesDeferredPages) {
  Use(Personality::kAix);
  MakeDurableFile();
  Fd fd = OpenOrDie("/deferred", O_RDWR | kAixODefer);
  ASSERT_OK(fs_->Pwrite(fd, "NEW", 3, 0));
  ASSERT_OK(fs_->Fsync(fd));
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/deferred"), "NEW");
}

TEST_F(AixDeferTest, FsyncByAnotherDescriptorWritesDeferredPages) {
  Use(Personality::kAix);
  MakeDurableFile();
  Fd deferred = OpenOrDie("/deferred", O_RDWR | kAixODefer);
  Fd other = OpenOrDie("/deferred", O_WRONLY);
  ASSERT_OK(fs_->Pwrite(deferred, "NEW", 3, 0));
  ASSERT_OK(fs_->FsyncRange(other, kFsyncRangeDataSync, 0, 0));
  // Clean again, the file is no longer deferred: sync() writes later changes.
  ASSERT_OK(fs_->Pwrite(other, "N2", 2, 0));
  fs_->Sync();
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/deferred"), "N2W");
}

TEST_F(AixDeferTest, UnmountWritesDeferredPages) {
  Use(Personality::kAix);
  MakeDurableFile();
  Fd fd = OpenOrDie("/deferred", O_RDWR | kAixODefer);
  ASSERT_OK(fs_->Pwrite(fd, "NEW", 3, 0));
  Remount();  // a clean unmount loses nothing
  EXPECT_EQ(ReadFile("/deferred"), "NEW");
}

TEST_F(AixDeferTest, LinuxIgnoresODefer) {
  MakeDurableFile();
  Fd fd = OpenOrDie("/deferred", O_RDWR | kAixODefer);
  ASSERT_OK(fs_->Pwrite(fd, "NEW", 3, 0));
  fs_->Sync();
  CrashAndRemount();
  EXPECT_EQ(ReadFile("/deferred"), "NEW");
}

}  // namespace
}  // namespace vfs
