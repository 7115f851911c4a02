#include "tools/mount/mount_command.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "tools/mount/control.h"
#include "tools/mount/fuse_mount.h"

namespace vfs {
namespace {

constexpr const char* kMountUsage =
    "usage: vfs mount [--backend memory|memory:volatile|disk:DIR|fault:PRESET]\n"
    "                 [--profile durable|strict|ordered|writeback|weakest] [--seed N]\n"
    "                 [--control SOCKET | --no-control] [--threads N] [--no-allow-other]\n"
    "                 [--debug] MOUNTPOINT\n"
    "  serves the VFS at MOUNTPOINT through FUSE until umount, Ctrl-C or SIGTERM;\n"
    "  `vfs ctl SOCKET help` lists the control commands (default SOCKET: MOUNTPOINT.ctl)\n";

constexpr const char* kCtlUsage =
    "usage: vfs ctl SOCKET COMMAND [ARGS...]\n"
    "  commands: crash | fault KEY=VALUE... | clear | sync | stats | dirty | help\n";

int Usage(const char* usage, const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "vfs: %s\n", problem.c_str());
  std::fputs(usage, stderr);
  return 2;
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
  options.mountpoint = mountpoint;
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
