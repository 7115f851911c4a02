// vfs crash --run: see crash_run.h and docs/crash-testing.md ("Any program").
#include "tools/crash_run.h"
#include "tools/progress_line.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/disk/log_format.h"
#include "harness/crash_explorer.h"
#include "tools/mount/serving_mount.h"
#include "vfs/internal/mutex.h"

extern char** environ;

namespace vfs {
namespace {

using disk::DecodeRecords;
using disk::EncodeRequest;
using disk::PageRecord;
using disk::PutFixed32;
using disk::PutFixed64;
using disk::Reader;
using disk::Record;

constexpr char kRunUsage[] =
    "usage: vfs crash --run 'WORKLOAD' --check 'CHECKER' [options]\n"
    "       vfs crash --trace FILE --check 'CHECKER' [options]   (explore a saved run)\n"
    "       vfs crash merge A.json B.json ... [--json FILE]\n"
    "  Runs `sh -c WORKLOAD` once on a recording FUSE mount (its working directory,\n"
    "  also $VFS_ROOT), then runs `sh -c CHECKER` in every crash state, served at a\n"
    "  mount point with $VFS_CRASH_OUTPUT naming a file of the workload's output up\n"
    "  to the crash and $VFS_CRASH_STATE the state's name. Exit 0 = consistent.\n"
    "  --init DIR            copy DIR in and make it durable before the workload\n"
    "  --profile strict|ordered|writeback|weakest   crash model (default ordered)\n"
    "  --points requests|syscalls|syncs   crash after every store request (default),\n"
    "                        every changing call of the program, or every sync call\n"
    "  --limit N / --samples N / --seed N / --sector BYTES   as for scripts\n"
    "  --timeout SECONDS     per checker run (default 10)\n"
    "  --run-timeout SECONDS for the workload (default 600)\n"
    "  --jobs N              checkers at once (default: the number of cores)\n"
    "  --shard I/N           check only shard I of N (from 0); record with --trace first\n"
    "  --max-failures N      stop after N failures (default 20)\n"
    "  --no-shrink           report failures as found\n"
    "  --trace FILE          save the recorded run (with --run) or explore it (without)\n"
    "  --replay NAME         check the named crash state alone\n"
    "  --json FILE           the report as JSON ('-' for stdout)\n"
    "  --junit FILE          the report as JUnit XML\n";

int Usage(const std::string& why) {
  std::fprintf(stderr, "vfs crash: %s\n", why.c_str());
  return 2;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t') out += c;
    }
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// ---- The recorded run ----

// One operation of the program that could change the filesystem.
struct OpRecord {
  std::string name, path, to, comm;
  uint64_t ino = 0;
  int64_t pid = 0;
  uint64_t before = 0, after = 0;  // store events around it
  int result = 0;
  bool replaced = false;
};

// Everything a run leaves: the explorer's trace (requests, acks = output
// lines, marks), the program's operations, how it ended.
struct ProgramTrace {
  CrashTrace trace;
  std::vector<OpRecord> ops;
  std::vector<uint64_t> ack_ops;  // per output line: the operations before it
  std::string workload;
  int status = 0;            // exit status, 128+N for signal N, -1 timed out
  std::string errors;        // the end of its standard error
};

constexpr char kTraceMagic[] = "vfs-crash-trace 1\n";

void PutString(std::string* out, std::string_view s) {
  PutFixed64(out, s.size());
  out->append(s);
}

std::string EncodeTrace(const ProgramTrace& p) {
  std::string out = kTraceMagic;
  const CrashTrace& t = p.trace;
  PutString(&out, p.workload);
  PutFixed64(&out, static_cast<uint64_t>(static_cast<int64_t>(p.status)));
  PutString(&out, p.errors);
  PutFixed64(&out, t.first_point);
  PutFixed64(&out, t.last_point);
  PutFixed32(&out, t.page_size);
  PutFixed64(&out, t.recording.size());
  for (const RecordedRequest& r : t.recording) {
    PutFixed64(&out, r.index);
    PutFixed64(&out, r.ticket);
    PutFixed64(&out, r.submitted_at);
    PutFixed64(&out, r.completed_at);
    PutFixed64(&out, r.durable_at);
    PutFixed32(&out, static_cast<uint32_t>(r.error));
    std::string encoded;
    uint32_t crc = 0;
    EncodeRequest(r.request, &encoded, &crc);
    PutString(&out, encoded);
  }
  PutFixed64(&out, t.acks.size());
  for (const Ack& a : t.acks) {
    PutFixed64(&out, a.event);
    PutString(&out, a.key);
    PutString(&out, a.value);
    PutFixed64(&out, a.unsynced.size());
    for (const std::string& u : a.unsynced) PutString(&out, u);
  }
  PutFixed64(&out, t.marks.size());
  for (uint64_t m : t.marks) PutFixed64(&out, m);
  PutFixed64(&out, t.paths.size());
  for (const auto& [ino, path] : t.paths) {
    PutFixed64(&out, ino);
    PutString(&out, path);
  }
  PutFixed64(&out, t.unsynced_at_end.size());
  for (const std::string& u : t.unsynced_at_end) PutString(&out, u);
  PutFixed64(&out, p.ops.size());
  for (const OpRecord& o : p.ops) {
    PutString(&out, o.name);
    PutString(&out, o.path);
    PutString(&out, o.to);
    PutString(&out, o.comm);
    PutFixed64(&out, o.ino);
    PutFixed64(&out, static_cast<uint64_t>(o.pid));
    PutFixed64(&out, o.before);
    PutFixed64(&out, o.after);
    PutFixed32(&out, static_cast<uint32_t>(o.result));
    out.push_back(o.replaced ? 1 : 0);
  }
  PutFixed64(&out, p.ack_ops.size());
  for (uint64_t n : p.ack_ops) PutFixed64(&out, n);
  return out;
}

// Decodes one request encoded by EncodeRequest (the disk store's log
// record format; a page carries its bytes inline).
std::optional<Request> DecodeRequest(std::string_view bytes) {
  std::optional<Request> out;
  uint64_t bad = 0;
  const bool ok = DecodeRecords(bytes, 0, 0, &bad, [&](const Record& record) {
    std::visit(
        [&](const auto& r) {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, PageRecord>) {
            PageRef data = PageBuffer::Allocate(r.loc.size);
            if (r.loc.offset + r.loc.valid <= bytes.size()) {
              std::memcpy(data->data(), bytes.data() + r.loc.offset, r.loc.valid);
            }
            out = PutPage{r.ino, r.index, std::move(data), r.generation};
          } else if constexpr (std::is_same_v<T, PutSuperblock> || std::is_same_v<T, PutInode> ||
                               std::is_same_v<T, PutDirent> || std::is_same_v<T, DelDirent> ||
                               std::is_same_v<T, Truncate> || std::is_same_v<T, FreeInode>) {
            out = r;
          }
        },
        record);
  });
  if (!ok) return std::nullopt;
  return out;
}

std::optional<ProgramTrace> DecodeTrace(std::string_view bytes) {
  const std::string_view magic = kTraceMagic;
  if (bytes.substr(0, magic.size()) != magic) return std::nullopt;
  Reader in(bytes.substr(magic.size()));
  auto str = [&in]() {
    const uint64_t n = in.U64();
    return std::string(in.Bytes(n));
  };
  ProgramTrace p;
  CrashTrace& t = p.trace;
  p.workload = str();
  p.status = static_cast<int>(in.I64());
  p.errors = str();
  t.first_point = in.U64();
  t.last_point = in.U64();
  t.page_size = in.U32();
  const uint64_t requests = in.U64();
  for (uint64_t i = 0; i < requests && in.ok(); ++i) {
    RecordedRequest r;
    r.index = in.U64();
    r.ticket = in.U64();
    r.submitted_at = in.U64();
    r.completed_at = in.U64();
    r.durable_at = in.U64();
    r.error = static_cast<int>(in.U32());
    auto request = DecodeRequest(str());
    if (!request) return std::nullopt;
    r.request = *std::move(request);
    t.recording.push_back(std::move(r));
  }
  const uint64_t acks = in.U64();
  for (uint64_t i = 0; i < acks && in.ok(); ++i) {
    Ack a;
    a.event = in.U64();
    a.key = str();
    a.value = str();
    const uint64_t n = in.U64();
    for (uint64_t j = 0; j < n && in.ok(); ++j) a.unsynced.push_back(str());
    t.acks.push_back(std::move(a));
  }
  const uint64_t marks = in.U64();
  for (uint64_t i = 0; i < marks && in.ok(); ++i) t.marks.push_back(in.U64());
  const uint64_t paths = in.U64();
  for (uint64_t i = 0; i < paths && in.ok(); ++i) {
    const uint64_t ino = in.U64();
    t.paths.emplace_back(ino, str());
  }
  const uint64_t unsynced = in.U64();
  for (uint64_t i = 0; i < unsynced && in.ok(); ++i) t.unsynced_at_end.push_back(str());
  const uint64_t ops = in.U64();
  for (uint64_t i = 0; i < ops && in.ok(); ++i) {
    OpRecord o;
    o.name = str();
    o.path = str();
    o.to = str();
    o.comm = str();
    o.ino = in.U64();
    o.pid = static_cast<int64_t>(in.U64());
    o.before = in.U64();
    o.after = in.U64();
    o.result = static_cast<int>(in.U32());
    o.replaced = in.U8() != 0;
    p.ops.push_back(std::move(o));
  }
  const uint64_t ack_ops = in.U64();
  for (uint64_t i = 0; i < ack_ops && in.ok(); ++i) p.ack_ops.push_back(in.U64());
  if (!in.ok() || !in.done()) return std::nullopt;
  return p;
}

// ---- Processes ----

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::vector<std::string> BaseEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "VFS_ROOT=", 9) == 0 || std::strncmp(*e, "VFS_CRASH_", 10) == 0) continue;
    env.emplace_back(*e);
  }
  return env;
}

