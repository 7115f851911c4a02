// The control server of `vfs mount` (tools/mount/control.h) against
// clients that do not behave: idle, too long, many. No FUSE needed: the
// server is started with a handler of the test's own.
//
// A server that waits on one client would hang these tests rather than fail
// them; each wait on the server therefore runs on its own thread, and the
// test, when the wait has not ended in a generous time, fails and closes the
// idle client to let the server go (the time is a watchdog, not a sleep that
// orders events).
#include "tools/mount/control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/mount/mount_paths.h"

namespace vfs {
namespace {

using testing::TempDir;

constexpr auto kWatchdog = std::chrono::seconds(30);

// A client that connects and then sends nothing.
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

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    path_ = tmp_.path() + "/m.ctl";
    std::string why;
    auto server = ControlServer::Start(
        path_, [](std::string_view command) { return "ok got '" + std::string(command) + "'"; }, &why);
    ASSERT_TRUE(server.ok()) << why;
    server_ = std::move(server).value();
  }

  void TearDown() override {
    for (int fd : idle_) ::close(fd);
  }

  // Sends `command` on a thread; the reply, or a failure after kWatchdog
  // (then the idle clients are closed so that the thread can end).
  std::string SendWatched(const std::string& command) {
    auto done = std::async(std::launch::async, [this, command] {
      std::string why;
      auto reply = SendControl(path_, command, &why);
      return reply.ok() ? *reply : "send failed: " + why;
    });
    if (done.wait_for(kWatchdog) != std::future_status::ready) {
      ADD_FAILURE() << "'" << command << "' got no reply while a client was idle";
      CloseIdle();
    }
    return done.get();
  }

  void CloseIdle() {
    for (int fd : idle_) ::close(fd);
    idle_.clear();
  }

  TempDir tmp_;
  std::string path_;
  std::unique_ptr<ControlServer> server_;
  std::vector<int> idle_;
};

TEST_F(ControlServerTest, IdleClientDoesNotBlockOthers) {
  const int idle = ConnectIdle(path_);
  ASSERT_GE(idle, 0);
  idle_.push_back(idle);
  // A client that sent half a line is idle too.
  const int half = ConnectIdle(path_);
  ASSERT_GE(half, 0);
  idle_.push_back(half);
  ASSERT_EQ(::send(half, "sta", 3, MSG_NOSIGNAL), 3);
  EXPECT_EQ(SendWatched("stats"), "ok got 'stats'\n");
  EXPECT_EQ(SendWatched("dirty"), "ok got 'dirty'\n");
}

TEST_F(ControlServerTest, StopsWhileAClientIsIdle) {
  const int idle = ConnectIdle(path_);
  ASSERT_GE(idle, 0);
  idle_.push_back(idle);
  // The server has accepted the idle client once another is answered.
  ASSERT_EQ(SendWatched("stats"), "ok got 'stats'\n");
  auto stopped = std::async(std::launch::async, [this] { server_.reset(); });
  if (stopped.wait_for(kWatchdog) != std::future_status::ready) {
    ADD_FAILURE() << "the server did not stop while a client was idle";
    CloseIdle();
  }
  stopped.get();
  EXPECT_NE(::access(path_.c_str(), F_OK), 0) << "the socket file was not removed";
  // The idle client sees the end of the stream, not a hang.
  char byte;
  if (!idle_.empty()) {
    EXPECT_EQ(::recv(idle_[0], &byte, 1, 0), 0);
  }
}

TEST_F(ControlServerTest, CommandOverTheLimitGetsAnErrorReply) {
  const std::string reply = SendWatched(std::string(kMaxControlCommand + 1, 'x'));
  EXPECT_EQ(reply.rfind("error: command longer than 4096 bytes", 0), 0u) << reply;
  // Far over the limit: the server reads the rest and drops it, so the
  // client gets the reply rather than a reset connection.
  const std::string huge = SendWatched(std::string(1 << 20, 'y'));
  EXPECT_EQ(huge.rfind("error: command longer than 4096 bytes", 0), 0u) << huge;
  // A command of exactly the limit is served.
  const std::string at_limit(kMaxControlCommand, 'z');
  EXPECT_EQ(SendWatched(at_limit), "ok got '" + at_limit + "'\n");
}

TEST_F(ControlServerTest, MoreClientsThanSlotsStillGetAnswers) {
  for (size_t i = 0; i < kMaxControlClients + 8; ++i) {
    const int fd = ConnectIdle(path_);
    ASSERT_GE(fd, 0);
    idle_.push_back(fd);
  }
  EXPECT_EQ(SendWatched("help"), "ok got 'help'\n");
}

TEST_F(ControlServerTest, SocketIsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

}  // namespace
}  // namespace vfs
