#include "tools/mount/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace vfs {
namespace {

// A command line is short; anything longer is refused, not buffered.
constexpr size_t kMaxCommand = 4096;

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return Error(ENAMETOOLONG);
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& path,
                                                            Handler handler, std::string* why) {
  auto addr = Address(path);
  if (!addr.ok()) {
    *why = absl::StrCat("control socket '", path, "': path too long for a Unix socket");
    return Error(addr.error());
  }
  std::unique_ptr<ControlServer> server(new ControlServer());
  server->path_ = path;
  server->handler_ = std::move(handler);
  server->listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server->listen_fd_ < 0 || ::pipe2(server->wake_fd_, O_CLOEXEC) != 0) {
    const int err = errno;
    *why = absl::StrCat("control socket: ", std::strerror(err));
    return Error(err);
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    // A socket file left by a mount that died: reuse it only if nobody answers.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool served =
        probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0;
    if (probe >= 0) ::close(probe);
    if (served) {
      *why = absl::StrCat("control socket '", path, "' is served by another mount");
      return Error(EADDRINUSE);
    }
    ::unlink(path.c_str());
  }
  if (::bind(server->listen_fd_, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0 ||
      ::listen(server->listen_fd_, 8) != 0) {
    const int err = errno;
    *why = absl::StrCat("control socket '", path, "': ", std::strerror(err));
    return Error(err);
  }
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

ControlServer::~ControlServer() {
  if (thread_.joinable()) {
    const char byte = 0;
    // If the pipe write fails the thread cannot be woken; it can only fail
    // for a closed pipe, which Start never leaves behind.
    (void)!::write(wake_fd_[1], &byte, 1);
    thread_.join();
    ::unlink(path_.c_str());
  }
  for (int fd : {listen_fd_, wake_fd_[0], wake_fd_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void ControlServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    // The client sends one line and may close its side; read up to the
    // newline, the end, or the limit.
    std::string command;
    char buf[512];
    bool too_long = false;
    for (;;) {
      const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      command.append(buf, static_cast<size_t>(n));
      if (command.find('\n') != std::string::npos) break;
      if (command.size() > kMaxCommand) {
        too_long = true;
        break;
      }
    }
    if (const size_t nl = command.find('\n'); nl != std::string::npos) command.resize(nl);
    std::string reply = too_long ? std::string("error: command longer than 4096 bytes")
                                 : handler_(command);
    if (reply.empty() || reply.back() != '\n') reply += '\n';
    // A client that went away misses its reply; nothing else to do.
    (void)WriteAll(conn, reply);
    ::close(conn);
  }
}

Result<std::string> SendControl(const std::string& socket_path, std::string_view command,
                                std::string* why) {
  auto addr = Address(socket_path);
  if (!addr.ok()) {
    *why = absl::StrCat("control socket '", socket_path, "': path too long for a Unix socket");
    return Error(addr.error());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    *why = absl::StrCat("socket: ", std::strerror(err));
    return Error(err);
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    const int err = errno;
    ::close(fd);
    *why = absl::StrCat("cannot reach the mount at '", socket_path, "': ", std::strerror(err));
    return Error(err);
  }
  std::string line = std::string(command) + "\n";
  if (!WriteAll(fd, line)) {
    const int err = errno;
    ::close(fd);
    *why = absl::StrCat("sending to '", socket_path, "': ", std::strerror(err));
    return Error(err);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      *why = absl::StrCat("reading from '", socket_path, "': ", std::strerror(err));
      return Error(err);
    }
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

}  // namespace vfs