// A child `sh -c command` in its own process group, in `dir`, with stdin
// from /dev/null, stdout to `out_fd` and stderr to `err_fd`.
struct Child {
  pid_t pid = -1;
  int pidfd = -1;
};

Result<Child> Spawn(const std::string& command, const std::string& dir,
                    const std::vector<std::string>& env, int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  Child child;
  const int err = posix_spawn(&child.pid, "/bin/sh", &actions, &attr, const_cast<char**>(argv),
                              envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return Error(err);
  child.pidfd = PidfdOpen(child.pid);
  return child;
}

// Waits for `child` (with `timeout_ms`, < 0 none), calling on_output(bytes)
// for what it writes to `out` meanwhile. Kills its process group at the end
// (whatever it left running goes with the state). Returns the exit status,
// 128 + N for signal N, -1 if it timed out.
template <typename OnOutput>
int Wait(Child child, int out, int64_t timeout_ms, OnOutput on_output) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[65536];
  bool out_open = out >= 0;
  bool exited = false;
  int status = 0;
  bool timed_out = false;
  while (!exited) {
    pollfd fds[2] = {{child.pidfd, POLLIN, 0}, {out_open ? out : -1, POLLIN, 0}};
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left, 1000));
    }
    if (child.pidfd < 0) wait_ms = std::min(wait_ms < 0 ? 10 : wait_ms, 10);  // no pidfd: poll
    const int n = ::poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) break;
    if (out_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t got = ::read(out, buf, sizeof buf);
      if (got > 0) {
        on_output(std::string_view(buf, static_cast<size_t>(got)));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_open = false;
      }
    }
    if (child.pidfd < 0 || (fds[0].revents & POLLIN)) {
      const pid_t done = ::waitpid(child.pid, &status, child.pidfd < 0 ? WNOHANG : 0);
      if (done == child.pid) exited = true;
    }
  }
  ::kill(-child.pid, SIGKILL);
  if (!exited) {
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // What it wrote before it ended (not what leftovers could still write:
  // they are killed).
  if (out >= 0) {
    const int flags = ::fcntl(out, F_GETFL);
    ::fcntl(out, F_SETFL, flags | O_NONBLOCK);
    for (ssize_t got; (got = ::read(out, buf, sizeof buf)) > 0;) {
      on_output(std::string_view(buf, static_cast<size_t>(got)));
    }
    ::fcntl(out, F_SETFL, flags);
  }
  if (child.pidfd >= 0) ::close(child.pidfd);
  if (timed_out) return -1;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

std::string StatusText(int status) {
  if (status == -1) return "timed out";
  if (status > 128) return absl::StrCat("was killed by signal ", status - 128);
  return absl::StrCat("exited with status ", status);
}

std::string Comm(int64_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/comm"));
  std::string name;
  std::getline(in, name);
  return name.empty() ? "?" : name;
}

// ---- Recording ----

// Records the program's operations and output lines in store-event order.
// Operations run one at a time (a serialized mount), and before each the
// output the program wrote so far is taken as acknowledged: a process that
// printed a line and then made a call has its line in the pipe by then.
class Recorder : public MountObserver {
 public:
  Recorder(WorkloadContext* ctx, int out) : ctx_(ctx), out_(out) {}

  void Before() override {
    MutexLock lock(&mu_);
    DrainLocked();
    before_ = ctx_->events();
  }
  void After(const MountedOp& op, int result) override {
    MutexLock lock(&mu_);
    OpRecord r;
    r.name = op.name;
    r.path = op.path;
    r.to = op.to;
    r.ino = op.ino;
    r.pid = op.pid;
    r.comm = Comm(op.pid);
    r.before = before_;
    r.after = ctx_->events();
    r.result = result;
    r.replaced = op.replaced;
    ops_.push_back(std::move(r));
  }
  // Takes the output available now (the workload thread, as it arrives).
  void Drain() {
    MutexLock lock(&mu_);
    DrainLocked();
  }
  void Take(std::string_view bytes) {
    MutexLock lock(&mu_);
    partial_.append(bytes);
    Lines();
  }
  void Finish() {
    MutexLock lock(&mu_);
    DrainLocked();
    if (!partial_.empty()) {
      ctx_->Ack(partial_, std::exchange(partial_, ""));
      ack_ops_.push_back(ops_.size());
    }
  }
  std::vector<uint64_t> TakeAckOps() {
    MutexLock lock(&mu_);
    return std::move(ack_ops_);
  }
  std::vector<OpRecord> TakeOps() {
    MutexLock lock(&mu_);
    return std::move(ops_);
  }

 private:
  void DrainLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    char buf[4096];
    for (ssize_t got; (got = ::read(out_, buf, sizeof buf)) > 0;) partial_.append(buf, got);
    Lines();
  }
  void Lines() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
      {
        std::string line = partial_.substr(0, nl);
        ctx_->Ack(line, line);
        ack_ops_.push_back(ops_.size());
      }
      partial_.erase(0, nl + 1);
    }
  }

  WorkloadContext* const ctx_;
  const int out_;  // non-blocking read end of the program's stdout
  Mutex mu_;
  std::string partial_ ABSL_GUARDED_BY(mu_);
  uint64_t before_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<OpRecord> ops_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> ack_ops_ ABSL_GUARDED_BY(mu_);
};

