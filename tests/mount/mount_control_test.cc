// `vfs mount` with clients of its control socket that do not behave, and a
// second mount over the first: the server keeps answering, unmounting makes
// the data durable and ends the command whatever the clients do, and a mount
// point already served is refused (issue 17, findings 5 and 7).
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/mount/mount_paths.h"

namespace vfs {
namespace {

using testing::IsMounted;
using testing::Shell;
using testing::TempDir;
using testing::VfsBinary;

// A `vfs mount` child process serving one mount point.
class MountProcess {
 public:
  // Starts `vfs mount ARGS MOUNTPOINT` and waits for its "serving" line (or
  // its exit); returns what it printed up to then.
  std::string Start(const std::vector<std::string>& args, const std::string& mountpoint) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return "pipe failed";
    std::vector<std::string> argv = {VfsBinary(), "mount"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(mountpoint);
    pid_ = ::fork();
    if (pid_ == 0) {
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

  // Waits for the exit; its status, -1 if killed by a signal.
  int Wait() {
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  ~MountProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stderr_ != nullptr) std::fclose(stderr_);
  }

 private:
  pid_t pid_ = -1;
  FILE* stderr_ = nullptr;
};

int ConnectIdle(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

class MountControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(VfsBinary().c_str(), X_OK), 0)
        << VfsBinary() << " is missing: build the vfs_tool target";
    if (::access("/dev/fuse", F_OK) != 0) GTEST_SKIP() << "FUSE is not available (no /dev/fuse)";
    ASSERT_FALSE(tmp_.path().empty());
    mountpoint_ = tmp_.path() + "/m";
    store_ = tmp_.path() + "/store";
    socket_ = mountpoint_ + ".ctl";
    ASSERT_EQ(::mkdir(mountpoint_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(store_.c_str(), 0755), 0);
  }

  void TearDown() override {
    if (idle_ >= 0) ::close(idle_);
    // Nothing stays mounted, whatever failed.
    if (!mountpoint_.empty() && IsMounted(mountpoint_)) ::umount2(mountpoint_.c_str(), MNT_DETACH);
  }

  std::string Umount() {
    auto r = Shell("umount '" + mountpoint_ + "' || fusermount3 -u '" + mountpoint_ + "'");
    return r.status == 0 ? "" : r.output;
  }

  TempDir tmp_;
  std::string mountpoint_, store_, socket_;
  int idle_ = -1;
};

// The ctl commands run under `timeout`: a server stuck on the idle client
// makes them fail instead of hanging the test (a watchdog, not a sleep).
TEST_F(MountControlTest, IdleClientBlocksNeitherCtlNorUmountAndDataSurvives) {
  {
    MountProcess mount;
    const std::string printed = mount.Start({"--backend", "disk:" + store_}, mountpoint_);
    ASSERT_TRUE(IsMounted(mountpoint_)) << printed;
    idle_ = ConnectIdle(socket_);
    ASSERT_GE(idle_, 0) << std::strerror(errno);
    auto written = Shell("echo kept > '" + mountpoint_ + "/f'");
    ASSERT_EQ(written.status, 0) << written.output;
    auto stats = Shell("timeout 20 " + VfsBinary() + " ctl '" + socket_ + "' stats");
    EXPECT_EQ(stats.status, 0) << stats.output;
    EXPECT_EQ(stats.output.rfind("ok stats", 0), 0u) << stats.output;
    auto help = Shell("timeout 20 " + VfsBinary() + " ctl '" + socket_ + "' help");
    EXPECT_EQ(help.status, 0) << help.output;
    // Unsynced data: only the clean unmount makes it durable.
    ASSERT_EQ(Umount(), "");
    // A server stuck on the idle client would keep `vfs mount` from ending:
    // after a watchdog the test fails and closes the client to let it end.
    auto exited = std::async(std::launch::async, [&mount] { return mount.Wait(); });
    if (exited.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "vfs mount did not end after umount while a control client was idle";
      ::close(idle_);
      idle_ = -1;
    }
    EXPECT_EQ(exited.get(), 0);
    EXPECT_FALSE(IsMounted(mountpoint_));
    EXPECT_NE(::access(socket_.c_str(), F_OK), 0) << "the control socket was not removed";
  }
  if (idle_ >= 0) ::close(idle_);
  idle_ = -1;
  MountProcess again;
  const std::string printed = again.Start({"--backend", "disk:" + store_, "--no-control"}, mountpoint_);
  ASSERT_TRUE(IsMounted(mountpoint_)) << printed;
  EXPECT_EQ(Shell("cat '" + mountpoint_ + "/f'").output, "kept\n");
  ASSERT_EQ(Umount(), "");
  EXPECT_EQ(again.Wait(), 0);
}

// Counts the mounts at `path` in /proc/self/mountinfo.
int MountsAt(const std::string& path) {
  std::FILE* f = std::fopen("/proc/self/mountinfo", "r");
  if (f == nullptr) return -1;
  char line[8192];
  int count = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::string s(line);
    size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string::npos; ++field) pos = s.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    const size_t end = s.find(' ', pos + 1);
    count += s.substr(pos + 1, end - pos - 1) == path ? 1 : 0;
  }
  std::fclose(f);
  return count;
}

// A second `vfs mount` on a served mount point, with or without a control
// socket, is refused before it mounts anything: it would hide the first
// mount's files, and for --no-control nothing else would stop it.
TEST_F(MountControlTest, SecondMountOnAServedMountPointIsRefused) {
  MountProcess first;
  const std::string printed = first.Start({"--no-control"}, mountpoint_);
  ASSERT_TRUE(IsMounted(mountpoint_)) << printed;
  ASSERT_EQ(Shell("echo first > '" + mountpoint_ + "/f'").status, 0);
  for (const std::string& options :
       std::vector<std::string>{"--no-control", "", "--control " + tmp_.path() + "/other.ctl"}) {
    SCOPED_TRACE(options);
    auto second = Shell("timeout 20 " + VfsBinary() + " mount " + options + " '" + mountpoint_ + "'");
    EXPECT_EQ(second.status, 1) << second.output;
    EXPECT_NE(second.output.find("is already a FUSE mount"), std::string::npos) << second.output;
    EXPECT_EQ(std::count(second.output.begin(), second.output.end(), '\n'), 1) << second.output;
    EXPECT_EQ(MountsAt(mountpoint_), 1);
  }
  EXPECT_EQ(Shell("cat '" + mountpoint_ + "/f'").output, "first\n");
  ASSERT_EQ(Umount(), "");
  EXPECT_EQ(first.Wait(), 0);
}

}  // namespace
}  // namespace vfs
