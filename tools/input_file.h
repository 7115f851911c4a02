// Reading a small input file of the command-line tool (a `vfs bench` job
// file, a `vfs crash` workload script) with a size limit, so that a device
// such as /dev/zero, a huge file or a directory gets a one-line error rather
// than an unbounded read or a silent empty input (issue 17, findings 6, 7).
//
// Thread-safety: a pure function of the file system's state.
#ifndef TOOLS_INPUT_FILE_H_
#define TOOLS_INPUT_FILE_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace vfs {

// The largest input file the tools read: far more than any script or job
// file needs, far less than memory.
inline constexpr size_t kMaxInputFileBytes = size_t{16} << 20;

// Reads all of `path` (`what` names it in errors: "job file", "script")
// into *out. On failure returns false with *why one line saying what is
// wrong and what to do: the path is a directory, cannot be opened, or holds
// more than `limit` bytes (a device that never ends is read only that far).
inline bool ReadInputFile(const std::string& path, const char* what, std::string* out,
                          std::string* why, size_t limit = kMaxInputFileBytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "cannot read " + std::string(what) + " " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    *why = path + " is a directory: give the " + what + " itself";
    return false;
  }
  out->clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      *why = "cannot read " + std::string(what) + " " + path + ": " + std::strerror(err);
      return false;
    }
    if (n == 0) break;
    if (out->size() + static_cast<size_t>(n) > limit) {
      ::close(fd);
      out->clear();
      *why = path + " is larger than the " + std::to_string(limit >> 20) + " MiB limit of a " + what +
             ": give a " + what + ", not a device or a data file";
      return false;
    }
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

}  // namespace vfs

#endif  // TOOLS_INPUT_FILE_H_