// Copies the host tree `from` into `fs` at `to`. Returns "" or why not.
std::string CopyIn(const std::string& from, Filesystem& fs, const std::string& to) {
  DIR* dir = ::opendir(from.c_str());
  if (dir == nullptr) return absl::StrCat(from, ": ", std::strerror(errno));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string host = from + "/" + name;
    const std::string path = to == "/" ? "/" + name : to + "/" + name;
    struct stat st;
    if (::lstat(host.c_str(), &st) != 0) return absl::StrCat(host, ": ", std::strerror(errno));
    if (S_ISDIR(st.st_mode)) {
      if (auto made = fs.Mkdir(path, st.st_mode & 07777); !made.ok()) {
        return absl::StrCat(path, ": ", std::strerror(made.error()));
      }
      if (std::string why = CopyIn(host, fs, path); !why.empty()) return why;
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = ::readlink(host.c_str(), target, sizeof target);
      if (n < 0) return absl::StrCat(host, ": ", std::strerror(errno));
      if (auto made = fs.Symlink(std::string_view(target, n), path); !made.ok()) {
        return absl::StrCat(path, ": ", std::strerror(made.error()));
      }
    } else if (S_ISREG(st.st_mode)) {
      std::ifstream in(host, std::ios::binary);
      std::stringstream data;
      data << in.rdbuf();
      if (!in) return absl::StrCat(host, ": cannot read");
      const std::string bytes = data.str();
      auto fd = fs.Open(path, O_WRONLY | O_CREAT | O_EXCL, st.st_mode & 07777);
      if (!fd.ok()) return absl::StrCat(path, ": ", std::strerror(fd.error()));
      auto wrote = fs.Write(*fd, bytes.data(), bytes.size());
      (void)fs.Close(*fd);
      if (!wrote.ok()) return absl::StrCat(path, ": ", std::strerror(wrote.error()));
    }
    // Sockets, devices and FIFOs are left out: the workload creates its own.
  }
  return "";
}

// ---- Options ----

enum class PointsMode { kRequests, kSyscalls, kSyncs };

struct RunOptions {
  std::string workload, checker, init_dir, trace_path, json_path, junit_path, replay;
  bool have_run = false;
  double timeout = 10;
  double run_timeout = 600;
  uint32_t jobs = 0;
  PointsMode points = PointsMode::kRequests;
  CrashExplorerOptions explorer;
};

// The private directory of a run: the mount points and the output files.
struct Workspace {
  std::string dir;
  ~Workspace() {
    if (dir.empty()) return;
    // Everything in it is ours; mount points are unmounted by then.
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        const std::string path = dir + "/" + e->d_name;
        if (::unlink(path.c_str()) != 0) ::rmdir(path.c_str());
      }
      ::closedir(d);
    }
    ::rmdir(dir.c_str());
  }
};

// Records the workload: a Workload for the explorer that serves the
// recording Filesystem through FUSE and runs the program on it.
struct RecordResult {
  int status = 0;
  std::string errors;
  std::string fatal;  // why the run could not happen at all
  std::vector<OpRecord> ops;
  std::vector<uint64_t> ack_ops;
};

Workload ProgramWorkload(const RunOptions& options, const Workspace& ws, RecordResult* result) {
  return [&options, &ws, result](WorkloadContext& ctx) {
    Filesystem& fs = ctx.fs();
    if (!options.init_dir.empty()) {
      if (std::string why = CopyIn(options.init_dir, fs, "/"); !why.empty()) {
        result->fatal = absl::StrCat("--init ", options.init_dir, ": ", why);
        return;
      }
      fs.Sync();  // the starting state is durable ...
    }
    ctx.BeginCrashPoints();  // ... and not itself crash-tested
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      result->fatal = absl::StrCat("pipe: ", std::strerror(errno));
      return;
    }
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    Recorder recorder(&ctx, out[0]);
    const std::string root = ws.dir + "/root";
    std::string why;
    auto mount = ServingMount::Create({.mountpoint = root, .observer = &recorder, .serialize = true}, &why);
    if (!mount.ok()) {
      ::close(out[0]);
      ::close(out[1]);
      result->fatal = why;
      return;
    }
    (*mount)->Serve(&fs);
    const std::string err_path = ws.dir + "/workload.stderr";
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::vector<std::string> env = BaseEnvironment();
    env.push_back("VFS_ROOT=" + (*mount)->mountpoint());
    auto child = Spawn(options.workload, (*mount)->mountpoint(), env, out[1], err >= 0 ? err : 2);
    ::close(out[1]);
    if (err >= 0) ::close(err);
    if (!child.ok()) {
      result->fatal = absl::StrCat("the workload cannot start: ", std::strerror(child.error()));
    } else {
      result->status = Wait(*child, out[0], static_cast<int64_t>(options.run_timeout * 1000),
                            [&](std::string_view bytes) { recorder.Take(bytes); });
      recorder.Finish();
    }
    ::close(out[0]);
    (*mount)->Serve(nullptr);
    (*mount)->Stop();
    result->ops = recorder.TakeOps();
    result->ack_ops = recorder.TakeAckOps();
    std::ifstream in(err_path);
    std::stringstream text;
    text << in.rdbuf();
    result->errors = text.str();
    if (result->errors.size() > 2000) result->errors = "..." + result->errors.substr(result->errors.size() - 2000);
    ::unlink(err_path.c_str());
  };
}

// ---- Checking ----

// The checker: a pool of mount points, one per checker running at once.
class CheckerPool {
 public:
  static Result<std::unique_ptr<CheckerPool>> Create(const RunOptions& options, const Workspace& ws,
                                                     uint32_t slots, std::string* why) {
    std::unique_ptr<CheckerPool> pool(new CheckerPool(options));
    for (uint32_t i = 0; i < slots; ++i) {
      // Slot 0 is where the workload ran, so paths it stored still hold.
      const std::string dir = i == 0 ? ws.dir + "/root" : absl::StrCat(ws.dir, "/check-", i);
      if (i != 0 && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        *why = absl::StrCat(dir, ": ", std::strerror(errno));
        return Error(errno);
      }
      auto mount = ServingMount::Create({.mountpoint = dir}, why);
      if (!mount.ok()) return Error(mount.error());
      pool->slots_.push_back({std::move(mount).value(), absl::StrCat(ws.dir, "/output-", i)});
      pool->free_.push_back(i);
    }
    return pool;
  }

  std::string Check(Filesystem& fs, const Acks& acks) {
    size_t i;
    {
      MutexLock lock(&mu_);
      i = free_.back();
      free_.pop_back();
    }
    Slot& slot = slots_[i];
    std::string verdict = CheckIn(slot, fs, acks);
    MutexLock lock(&mu_);
    free_.push_back(i);
    return verdict;
  }

  // A checker that could not start (status 126 or 127 of sh: not found, not
  // executable), with what it said; empty if none.
  std::string cannot_start() {
    MutexLock lock(&mu_);
    return cannot_start_;
  }

 private:
  struct Slot {
    std::unique_ptr<ServingMount> mount;
    std::string output_path;
  };
  explicit CheckerPool(const RunOptions& options) : options_(options), env_(BaseEnvironment()) {}

  std::string CheckIn(Slot& slot, Filesystem& fs, const Acks& acks) {
    {
      std::string text;
      for (const Ack& a : acks) absl::StrAppend(&text, a.value, "\n");
      std::ofstream out(slot.output_path, std::ios::trunc);
      out << text;
    }
    slot.mount->Serve(&fs);
    std::vector<std::string> env = env_;
    env.push_back("VFS_ROOT=" + slot.mount->mountpoint());
    env.push_back("VFS_CRASH_OUTPUT=" + slot.output_path);
    env.push_back("VFS_CRASH_STATE=" + CrashExplorer::CurrentState());
    int pipe[2];
    std::string said;
    int status = 0;
    if (::pipe2(pipe, O_CLOEXEC) != 0) {
      said = std::strerror(errno);
      status = 127;
    } else {
      auto child = Spawn(options_.checker, slot.mount->mountpoint(), env, pipe[1], pipe[1]);
      ::close(pipe[1]);
      if (!child.ok()) {
        said = std::strerror(child.error());
        status = 127;
      } else {
        status = Wait(*child, pipe[0], static_cast<int64_t>(options_.timeout * 1000), [&](std::string_view b) {
          if (said.size() < 4096) said.append(b.substr(0, 4096 - said.size()));
        });
      }
      ::close(pipe[0]);
    }
    slot.mount->Serve(nullptr);  // what the checker wrote goes with the state
    if (status == 0) return "";
    while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
    if (status == 126 || status == 127) {
      MutexLock lock(&mu_);
      if (cannot_start_.empty()) cannot_start_ = said.empty() ? StatusText(status) : said;
    }
    if (status == -1) return absl::StrCat("the checker timed out after ", options_.timeout, " s", said.empty() ? "" : ": ", said);
    return said.empty() ? absl::StrCat("the checker ", StatusText(status)) : said;
  }

