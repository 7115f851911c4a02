// Shared by the FUSE mount tests: where the `vfs` binary and the sync helper
// are, a temporary directory per test, and running shell commands.
//
// The binaries are found relative to the test binary, not by a compile-time
// path: tests are built as <build>/tests/<name>, `vfs` and vfs_sync_helper as
// <build>/vfs and <build>/vfs_sync_helper (tools/mount/CMakeLists.txt), so
// <build> is the parent of /proc/self/exe's directory. This holds for every
// build directory and survives moving it.
#ifndef TESTS_MOUNT_MOUNT_PATHS_H_
#define TESTS_MOUNT_MOUNT_PATHS_H_

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace vfs::testing {

inline std::filesystem::path BuildDir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path();
}

inline std::string VfsBinary() { return (BuildDir() / "vfs").string(); }
inline std::string SyncHelper() { return (BuildDir() / "vfs_sync_helper").string(); }

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/vfs-mount-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;  // a leftover temp dir is not worth a failure
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int status = -1;     // exit status, or -1 if it did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh and collects its output.
inline CommandResult Shell(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Whether `path` is a mount point now, from /proc/self/mountinfo.
inline bool IsMounted(const std::string& path) {
  FILE* f = std::fopen("/proc/self/mountinfo", "r");
  if (f == nullptr) return false;
  char line[8192];
  bool found = false;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    // Field 5 is the mount point.
    std::string s(line);
    size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string::npos; ++field) pos = s.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    const size_t end = s.find(' ', pos + 1);
    if (s.substr(pos + 1, end - pos - 1) == path) found = true;
  }
  std::fclose(f);
  return found;
}

}  // namespace vfs::testing

#endif  // TESTS_MOUNT_MOUNT_PATHS_H_
