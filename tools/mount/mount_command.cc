#include "tools/mount/mount_command.h"

#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/mount/control.h"
#include "tools/mount/fuse_mount.h"

namespace vfs {
namespace {

constexpr const char* kMountUsage =
    "usage: vfs mount [--backend memory|memory:volatile|disk:DIR|fault:PRESET]\n"
    "                 [--profile durable|strict|ordered|writeback|weakest] [--seed N]\n"
    "                 [--control SOCKET | --no-control] [--threads N] [--no-allow-other]\n"
    "                 [--writeback-cache | --no-writeback-cache] [--io-uring]\n"
    "                 [--debug] MOUNTPOINT\n"
    "  serves the VFS at MOUNTPOINT through FUSE until umount, Ctrl-C or SIGTERM;\n"
    "  `vfs ctl SOCKET help` lists the control commands (default SOCKET: MOUNTPOINT.ctl)\n";

constexpr const char* kCtlUsage =
    "usage: vfs ctl SOCKET COMMAND [ARGS...]\n"
    "  commands: crash | fault KEY=VALUE... | clear | sync | stats | dirty | help\n";

// Errors are one line: what is wrong, and where the usage is (`usage` is
// the command's, printed in full by --help).
int Usage(const char* usage, const std::string& problem) {
  const char* command = usage == kCtlUsage ? "ctl" : "mount";
  std::fprintf(stderr, "vfs %s: %s (vfs %s --help shows the usage)\n", command, problem.c_str(), command);
  return 2;
}

// A field of /proc/self/mountinfo with its octal escapes (\040 for a space,
// \011, \012, \134) decoded.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// The file system type of the FUSE mount at `path` ("fuse.vfs"), or "" if
// `path` is no FUSE mount point. A second FUSE mount over a served one would
// hide it (and its data) until both are unmounted.
std::string FuseMountAt(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return "";  // Create reports it
  std::FILE* f = std::fopen("/proc/self/mountinfo", "r");
  if (f == nullptr) return "";
  std::string type;
  char* line = nullptr;
  size_t capacity = 0;
  while (::getline(&line, &capacity, f) > 0) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER
    std::vector<std::string> fields = absl::StrSplit(absl::StripTrailingAsciiWhitespace(line), ' ');
    if (fields.size() < 5 || Unescape(fields[4]) != resolved) continue;
    for (size_t i = 5; i + 1 < fields.size(); ++i) {
      if (fields[i] == "-") {
        const std::string& fstype = fields[i + 1];
        type = fstype.rfind("fuse", 0) == 0 ? fstype : "";  // the last mount there wins
        break;
      }
    }
  }
  std::free(line);
  std::fclose(f);
  return type;
}

}  // namespace

int MountCommand(int argc, char** argv) {
  FuseMountOptions options;
  bool control = true;
  std::string mountpoint;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--backend") {
      if (!value(&options.fs.backend)) return Usage(kMountUsage, "--backend needs a value");
    } else if (arg == "--profile") {
      if (!value(&v)) return Usage(kMountUsage, "--profile needs a value");
      auto profile = ParseMountCrashProfile(v);
      if (!profile.ok()) {
        return Usage(kMountUsage, "--profile takes durable, strict, ordered, writeback or weakest");
      }
      options.fs.profile = *profile;
    } else if (arg == "--seed") {
      if (!value(&v) || !absl::SimpleAtoi(v, &options.fs.seed)) {
        return Usage(kMountUsage, "--seed takes a number");
      }
    } else if (arg == "--control") {
      if (!value(&options.control_socket)) return Usage(kMountUsage, "--control needs a path");
    } else if (arg == "--no-control") {
      control = false;
    } else if (arg == "--threads") {
      if (!value(&v) || !absl::SimpleAtoi(v, &options.max_threads) || options.max_threads == 0) {
        return Usage(kMountUsage, "--threads takes a positive number");
      }
    } else if (arg == "--no-allow-other") {
      options.allow_other = false;
    } else if (arg == "--writeback-cache") {
      options.writeback_cache = true;
    } else if (arg == "--no-writeback-cache") {
      options.writeback_cache = false;
    } else if (arg == "--io-uring") {
      options.io_uring = true;
    } else if (arg == "--debug") {
      options.debug = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kMountUsage, stdout);
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage(kMountUsage, "unknown option '" + arg + "'");
    } else if (mountpoint.empty()) {
      mountpoint = arg;
    } else {
      return Usage(kMountUsage, "more than one mount point");
    }
  }
  if (mountpoint.empty()) return Usage(kMountUsage, "no mount point");
  if (options.io_uring && options.writeback_cache) {
    return Usage(kMountUsage, "--io-uring needs --no-writeback-cache (docs/mount.md, \"FUSE over io_uring\")");
  }
  options.mountpoint = mountpoint;
  if (const std::string fuse = FuseMountAt(mountpoint); !fuse.empty()) {
    std::fprintf(stderr,
                 "vfs mount: mount point '%s' is already a FUSE mount (%s): unmount it first "
                 "(umount or fusermount3 -u), or choose another directory\n",
                 mountpoint.c_str(), fuse.c_str());
    return 1;
  }
  if (!control) {
    options.control_socket.clear();
  } else if (options.control_socket.empty()) {
    while (mountpoint.size() > 1 && mountpoint.back() == '/') mountpoint.pop_back();
    options.control_socket = mountpoint + ".ctl";
  }
  // Programs on the mount may open many files at once.
  options.fs.fs_options.max_open_fds = 65536;

  std::string why;
  auto mount = FuseMount::Create(options, &why);
  if (!mount.ok()) {
    std::fprintf(stderr, "vfs mount: %s\n", why.c_str());
    return 1;
  }
  if (!(*mount)->HandleSignals()) {
    std::fprintf(stderr, "vfs mount: cannot install signal handlers; stop with umount\n");
  }
  std::fprintf(stderr, "vfs mount: serving %s at %s (crash profile %s)%s%s; stop with umount, "
               "Ctrl-C or SIGTERM\n",
               options.fs.backend.c_str(), (*mount)->mountpoint().c_str(),
               MountCrashProfileName(options.fs.profile),
               options.control_socket.empty() ? "" : ", control socket ",
               options.control_socket.c_str());
  std::fflush(stderr);
  const int code = (*mount)->Run();
  std::fprintf(stderr, "vfs mount: unmounted %s\n", (*mount)->mountpoint().c_str());
  return code;
}

int CtlCommand(int argc, char** argv) {
  if (argc >= 1 && (std::strcmp(argv[0], "--help") == 0 || std::strcmp(argv[0], "-h") == 0)) {
    std::fputs(kCtlUsage, stdout);
    return 0;
  }
  if (argc < 2) return Usage(kCtlUsage, "vfs ctl needs a socket and a command");
  const std::string command = absl::StrJoin(argv + 1, argv + argc, " ");
  std::string why;
  auto reply = SendControl(argv[0], command, &why);
  if (!reply.ok()) {
    std::fprintf(stderr, "vfs ctl: %s\n", why.c_str());
    return 2;
  }
  std::fputs(reply->c_str(), stdout);
  return reply->rfind("ok", 0) == 0 ? 0 : 1;
}

}  // namespace vfs