  const RunOptions& options_;
  const std::vector<std::string> env_;
  std::vector<Slot> slots_;
  Mutex mu_;
  std::vector<size_t> free_ ABSL_GUARDED_BY(mu_);
  std::string cannot_start_ ABSL_GUARDED_BY(mu_);
};

// ---- Attribution ----

bool IsPageRequest(const Request& r) { return std::holds_alternative<PutPage>(r); }

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Attributes a failure to the program's own calls: which of its operations
// made the lost requests, which kept request overtook them, and the sync
// that would have prevented it.
class Attributor {
 public:
  Attributor(const ProgramTrace& p, const CrashExplorerOptions& options) : p_(p), options_(options) {
    for (const auto& [ino, path] : p.trace.paths) {
      paths_[ino] = path.size() > 1 ? path.substr(1) : ".";
      surviving_.insert(absl::StrCat(paths_[ino], "\n", ino));
      surviving_paths_.insert(paths_[ino]);
    }
  }

  struct Cause {
    std::string cause;  // what went wrong, in the program's terms
    std::string fix;    // the call that would have prevented it
  };

  // `message`: what the checker said; a file it names is preferred as the
  // cause.
  Cause Explain(const std::string& name, const std::string& message = "") const {
    auto parsed = CrashStateName::Parse(name);
    if (!parsed.ok()) return {};
    const uint64_t point = parsed->point;
    // The point's pending requests and which the state kept.
    std::vector<const RecordedRequest*> pending;
    for (const RecordedRequest& r : p_.trace.recording) {
      if (r.error != 0 || r.submitted_at > point) continue;
      if (r.durable_at != 0 && r.durable_at <= point) continue;
      pending.push_back(&r);
    }
    const uint32_t sectors = std::max<uint32_t>(1, p_.trace.page_size / options_.sector_size);
    std::vector<bool> kept;
    size_t bit = 0;
    for (const RecordedRequest* r : pending) {
      if (parsed->profile == CrashProfile::kStrict) {
        kept.push_back(true);
      } else if (parsed->profile == CrashProfile::kWeakest && IsPageRequest(r->request)) {
        bool all = true;
        for (uint32_t s = 0; s < sectors && bit + s < parsed->choice.size(); ++s) all &= parsed->choice[bit + s];
        bit += sectors;
        kept.push_back(all);
      } else {
        kept.push_back(bit < parsed->choice.size() && parsed->choice[bit]);
        ++bit;
      }
    }
    const Ack* last_ack = nullptr;
    for (const Ack& a : p_.trace.acks) {
      if (a.event <= point) last_ack = &a;
    }
    const std::string printed =
        last_ack ? absl::StrCat("when \"", last_ack->value, "\" was printed") : "at the crash";
    for (size_t i = 0; i < pending.size(); ++i) {
      if (kept[i]) continue;
      const RecordedRequest& lost = *pending[i];
      // A later request that reached the disk while this one did not.
      for (size_t j = i + 1; j < pending.size(); ++j) {
        // Pages overtaking pages say nothing of the program's order.
        if (!kept[j] || (IsPageRequest(pending[j]->request) && IsPageRequest(lost.request))) continue;
        const OpRecord* later = MadeBy(*pending[j]);
        const OpRecord* earlier = MadeBy(lost);
        // Overtaken only by a change the program made after this one.
        if (later == nullptr || (earlier != nullptr && later < earlier)) continue;
        return {absl::StrCat("the ", Describe(*later), " reached the disk before ", What(lost, earlier)),
                absl::StrCat(Fix(lost, earlier), " before the ", later->name)};
      }
      const OpRecord* made = MadeBy(lost);
      return {absl::StrCat(What(lost, made), " was not durable ", printed),
              absl::StrCat(Fix(lost, made), made ? absl::StrCat(" after the ", made->name) : "")};
    }
    // Nothing handed to the store was lost: it was never synced. The
    // program's operations before the broken promise (or the crash) say
    // what: data written and not synced, entries made and their directory
    // not synced.
    // The promise broken is the last output line before the crash; what
    // the program did up to it (or, with no line yet, up to the crash
    // point) is what was not synced.
    size_t promise = p_.trace.acks.size();
    for (size_t k = 0; k < p_.trace.acks.size(); ++k) {
      if (p_.trace.acks[k].event <= point) promise = k;
    }
    const bool promised = promise < p_.trace.acks.size();
    const std::string until =
        promised ? absl::StrCat("\"", p_.trace.acks[promise].value, "\" was printed") : "the crash";
    size_t op_end = 0;
    if (promised && promise < p_.ack_ops.size()) {
      op_end = p_.ack_ops[promise];
    } else {
      while (op_end < p_.ops.size() && p_.ops[op_end].after <= point) ++op_end;
    }
    // Requests in the state: durable by the point, or pending and kept.
    std::set<uint64_t> in_state;
    for (const RecordedRequest& r : p_.trace.recording) {
      if (r.error == 0 && r.durable_at != 0 && r.durable_at <= point) in_state.insert(r.index);
    }
    for (size_t i = 0; i < pending.size(); ++i) {
      if (kept[i]) in_state.insert(pending[i]->index);
    }
    auto entry_in_state = [&](const std::string& path, uint64_t ino) {
      for (const RecordedRequest& r : p_.trace.recording) {
        const auto* entry = std::get_if<PutDirent>(&r.request);
        if (entry != nullptr && entry->name == Basename(path) && entry->ino.value() == ino &&
            in_state.count(r.index) > 0) {
          return true;
        }
      }
      return false;
    };
    std::map<uint64_t, size_t> unsynced_data;  // inode -> its first write since a sync
    std::vector<size_t> unsynced_entries;      // renames, creations, removals
    for (size_t i = 0; i < op_end && i < p_.ops.size(); ++i) {
      const OpRecord& o = p_.ops[i];
      if (o.result < 0) continue;
      if (o.name == "write" || o.name == "truncate") {
        unsynced_data.emplace(o.ino, i);
      } else if (o.name == "fsync" || o.name == "fdatasync") {
        unsynced_data.erase(o.ino);
      } else if (o.name == "fsync of the directory") {
        const std::string dir = o.path;
        std::erase_if(unsynced_entries, [&](size_t e) {
          const OpRecord& m = p_.ops[e];
          return Dirname(m.to.empty() ? m.path : m.to) == dir;
        });
      } else if (o.name == "rename" &&
                 std::erase_if(unsynced_entries, [&](size_t e) { return p_.ops[e].name == "create" && p_.ops[e].path == o.path; }) > 0) {
        // A file created and renamed before its directory was synced: only
        // the rename's entry matters.
        unsynced_entries.push_back(i);
      } else if (o.name == "rename" || o.name == "create" || o.name == "mkdir" || o.name == "link" ||
                 o.name == "symlink" || o.name == "unlink" || o.name == "rmdir" || o.name == "mknod") {
        unsynced_entries.push_back(i);
      }
    }
    // Every unsynced change is a candidate cause, ranked: (0) a rename in
    // the state that overtook the unsynced data of its file; (1) the latest
    // rename to a name still there at the end (a commit point: the new
    // version over the old); (2) the earliest creation of what is still
    // there (everything under it goes with it); (3) data never synced;
    // (4) the latest other change (the removal of a journal). A candidate
    // whose file the checker named in its message comes first.
    struct Candidate {
      int rank;
      std::string cause, fix, path;
    };
    std::vector<Candidate> candidates;
    for (const auto& [ino, w] : unsynced_data) {
      const OpRecord& write = p_.ops[w];
      const OpRecord* rename = nullptr;
      for (size_t i = w + 1; i < op_end && i < p_.ops.size(); ++i) {
        const OpRecord& o = p_.ops[i];
        if (o.result >= 0 && o.ino == ino && (o.name == "rename" || o.name == "link")) rename = &o;
      }
      if (rename != nullptr && entry_in_state(rename->to, ino)) {
        candidates.push_back({0,
                              absl::StrCat("the ", Describe(*rename), " reached the disk before the data of ",
                                           write.path, By(write)),
                              absl::StrCat("fsync ", write.path, " before the ", rename->name), rename->to});
      } else {
        candidates.push_back({3, absl::StrCat("the data of ", write.path, By(write), " was never synced before ", until),
                              absl::StrCat("fsync ", write.path, " after writing it"), write.path});
      }
    }
    for (size_t e : unsynced_entries) {
      const OpRecord& o = p_.ops[e];
      const std::string& target = o.to.empty() ? o.path : o.to;
      if (o.name != "unlink" && o.name != "rmdir" && entry_in_state(target, o.ino)) continue;
      int rank = 4;
      if (o.name == "rename" && surviving_paths_.count(target) > 0) {
        rank = 1;
      } else if ((o.name == "create" || o.name == "mkdir" || o.name == "mknod" || o.name == "symlink") &&
                 surviving_.count(absl::StrCat(target, "\n", o.ino)) > 0) {
        rank = 2;
      }
      candidates.push_back({rank, absl::StrCat("the ", Describe(o), " was never made durable before ", until),
                            absl::StrCat("fsync the directory ", Dirname(target), " after the ", o.name), target});
    }
    // Within a rank, the latest change, but the earliest creation and the
    // first file written.
    const Candidate* best = nullptr;
    auto named = [&message](const Candidate& c) {
      return !message.empty() && !c.path.empty() && message.find(c.path) != std::string::npos;
    };
    for (const Candidate& c : candidates) {
      if (best == nullptr) {
        best = &c;
        continue;
      }
      if (named(c) != named(*best)) {
        if (named(c)) best = &c;
        continue;
      }
      if (c.rank < best->rank || (c.rank == best->rank && c.rank != 2 && c.rank != 3)) best = &c;
    }
    std::vector<std::string> fixes;
    auto add_fix = [&fixes](const std::string& fix) {
      if (std::find(fixes.begin(), fixes.end(), fix) == fixes.end()) fixes.push_back(fix);
    };
    std::string first_cause;
    if (best != nullptr) {
      first_cause = best->cause;
      add_fix(best->fix);
    }
    for (const Candidate& c : candidates) add_fix(c.fix);
    if (first_cause.empty()) {
      // No operation of the program explains it: what the VFS still held
      // unsynced at the broken promise (or the end).
      first_cause = absl::StrCat("what the program wrote was never synced before ", until);
      for (const std::string& u : promised ? p_.trace.acks[promise].unsynced : p_.trace.unsynced_at_end) {
        fixes.push_back(u);
      }
    }
    std::string fix;
    constexpr size_t kShown = 4;  // a program that never syncs has hundreds
    for (size_t i = 0; i < fixes.size() && i < kShown; ++i) absl::StrAppend(&fix, i ? "; " : "", fixes[i]);
    if (fixes.size() > kShown) absl::StrAppend(&fix, "; and ", fixes.size() - kShown, " more syncs");
    return {first_cause, fix.empty() ? "a sync of what it wrote" : fix};
  }

