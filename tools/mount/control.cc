#include "tools/mount/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vfs {
namespace {

using Clock = std::chrono::steady_clock;

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

// One connection. It is read until its line is complete, then answered,
// then read to its end (discarding) so that closing it cannot reset the
// reply away: a client that sent more than it may is still answered.
struct Client {
  enum class Stage { kReading, kWriting, kDraining };
  int fd = -1;
  Stage stage = Stage::kReading;
  std::string in;
  std::string out;
  Clock::time_point deadline;
};

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
  server->listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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
  if (::bind(server->listen_fd_, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    const int err = errno;
    *why = absl::StrCat("control socket '", path, "': ", std::strerror(err));
    return Error(err);
  }
  // The commands cut the power and inject faults: only the owner may send
  // them. The mode is set before listen(), so nobody can connect in between
  // (a bound socket that does not listen refuses connections).
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(server->listen_fd_, 16) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
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
  // Every client is non-blocking and polled with the listening socket and
  // the wake pipe, so no client can hold the loop: the destructor's byte is
  // seen at the next poll, whatever the clients do (issue 17, finding 5).
  std::vector<Client> clients;
  const auto timeout = std::chrono::milliseconds(kControlIdleTimeoutMs);
  auto close_client = [&](size_t i) {
    ::close(clients[i].fd);
    clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (;;) {
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
    Clock::time_point next = Clock::time_point::max();
    for (const Client& c : clients) {
      fds.push_back({c.fd, static_cast<short>(c.stage == Client::Stage::kWriting ? POLLOUT : POLLIN), 0});
      next = std::min(next, c.deadline);
    }
    int wait_ms = -1;
    if (next != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<int64_t>(left, 0, kControlIdleTimeoutMs));
    }
    if (::poll(fds.data(), fds.size(), wait_ms) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    const Clock::time_point now = Clock::now();

    // Clients first (the indices of fds match `clients` until one closes),
    // from the back so that erasing keeps the earlier indices right.
    for (size_t i = clients.size(); i-- > 0;) {
      Client& c = clients[i];
      const short revents = fds[i + 2].revents;
      if (revents == 0) {
        if (now >= c.deadline) close_client(i);  // idle too long: its slot is freed
        continue;
      }
      if (c.stage == Client::Stage::kWriting) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) {
          close_client(i);  // the client went away: it misses its reply
          continue;
        }
        c.out.erase(0, static_cast<size_t>(n));
        if (c.out.empty()) {
          ::shutdown(c.fd, SHUT_WR);
          c.stage = Client::Stage::kDraining;
          c.deadline = now + timeout;
        }
        continue;
      }
      char buf[1024];
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (c.stage == Client::Stage::kDraining) {
        if (n <= 0) close_client(i);  // read to its end: closing now resets nothing
        continue;
      }
      // The end of the stream also ends the line (a client may shut down
      // its side without a newline).
      const bool ended = n <= 0;
      if (!ended) {
        c.in.append(buf, static_cast<size_t>(n));
      } else if (c.in.empty()) {
        close_client(i);
        continue;
      }
      const size_t nl = c.in.find('\n');
      if (nl == std::string::npos && !ended && c.in.size() <= kMaxControlCommand) continue;
      std::string reply;
      if ((nl == std::string::npos ? c.in.size() : nl) > kMaxControlCommand) {
        reply = absl::StrCat("error: command longer than ", kMaxControlCommand,
                             " bytes; send one command of at most that per connection");
      } else {
        if (nl != std::string::npos) c.in.resize(nl);
        reply = handler_(c.in);
      }
      if (reply.empty() || reply.back() != '\n') reply += '\n';
      c.in.clear();
      c.in.shrink_to_fit();
      c.out = std::move(reply);
      c.stage = Client::Stage::kWriting;
      c.deadline = Clock::now() + timeout;
    }

    if (fds[0].revents != 0) {
      for (;;) {
        const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (conn < 0) break;
        if (clients.size() >= kMaxControlClients) {
          // Room for the newcomer: the oldest connection has had the most time.
          size_t oldest = 0;
          for (size_t i = 1; i < clients.size(); ++i) {
            if (clients[i].deadline < clients[oldest].deadline) oldest = i;
          }
          close_client(oldest);
        }
        clients.push_back({conn, Client::Stage::kReading, {}, {}, Clock::now() + timeout});
      }
    }
  }
  for (const Client& c : clients) ::close(c.fd);
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
