// The `vfs mount` and `vfs ctl` commands as a user runs them: the binary
// serving a temporary mount point in a child process, controlled through its
// socket, stopped by SIGTERM, SIGINT or umount. The binaries are found next
// to the test's build directory (tests/mount/mount_paths.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "tests/mount/mount_paths.h"

namespace vfs {
namespace {

using testing::IsMounted;
using testing::Shell;
using testing::TempDir;
using testing::VfsBinary;

class MountCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(VfsBinary().c_str(), X_OK), 0)
        << VfsBinary() << " is missing: build the vfs_tool target";
    if (::access("/dev/fuse", F_OK) != 0) GTEST_SKIP() << "FUSE is not available (no /dev/fuse)";
    ASSERT_FALSE(tmp_.path().empty());
    mountpoint_ = tmp_.path() + "/m";
    socket_ = mountpoint_ + ".ctl";  // the default socket
    ASSERT_EQ(::mkdir(mountpoint_.c_str(), 0755), 0);
  }

  // Starts `vfs mount ARGS MOUNTPOINT` and waits for its "serving" line on
  // stderr (or its exit). Returns the lines it printed.
  std::string StartMount(const std::vector<std::string>& args) {
    int pipefd[2];
    EXPECT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
    std::vector<std::string> argv = {VfsBinary(), "mount"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(mountpoint_);
    child_ = ::fork();
    if (child_ == 0) {
      ::dup2(pipefd[1], 2);
      std::vector<char*> cargv;
      for (std::string& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    ::close(pipefd[1]);
    stderr_ = ::fdopen(pipefd[0], "r");
    std::string printed;
    char line[1024];
    while (std::fgets(line, sizeof line, stderr_) != nullptr) {
      printed += line;
      if (printed.find("vfs mount: serving") != std::string::npos) break;
    }
    return printed;
  }

  // Waits for the child; returns its exit status (-1 if killed by a signal).
  int WaitMount() {
    int status = 0;
    EXPECT_EQ(::waitpid(child_, &status, 0), child_);
    child_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string RestOfStderr() {
    std::string rest;
    char line[1024];
    while (stderr_ != nullptr && std::fgets(line, sizeof line, stderr_) != nullptr) rest += line;
    return rest;
  }

  // Whatever happened, no child is left running and nothing stays mounted.
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    if (!mountpoint_.empty() && IsMounted(mountpoint_)) ::umount2(mountpoint_.c_str(), MNT_DETACH);
    if (stderr_ != nullptr) std::fclose(stderr_);
  }

  std::string Ctl(const std::string& command, int* status = nullptr) {
    auto r = Shell(VfsBinary() + " ctl '" + socket_ + "' " + command);
    if (status != nullptr) *status = r.status;
    return r.output;
  }

  TempDir tmp_;
  std::string mountpoint_;
  std::string socket_;
  pid_t child_ = -1;
  FILE* stderr_ = nullptr;
};

TEST_F(MountCliTest, CtlCrashDropsUnsyncedFilesAndSigtermUnmountsCleanly) {
  const std::string printed = StartMount({"--backend", "memory"});
  ASSERT_NE(printed.find("serving memory at " + mountpoint_), std::string::npos) << printed;
  ASSERT_TRUE(IsMounted(mountpoint_));
  auto r = Shell("cd '" + mountpoint_ + "' && echo kept > kept && " + testing::SyncHelper() +
                 " fsync kept fsync . && echo lost > lost");
  ASSERT_EQ(r.status, 0) << r.output;
  int status = 0;
  const std::string reply = Ctl("crash", &status);
  EXPECT_EQ(status, 0) << reply;
  EXPECT_EQ(reply.rfind("ok crash 1", 0), 0u) << reply;
  EXPECT_EQ(Shell("ls '" + mountpoint_ + "'").output, "kept\n");
  EXPECT_EQ(Shell("cat '" + mountpoint_ + "/kept'").output, "kept\n");

  ASSERT_EQ(::kill(child_, SIGTERM), 0);
  EXPECT_EQ(WaitMount(), 0);
  EXPECT_NE(RestOfStderr().find("vfs mount: unmounted"), std::string::npos);
  EXPECT_FALSE(IsMounted(mountpoint_));
  EXPECT_NE(::access(socket_.c_str(), F_OK), 0) << "the control socket was not removed";
}

TEST_F(MountCliTest, SigintUnmountsCleanly) {
  StartMount({"--no-control"});
  ASSERT_TRUE(IsMounted(mountpoint_));
  ASSERT_EQ(::kill(child_, SIGINT), 0);
  EXPECT_EQ(WaitMount(), 0);
  EXPECT_FALSE(IsMounted(mountpoint_));
}

TEST_F(MountCliTest, UmountEndsTheServer) {
  StartMount({});
  ASSERT_TRUE(IsMounted(mountpoint_));
  auto r = Shell("umount '" + mountpoint_ + "' || fusermount3 -u '" + mountpoint_ + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(WaitMount(), 0);
  EXPECT_FALSE(IsMounted(mountpoint_));
}

TEST_F(MountCliTest, CtlErrorsExitNonZero) {
  StartMount({});
  int status = 0;
  EXPECT_EQ(Ctl("fault error=EWHAT", &status).rfind("error: fault", 0), 0u);
  EXPECT_EQ(status, 1);
  Ctl("help", &status);
  EXPECT_EQ(status, 0);
  const std::string unreachable =
      Shell(VfsBinary() + " ctl '" + tmp_.path() + "/nobody.ctl' stats").output;
  EXPECT_NE(unreachable.find("cannot reach the mount"), std::string::npos) << unreachable;
}

TEST_F(MountCliTest, BadMountPointAndBackendFailWithAReason) {
  auto missing = Shell(VfsBinary() + " mount '" + tmp_.path() + "/nope'");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.output.find("No such file or directory"), std::string::npos) << missing.output;
  auto backend = Shell(VfsBinary() + " mount --backend tape '" + mountpoint_ + "'");
  EXPECT_EQ(backend.status, 1);
  EXPECT_NE(backend.output.find("unknown backend 'tape'"), std::string::npos) << backend.output;
  auto usage = Shell(VfsBinary() + " mount");
  EXPECT_EQ(usage.status, 2);
  EXPECT_FALSE(IsMounted(mountpoint_));
}

TEST_F(MountCliTest, IoUringWithTheWritebackCacheIsAUsageError) {
  auto both = Shell(VfsBinary() + " mount --io-uring --no-control '" + mountpoint_ + "'");
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.output.find("--io-uring needs --no-writeback-cache"), std::string::npos) << both.output;
  EXPECT_FALSE(IsMounted(mountpoint_));
}

}  // namespace
}  // namespace vfs