 private:
  std::string PathOfIno(uint64_t ino) const {
    auto it = paths_.find(ino);
    return it == paths_.end() ? absl::StrCat("inode ", ino) : it->second;
  }

  // The last operation of the program before `r` was submitted that made
  // the change `r` carries.
  const OpRecord* MadeBy(const RecordedRequest& r) const {
    auto matches = [&](const OpRecord& o) -> bool {
      if (o.result < 0) return false;
      const Request& q = r.request;
      if (const auto* page = std::get_if<PutPage>(&q)) {
        return o.ino == page->ino.value() && (o.name == "write" || o.name == "truncate");
      }
      if (const auto* entry = std::get_if<PutDirent>(&q)) {
        const std::string& target = o.to.empty() ? o.path : o.to;
        return o.ino == entry->ino.value() && Basename(target) == entry->name &&
               o.name != "write" && o.name.find("sync") == std::string::npos;
      }
      if (const auto* gone = std::get_if<DelDirent>(&q)) {
        return (o.name == "unlink" || o.name == "rmdir" || o.name == "rename") && Basename(o.path) == gone->name;
      }
      if (const auto* record = std::get_if<PutInode>(&q)) {
        return o.ino == record->record.ino.value() && o.name.find("sync") == std::string::npos;
      }
      if (const auto* cut = std::get_if<Truncate>(&q)) {
        return o.ino == cut->ino.value() && (o.name == "truncate" || o.name == "open(O_TRUNC)");
      }
      return false;
    };
    const OpRecord* found = nullptr;
    for (const OpRecord& o : p_.ops) {
      if (o.after > r.submitted_at) break;
      if (matches(o)) found = &o;
    }
    return found;
  }

  static std::string By(const OpRecord& o) { return absl::StrCat(" (", o.comm, ", pid ", o.pid, ")"); }

  static std::string Describe(const OpRecord& o) {
    if (o.name == "rename") {
      return absl::StrCat("rename of ", o.path, o.replaced ? " over " : " to ", o.to, By(o));
    }
    if (o.name == "link") return absl::StrCat("link of ", o.path, " as ", o.to, By(o));
    if (o.name == "create") return absl::StrCat("creation of ", o.path, By(o));
    if (o.name == "write") return absl::StrCat("data of ", o.path, By(o));
    return absl::StrCat(o.name, " of ", o.path, By(o));
  }

  std::string What(const RecordedRequest& r, const OpRecord* made) const {
    const Request& q = r.request;
    if (const auto* page = std::get_if<PutPage>(&q)) {
      const std::string path = made ? made->path : PathOfIno(page->ino.value());
      return absl::StrCat("the data of ", path, made ? By(*made) : "");
    }
    if (made != nullptr) return absl::StrCat("the ", Describe(*made));
    return absl::StrCat("request #", r.index, " (", vfs::Describe(q), ")");
  }

  std::string Fix(const RecordedRequest& r, const OpRecord* made) const {
    const Request& q = r.request;
    if (const auto* page = std::get_if<PutPage>(&q)) {
      return absl::StrCat("fsync ", made ? made->path : PathOfIno(page->ino.value()));
    }
    if (std::holds_alternative<PutDirent>(q) || std::holds_alternative<DelDirent>(q)) {
      if (made != nullptr) return absl::StrCat("fsync the directory ", Dirname(made->to.empty() ? made->path : made->to));
      const InodeId dir = std::holds_alternative<PutDirent>(q) ? std::get<PutDirent>(q).dir : std::get<DelDirent>(q).dir;
      return absl::StrCat("fsync the directory ", PathOfIno(dir.value()));
    }
    if (const auto* record = std::get_if<PutInode>(&q)) return absl::StrCat("fsync ", PathOfIno(record->record.ino.value()));
    if (const auto* cut = std::get_if<Truncate>(&q)) return absl::StrCat("fsync ", PathOfIno(cut->ino.value()));
    return "syncfs";
  }

  const ProgramTrace& p_;
  const CrashExplorerOptions& options_;
  std::map<uint64_t, std::string> paths_;
  std::set<std::string> surviving_;  // "path\ninode" of the tree at the end
  std::set<std::string> surviving_paths_;
};

