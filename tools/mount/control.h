// The control channel of `vfs mount`: a Unix stream socket that takes one
// command line per connection and answers with the reply text, then closes.
// `vfs ctl SOCKET COMMAND...` is the client; the commands are MountedFs's
// (docs/mount.md).
//
// Thread-safety: the server answers on its own thread, one connection at a
// time; SendControl may be called from any thread.
#ifndef TOOLS_MOUNT_CONTROL_H_
#define TOOLS_MOUNT_CONTROL_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "vfs/result.h"

namespace vfs {

class ControlServer {
 public:
  using Handler = std::function<std::string(std::string_view)>;
  // Binds `path` (removing a stale socket nobody serves) and starts
  // answering. EADDRINUSE if another process serves it, ENAMETOOLONG if the
  // path does not fit a socket address, else the errno of socket/bind.
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& path, Handler handler,
                                                      std::string* why);
  // Stops answering and removes the socket file.
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
