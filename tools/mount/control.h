// The control channel of `vfs mount`: a Unix stream socket that takes one
// command line per connection and answers with the reply text, then closes.
// `vfs ctl SOCKET COMMAND...` is the client; the commands are MountedFs's
// (docs/mount.md).
//
// The server never waits on one client: every connection is read without
// blocking, so an idle or slow client holds only its own slot, and one that
// sends no full line within kControlIdleTimeoutMs is closed. Commands run one
// at a time on the server's thread, in the order their lines arrive. The
// socket file is mode 0600: only its owner (and root) may connect.
//
// Thread-safety: the server answers on its own thread; SendControl may be
// called from any thread.
#ifndef TOOLS_MOUNT_CONTROL_H_
#define TOOLS_MOUNT_CONTROL_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "vfs/result.h"

namespace vfs {

// The longest command line the server takes; a longer one gets an "error:"
// reply.
inline constexpr size_t kMaxControlCommand = 4096;
// How long a client may take to send its line, or to read its reply, before
// the server closes it.
inline constexpr int kControlIdleTimeoutMs = 10'000;
// Connections held at once; a new one beyond this closes the oldest.
inline constexpr size_t kMaxControlClients = 64;

class ControlServer {
 public:
  using Handler = std::function<std::string(std::string_view)>;
  // Binds `path` (removing a stale socket nobody serves), makes it mode
  // 0600 and starts answering. EADDRINUSE if another process serves it,
  // ENAMETOOLONG if the path does not fit a socket address, else the errno
  // of socket/bind/chmod/listen.
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& path, Handler handler,
                                                      std::string* why);
  // Stops answering, closes every client whatever it is doing (a command
  // already running finishes first), and removes the socket file. Never
  // waits on a client.
  ~ControlServer();

 private:
  ControlServer() = default;
  void Serve();

  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};  // a pipe: a byte here stops Serve
  std::thread thread_;
};

// Sends `command` to the server at `socket_path` and returns its reply.
// The errno of connect/write/read on failure, with `*why` set.
Result<std::string> SendControl(const std::string& socket_path, std::string_view command,
                                std::string* why);

}  // namespace vfs

#endif  // TOOLS_MOUNT_CONTROL_H_