// The cause without what varies from one crash point to the next (the pids
// of the processes, the output line the crash preceded): failures with the
// same key are one cause.
std::string CauseKey(const Attributor::Cause& c) {
  std::string key = c.cause;
  for (size_t at; (at = key.find(", pid ")) != std::string::npos;) {
    size_t end = at + 6;
    while (end < key.size() && std::isdigit(static_cast<unsigned char>(key[end]))) ++end;
    key.erase(at, end - at);
  }
  for (const char* tail : {" before \"", " when \"", " before the crash", " at the crash"}) {
    if (size_t at = key.find(tail); at != std::string::npos) key.erase(at);
  }
  // A rename over a file and to a new name are the same change.
  for (size_t at; (at = key.find(" over ")) != std::string::npos;) key.replace(at, 6, " to ");
  // The fix named first is the cause's; the rest lists what else was
  // unsynced at that moment, which grows as the program runs.
  std::string fix = c.fix;
  if (size_t at = fix.find("; "); at != std::string::npos) fix.erase(at);
  return key + "\n" + fix;
}

// ---- Reports ----

struct RunFailure {
  CrashFailure failure;
  Attributor::Cause cause;
  // What the checker said in the other states of the cause, when it said
  // something else (which acknowledged writes were lost, say): a few.
  std::vector<std::string> other_messages;
  void Also(const std::string& message) {
    if (message == failure.message || other_messages.size() >= 8) return;
    if (std::find(other_messages.begin(), other_messages.end(), message) == other_messages.end()) {
      other_messages.push_back(message);
    }
  }
};

struct RunReport {
  std::string workload, checker, profile;
  int status = 0;
  uint32_t shard = 0, shards = 1;
  uint64_t points = 0, states = 0;
  double seconds = 0;
  std::vector<RunFailure> failures;
};

std::string ToJson(const RunReport& r) {
  std::string out = absl::StrCat(
      "{\"tool\":\"vfs crash --run\",\"workload\":", JsonString(r.workload), ",\"checker\":",
      JsonString(r.checker), ",\"profile\":", JsonString(r.profile), ",\"workload_status\":", r.status,
      ",\"shard\":", r.shard, ",\"shards\":", r.shards, ",\"points\":", r.points, ",\"states\":", r.states,
      ",\"seconds\":", absl::StrFormat("%.3f", r.seconds), ",\"failures\":[");
  for (size_t i = 0; i < r.failures.size(); ++i) {
    const RunFailure& f = r.failures[i];
    absl::StrAppend(&out, i ? "," : "", "{\"name\":", JsonString(f.failure.name),
                    ",\"message\":", JsonString(f.failure.message), ",\"cause\":", JsonString(f.cause.cause),
                    ",\"fix\":", JsonString(f.cause.fix), ",\"more_states\":", f.failure.more_states,
                    ",\"other_messages\":[");
    for (size_t j = 0; j < f.other_messages.size(); ++j) {
      absl::StrAppend(&out, j ? "," : "", JsonString(f.other_messages[j]));
    }
    absl::StrAppend(&out, "],\"lost\":[");
    for (size_t j = 0; j < f.failure.lost.size(); ++j) {
      absl::StrAppend(&out, j ? "," : "", "{\"request\":", JsonString(f.failure.lost[j]),
                      ",\"protect_with\":", JsonString(f.failure.advice[j]), "}");
    }
    out += "]}";
  }
  return out + "]}";
}

std::string ToJunit(const RunReport& r) {
  std::string out = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"vfs crash\" tests=\"", r.states,
      "\" failures=\"", r.failures.size(), "\" time=\"", absl::StrFormat("%.3f", r.seconds), "\">\n");
  absl::StrAppend(&out, "  <properties><property name=\"workload\" value=\"", XmlEscape(r.workload),
                  "\"/><property name=\"checker\" value=\"", XmlEscape(r.checker),
                  "\"/><property name=\"profile\" value=\"", r.profile, "\"/></properties>\n");
  for (const RunFailure& f : r.failures) {
    absl::StrAppend(&out, "  <testcase classname=\"vfs.crash\" name=\"", XmlEscape(f.failure.name),
                    "\">\n    <failure message=\"", XmlEscape(f.cause.cause), "\">", XmlEscape(f.failure.message),
                    "\n", "fix: ", XmlEscape(f.cause.fix), "\n");
    for (size_t j = 0; j < f.failure.lost.size(); ++j) {
      absl::StrAppend(&out, "lost: ", XmlEscape(f.failure.lost[j]), "\n");
    }
    absl::StrAppend(&out, "</failure>\n  </testcase>\n");
  }
  const uint64_t passing = r.states - std::min<uint64_t>(r.states, r.failures.size());
  absl::StrAppend(&out, "  <testcase classname=\"vfs.crash\" name=\"", passing,
                  " other crash states\"/>\n</testsuite>\n");
  return out;
}

void PrintReport(const RunReport& r, const RunOptions& options) {
  std::printf("vfs crash --run: profile %s, %llu crash points, %llu states checked in %.2f s (%.0f/s), "
              "%zu failure(s)\n",
              r.profile.c_str(), static_cast<unsigned long long>(r.points),
              static_cast<unsigned long long>(r.states), r.seconds,
              r.seconds > 0 ? r.states / r.seconds : 0.0, r.failures.size());
  for (const RunFailure& f : r.failures) {
    std::printf("\nFAIL %s\n  checker: %s\n", f.failure.name.c_str(), f.failure.message.c_str());
    if (f.failure.more_states > 0) {
      std::printf("  (and %llu more crash state(s) with the same cause)\n",
                  static_cast<unsigned long long>(f.failure.more_states));
    }
    for (const std::string& m : f.other_messages) std::printf("  also: %s\n", m.c_str());
    if (!f.cause.cause.empty()) std::printf("  cause: %s\n  fix: %s\n", f.cause.cause.c_str(), f.cause.fix.c_str());
    for (size_t i = 0; i < f.failure.lost.size(); ++i) {
      std::printf("  lost: %s\n    protect with: %s\n", f.failure.lost[i].c_str(), f.failure.advice[i].c_str());
    }
    if (!options.trace_path.empty()) {
      std::printf("  replay: vfs crash --trace %s --check %s --replay %s\n", options.trace_path.c_str(),
                  Quote(options.checker).c_str(), f.failure.name.c_str());
    }
  }
}

bool WriteFile(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return true;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  return static_cast<bool>(out << text);
}

bool ParseSeconds(const std::string& s, double* out) {
  return absl::SimpleAtod(s, out) && *out > 0 && *out < 1e6;
}

// ---- A small JSON reader, for merging reports this file wrote ----

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  double number = 0;
  std::string text;
  std::vector<Json> items;
  // An object's members, in order: keys[i] names values[i]. (Two vectors:
  // a vector of pair<string, Json> needs Json complete, which clang's
  // libstdc++ checks here.)
  std::vector<std::string> keys;
  std::vector<Json> values;
  const Json* Get(std::string_view key) const {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &values[i];
    }
    return nullptr;
  }
  std::string Str(std::string_view key) const {
    const Json* v = Get(key);
    return v && v->kind == kString ? v->text : "";
  }
  double Num(std::string_view key) const {
    const Json* v = Get(key);
    return v && v->kind == kNumber ? v->number : 0;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}
  std::optional<Json> Parse() {
    Json v;
    if (!Value(&v)) return std::nullopt;
    Space();
    if (i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void Space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Value(Json* v) {
    Space();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      v->kind = Json::kObject;
      ++i_;
      Space();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      while (true) {
        Json key;
        Space();
        if (!String(&key.text)) return false;
        Space();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        Json value;
        if (!Value(&value)) return false;
        v->keys.push_back(key.text);
        v->values.push_back(std::move(value));
        Space();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        return i_ < s_.size() && s_[i_++] == '}';
      }
    }
    if (c == '[') {
      v->kind = Json::kArray;
      ++i_;
      Space();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      while (true) {
        Json item;
        if (!Value(&item)) return false;
        v->items.push_back(std::move(item));
        Space();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        return i_ < s_.size() && s_[i_++] == ']';
      }
    }
    if (c == '"') {
      v->kind = Json::kString;
      return String(&v->text);
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(i_, word.size()) == word) {
        v->kind = word == "null" ? Json::kNull : Json::kBool;
        v->number = word == "true";
        i_ += word.size();
        return true;
      }
    }
    const size_t start = i_;
    while (i_ < s_.size() && std::strchr("+-0123456789.eE", s_[i_]) != nullptr) ++i_;
    v->kind = Json::kNumber;
    return i_ > start && absl::SimpleAtod(absl::string_view(s_.data() + start, i_ - start), &v->number);
  }
  bool String(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        c = s_[i_++];
        if (c == 'n') c = '\n';
        else if (c == 't') c = '\t';
        else if (c == 'u') {
          uint32_t code = 0;
          if (i_ + 4 > s_.size() || !absl::SimpleHexAtoi(absl::string_view(s_.data() + i_, 4), &code)) return false;
          i_ += 4;
          c = static_cast<char>(code);  // this file writes only control characters so
        }
      }
      out->push_back(c);
    }
    return i_++ < s_.size();
  }
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

const char* CrashRunUsage() { return kRunUsage; }

bool IsCrashRunInvocation(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--run" || a == "--check") return true;
  }
  return false;
}

int CrashRunCommand(int argc, char** argv) {
  RunOptions options;
  CrashExplorerOptions& ex = options.explorer;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", kRunUsage);
      return 0;
    }
    if (arg == "--no-shrink") {
      ex.shrink = false;
      continue;
    }
    if (i + 1 >= argc) return Usage(absl::StrCat(arg, " needs a value (or is not an option of --run)"));
    const std::string value = argv[++i];
    uint64_t n = 0;
    if (arg == "--run") {
      options.workload = value;
      options.have_run = true;
    } else if (arg == "--check") {
      options.checker = value;
    } else if (arg == "--init") {
      struct stat st;
      if (::stat(value.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return Usage(absl::StrCat("--init ", value, ": not a directory"));
      }
      options.init_dir = value;
    } else if (arg == "--profile") {
      auto profile = ParseCrashProfile(value);
      if (!profile.ok()) return Usage("--profile takes strict, ordered, writeback or weakest");
      ex.profile = *profile;
    } else if (arg == "--points") {
      if (value == "requests") {
        options.points = PointsMode::kRequests;
      } else if (value == "syscalls") {
        options.points = PointsMode::kSyscalls;
      } else if (value == "syncs") {
        options.points = PointsMode::kSyncs;
      } else {
        return Usage("--points takes requests, syscalls or syncs");
      }
    } else if (arg == "--sector" && absl::SimpleAtoi(value, &n) && n > 0 && n <= 65536) {
      ex.sector_size = static_cast<uint32_t>(n);
    } else if (arg == "--limit" && absl::SimpleAtoi(value, &n) && n > 0) {
      ex.exhaustive_limit = n;
    } else if (arg == "--samples" && absl::SimpleAtoi(value, &n)) {
      ex.samples = n;
    } else if (arg == "--seed" && absl::SimpleAtoi(value, &n)) {
      ex.seed = n;
    } else if (arg == "--max-failures" && absl::SimpleAtoi(value, &n) && n > 0) {
      ex.max_failures = static_cast<uint32_t>(n);
    } else if (arg == "--jobs" && absl::SimpleAtoi(value, &n) && n > 0 && n <= 256) {
      options.jobs = static_cast<uint32_t>(n);
    } else if (arg == "--timeout" && ParseSeconds(value, &options.timeout)) {
    } else if (arg == "--run-timeout" && ParseSeconds(value, &options.run_timeout)) {
    } else if (arg == "--shard") {
      const size_t slash = value.find('/');
      uint64_t shard = 0, shards = 0;
      if (slash == std::string::npos || !absl::SimpleAtoi(value.substr(0, slash), &shard) ||
          !absl::SimpleAtoi(value.substr(slash + 1), &shards) || shards == 0 || shard >= shards) {
        return Usage("--shard takes I/N with 0 <= I < N");
      }
      ex.shard = static_cast<uint32_t>(shard);
      ex.shards = static_cast<uint32_t>(shards);
    } else if (arg == "--trace") {
      options.trace_path = value;
    } else if (arg == "--replay") {
      options.replay = value;
    } else if (arg == "--json") {
      options.json_path = value;
    } else if (arg == "--junit") {
      options.junit_path = value;
    } else {
      return Usage(absl::StrCat("bad argument '", arg, " ", value, "' (see vfs crash --run --help)"));
    }
  }
  if (options.checker.empty()) return Usage("--check 'CHECKER' is missing: the command that judges a crash state");
  if (!options.have_run && options.trace_path.empty()) {
    return Usage("--run 'WORKLOAD' is missing (or --trace FILE of a recorded run)");
  }
  if (options.have_run && options.workload.empty()) return Usage("--run takes a command");
  if (!options.replay.empty() && !CrashStateName::Parse(options.replay).ok()) {
    return Usage(absl::StrCat("'", options.replay, "' is not a crash state name"));
  }
  if (options.jobs == 0) options.jobs = std::max(1u, std::thread::hardware_concurrency());
  if (!options.replay.empty()) options.jobs = 1;

  // As root, the mounts live in a mount namespace of their own, with
  // nothing propagated out: a namespace another process unshares meanwhile
  // (a sandbox, a container) gets no copy of them to keep alive after they
  // are unmounted. The workload and the checkers, children, see them.
  if (::geteuid() == 0 && ::unshare(CLONE_NEWNS) == 0) {
    (void)::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
  }

  // The private directory: the mount points and the checkers' output files.
  char tmpl[] = "/tmp/vfs-crash.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Usage(absl::StrCat("cannot make a directory in /tmp: ", std::strerror(errno)));
  Workspace ws{tmpl};
  if (::mkdir((ws.dir + "/root").c_str(), 0755) != 0) return Usage(std::strerror(errno));

  const auto start = std::chrono::steady_clock::now();
  ProgramTrace program;
  if (options.points != PointsMode::kRequests) ex.points = CrashPoints::kMarked;
  CrashExplorer explorer(ex);
  if (options.have_run) {
    RecordResult recorded;
    auto trace = explorer.Record(ProgramWorkload(options, ws, &recorded));
    if (!recorded.fatal.empty()) return Usage(recorded.fatal);
    if (!trace.ok()) return Usage(absl::StrCat("the recording failed: ", std::strerror(trace.error())));
    if (recorded.status == 126 || recorded.status == 127) {
      std::string said = recorded.errors;
      while (!said.empty() && said.back() == '\n') said.pop_back();
      return Usage(absl::StrCat("the workload cannot start: ", said.empty() ? StatusText(recorded.status) : said));
    }
    program.trace = *std::move(trace);
    program.ops = std::move(recorded.ops);
    program.ack_ops = std::move(recorded.ack_ops);
    program.workload = options.workload;
    program.status = recorded.status;
    program.errors = recorded.errors;
    if (!options.trace_path.empty() && !WriteFile(options.trace_path, EncodeTrace(program))) {
      return Usage(absl::StrCat("cannot write ", options.trace_path));
    }
  } else {
    std::ifstream in(options.trace_path, std::ios::binary);
    if (!in) return Usage(absl::StrCat("cannot read ", options.trace_path, ": ", std::strerror(errno)));
    std::stringstream bytes;
    bytes << in.rdbuf();
    auto decoded = DecodeTrace(bytes.str());
    if (!decoded) return Usage(absl::StrCat(options.trace_path, " is not a trace of vfs crash --run"));
    program = *std::move(decoded);
  }
  // --points syscalls|syncs: a crash point after each of the program's
  // operations that changed the tree (or each of its syncs), from the
  // recorded operations, so a saved trace serves every kind of point.
  if (options.points != PointsMode::kRequests) {
    program.trace.marks.clear();
    for (const OpRecord& o : program.ops) {
      if (o.result < 0) continue;
      if (options.points == PointsMode::kSyncs && o.name.find("sync") == std::string::npos) continue;
      if (program.trace.marks.empty() || program.trace.marks.back() != o.after) program.trace.marks.push_back(o.after);
    }
  }
  const double record_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (program.status != 0) {
    std::fprintf(stderr, "vfs crash: the workload %s; exploring its run up to there%s%s\n",
                 StatusText(program.status).c_str(), program.errors.empty() ? "" : ". It said:\n",
                 program.errors.c_str());
  }
  std::fprintf(stderr, "vfs crash: %s %zu store requests, %zu program operations, %zu output lines in %.2f s\n",
               options.have_run ? "recorded" : "loaded", program.trace.recording.size(), program.ops.size(),
               program.trace.acks.size(), record_seconds);

  std::string why;
  auto pool = CheckerPool::Create(options, ws, options.jobs, &why);
  if (!pool.ok()) return Usage(why);
  const Checker checker = [&pool](Filesystem& fs, const Acks& acks) { return (*pool)->Check(fs, acks); };
  ex.check_threads = options.jobs;
  CrashExplorer checking(ex);
  Attributor attributor(program, ex);

  if (!options.replay.empty()) {
    auto verdict = checking.Replay(program.trace, checker, options.replay);
    if (!verdict.ok()) return Usage(absl::StrCat("'", options.replay, "' is not a crash state of this run"));
    if (std::string bad = (*pool)->cannot_start(); !bad.empty()) return Usage(absl::StrCat("the checker cannot start: ", bad));
    if (verdict->empty()) {
      std::printf("%s: passes\n", options.replay.c_str());
      return 0;
    }
    const Attributor::Cause cause = attributor.Explain(options.replay, *verdict);
    std::printf("%s: fails\n  checker: %s\n  cause: %s\n  fix: %s\n", options.replay.c_str(), verdict->c_str(),
                cause.cause.c_str(), cause.fix.c_str());
    return 1;
  }

  ProgressLine progress;
  checking.set_progress(progress.Callback());
  auto explored = checking.Explore(program.trace, checker);
  progress.End();
  if (!explored.ok()) return Usage(absl::StrCat("the exploration failed: ", std::strerror(explored.error())));
  if (std::string bad = (*pool)->cannot_start(); !bad.empty()) {
    return Usage(absl::StrCat("the checker cannot start: ", bad));
  }
  RunReport report;
  report.workload = program.workload;
  report.checker = options.checker;
  report.profile = CrashProfileName(ex.profile);
  report.status = program.status;
  report.shard = ex.shard;
  report.shards = ex.shards;
  report.points = explored->points;
  report.states = explored->states;
  report.seconds = progress.seconds();
  // Failures with the same cause in the program's terms are one.
  for (CrashFailure& f : explored->failures) {
    Attributor::Cause cause = attributor.Explain(f.name, f.message);
    auto same = std::find_if(report.failures.begin(), report.failures.end(), [&](const RunFailure& r) {
      return CauseKey(r.cause) == CauseKey(cause);
    });
    if (same != report.failures.end() && !cause.cause.empty()) {
      same->failure.more_states += 1 + f.more_states;
      same->Also(f.message);
      continue;
    }
    report.failures.push_back({std::move(f), std::move(cause), {}});
  }
  PrintReport(report, options);
  if (program.status != 0) std::printf("\nnote: the workload %s\n", StatusText(program.status).c_str());
  if (!options.json_path.empty() && !WriteFile(options.json_path, ToJson(report) + "\n")) {
    return Usage(absl::StrCat("cannot write ", options.json_path));
  }
  if (!options.junit_path.empty() && !WriteFile(options.junit_path, ToJunit(report))) {
    return Usage(absl::StrCat("cannot write ", options.junit_path));
  }
  return report.failures.empty() ? 0 : 1;
}

int CrashMergeCommand(int argc, char** argv) {
  std::vector<std::string> inputs;
  std::string json_path;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage(absl::StrCat("merge: bad argument '", arg, "'"));
    } else {
      inputs.push_back(arg);
    }
  }
  if (inputs.empty()) return Usage("merge: no reports given (vfs crash merge A.json B.json ...)");
  RunReport merged;
  std::vector<bool> seen_shard;
  for (const std::string& path : inputs) {
    std::ifstream in(path);
    if (!in) return Usage(absl::StrCat("merge: cannot read ", path, ": ", std::strerror(errno)));
    std::stringstream text;
    text << in.rdbuf();
    auto json = JsonParser(text.str()).Parse();
    if (!json || json->kind != Json::kObject || json->Str("tool") != "vfs crash --run") {
      return Usage(absl::StrCat("merge: ", path, " is not a report of vfs crash --run --json"));
    }
    const auto shards = static_cast<uint32_t>(json->Num("shards"));
    const auto shard = static_cast<uint32_t>(json->Num("shard"));
    if (merged.shards == 1 && seen_shard.empty()) {
      merged.workload = json->Str("workload");
      merged.checker = json->Str("checker");
      merged.profile = json->Str("profile");
      merged.status = static_cast<int>(json->Num("workload_status"));
      merged.shards = shards;
      merged.points = static_cast<uint64_t>(json->Num("points"));
      seen_shard.assign(std::max(1u, shards), false);
    } else if (shards != merged.shards || json->Str("workload") != merged.workload ||
               json->Str("profile") != merged.profile) {
      return Usage(absl::StrCat("merge: ", path, " is a shard of another run"));
    }
    if (shard >= seen_shard.size() || seen_shard[shard]) {
      return Usage(absl::StrCat("merge: ", path, ": shard ", shard, " given twice or out of range"));
    }
    seen_shard[shard] = true;
    merged.states += static_cast<uint64_t>(json->Num("states"));
    merged.seconds = std::max(merged.seconds, json->Num("seconds"));
    if (const Json* failures = json->Get("failures")) {
      for (const Json& f : failures->items) {
        RunFailure r;
        r.failure.name = f.Str("name");
        r.failure.message = f.Str("message");
        r.failure.more_states = static_cast<uint64_t>(f.Num("more_states"));
        r.cause = {f.Str("cause"), f.Str("fix")};
        if (const Json* lost = f.Get("lost")) {
          for (const Json& l : lost->items) {
            r.failure.lost.push_back(l.Str("request"));
            r.failure.advice.push_back(l.Str("protect_with"));
          }
        }
        auto same = std::find_if(merged.failures.begin(), merged.failures.end(), [&](const RunFailure& m) {
          return CauseKey(m.cause) == CauseKey(r.cause);
        });
        if (const Json* also = f.Get("other_messages")) {
          for (const Json& m : also->items) r.Also(m.text);
        }
        if (same != merged.failures.end()) {
          same->failure.more_states += 1 + r.failure.more_states;
          same->Also(r.failure.message);
          for (const std::string& m : r.other_messages) same->Also(m);
        } else {
          merged.failures.push_back(std::move(r));
        }
      }
    }
  }
  size_t missing = 0;
  for (bool s : seen_shard) missing += !s;
  RunOptions none;
  PrintReport(merged, none);
  if (missing > 0) std::printf("\nnote: %zu of %u shards missing\n", missing, merged.shards);
  if (!json_path.empty() && !WriteFile(json_path, ToJson(merged) + "\n")) {
    return Usage(absl::StrCat("cannot write ", json_path));
  }
  return merged.failures.empty() ? 0 : 1;
}

}  // namespace vfs
