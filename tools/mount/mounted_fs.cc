#include "tools/mount/mounted_fs.h"

#include <dirent.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/disk/disk_store.h"
#include "backends/memory/memory_store.h"
#include "tools/bench/job.h"
#include "tools/mount/memory_trimmer.h"
#include "vfs/inode.h"

namespace vfs {
namespace {

constexpr const char* kOpNames[] = {
    "getattr", "setattr", "create", "open", "read", "write", "flush",
    "release", "fsync", "fdatasync", "opendir", "readdir", "fsyncdir", "mkdir", "rmdir",
    "unlink", "rename", "link", "symlink", "readlink", "statfs", "mknod", "lookup", "forget",
    "xattr", "fallocate", "lseek", "copy_file_range", "ioctl"};
static_assert(std::size(kOpNames) == static_cast<size_t>(MountOp::kCount));

constexpr const char* kHelp =
    "ok commands:\n"
    "crash                  power cut: keep the durable state (and what the profile allows), remount\n"
    "fault KEY=VALUE ...    add a fault rule: error=EIO|ENOSPC|EDQUOT stage=submit|completion|flush\n"
    "                       kinds=page,inode,dirent,truncate,free,superblock|all path=P|ino=N\n"
    "                       nth=N one_in=N seed=N once=1|0\n"
    "clear                  remove every fault rule\n"
    "sync                   make everything durable (sync(2))\n"
    "stats                  operation and store counters\n"
    "dirty                  what is not yet durable, per file and directory\n"
    "help                   this list\n";

std::string ErrnoName(int err) {
  switch (err) {
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    default: return absl::StrCat("errno ", err);
  }
}

// Debian's Abseil has its own string_view, so commands are split here.
std::vector<std::string> Words(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::string FlagNames(uint8_t flags) {
  std::vector<std::string> names;
  if (flags & kDirtySync) names.push_back("SYNC");
  if (flags & kDirtyDatasync) names.push_back("DATASYNC");
  if (flags & kDirtyTime) names.push_back("TIME");
  return names.empty() ? "none" : absl::StrJoin(names, "|");
}

}  // namespace

// ---- Guard ----

MountedFs::Guard::Guard(MountedFs* owner) : owner_(owner) {
  owner_->mu_.ReaderLock();
  fs_ = owner_->fs_.get();
  generation_ = owner_->generation_;
}

MountedFs::Guard::~Guard() { owner_->mu_.ReaderUnlock(); }

uint64_t MountedFs::Guard::Handle(Fd fd) const {
  return (uint64_t{generation_} << 32) | static_cast<uint32_t>(fd.value());
}

std::optional<Fd> MountedFs::Guard::FdOf(uint64_t handle) const {
  if (fs_ == nullptr || (handle >> 32) != generation_) return std::nullopt;
  return Fd(static_cast<int>(handle & 0xffffffffu));
}

// ---- Mount and unmount ----

MountedFs::MountedFs(const MountedFsOptions& options, std::shared_ptr<Store> backend,
                     std::shared_ptr<FaultStore> faults, std::shared_ptr<PendingStore> pending)
    : options_(options),
      backend_(std::move(backend)),
      faults_(std::move(faults)),
      pending_(std::move(pending)),
      next_seed_(options.seed) {}

Result<std::unique_ptr<MountedFs>> MountedFs::Open(const MountedFsOptions& options,
                                                   std::string* why) {
  auto spec = bench::ParseBackend(options.backend);
  if (!spec.ok()) {
    *why = std::string(spec.status().message());
    return Error(EINVAL);
  }
  std::shared_ptr<Store> backend;
  FaultStoreOptions fault_options;
  fault_options.record = false;  // only pending requests are kept (PendingStore)
  switch (spec->kind) {
    case bench::Backend::Kind::kHost:
      *why = "host:DIR is the host kernel, not a VFS backend; use memory, memory:volatile, "
             "disk:DIR or fault:PRESET";
      return Error(EINVAL);
    case bench::Backend::Kind::kMemory:
      backend = NewMemoryStore({.volatile_cache = spec->volatile_cache});
      break;
    case bench::Backend::Kind::kFault:
      backend = NewMemoryStore();
      fault_options.device = DeviceModel::Preset(spec->arg);
      break;
    case bench::Backend::Kind::kDisk: {
      std::string reason;
      auto opened = OpenDiskStore(spec->arg, {}, &reason);
      if (!opened.ok()) {
        *why = absl::StrCat("disk store ", spec->arg, ": ",
                            reason.empty() ? std::strerror(opened.error()) : reason);
        return Error(opened.error());
      }
      backend = *opened;
      break;
    }
  }
  auto faults = NewFaultStore(backend, fault_options);
  auto pending = std::make_shared<PendingStore>(faults);
  std::unique_ptr<MountedFs> mounted(new MountedFs(options, backend, faults, pending));
  auto fs = Filesystem::Mount(pending, options.fs_options);
  if (!fs.ok()) {
    *why = absl::StrCat("cannot mount the ", options.backend, " store: ",
                        std::strerror(fs.error()));
    return Error(fs.error());
  }
  WriterLock lock(&mounted->mu_);
  mounted->fs_ = std::move(fs).value();
  return mounted;
}

MountedFs::~MountedFs() { (void)Shutdown(); }  // Shutdown reports to callers that want it

Result<void> MountedFs::Shutdown() {
  WriterLock lock(&mu_);
  if (fs_ == nullptr) return Ok();
  auto unmounted = fs_->Unmount();
  fs_.reset();
  ++generation_;
  return unmounted;
}

void MountedFs::SetBeforeSync(std::function<void()> hook) { before_sync_ = std::move(hook); }

void MountedFs::SetCrashHooks(CrashHooks hooks) {
  WriterLock lock(&mu_);
  hooks_ = std::move(hooks);
}

uint32_t MountedFs::generation() {
  ReaderLock lock(&mu_);
  return generation_;
}

std::string MountedFs::Crash() {
  std::function<void()> after;
  std::string reply = CrashLocked(&after);
  if (after) after();
  return reply;
}

std::string MountedFs::CrashLocked(std::function<void()>* after) {
  WriterLock lock(&mu_);
  *after = hooks_.after;
  const uint64_t seed = next_seed_++;
  ++crashes_;
  std::vector<Request> pending = pending_->Pending();
  std::vector<Request> kept = ChooseSurvivors(pending, options_.profile, seed);
  if (fs_ != nullptr) fs_->Crash();  // the store chain drops all not durable
  fs_.reset();
  ++generation_;
  std::string note;
  if (!kept.empty()) {
    // Put back what the profile keeps, straight into the backend (below the
    // fault rules: the requests already passed them once), made durable.
    auto image = backend_->Load();
    if (!image.ok()) return absl::StrCat("error: crash: reading the store back: ",
                                         std::strerror(image.error()));
    auto ticket = backend_->Submit(kept);
    Result<void> done = ticket.ok() ? backend_->Wait(*ticket) : Result<void>(Error(ticket.error()));
    if (done.ok()) done = backend_->Flush();
    backend_->Release();
    if (!done.ok()) note = absl::StrCat(" (replaying kept requests failed: ",
                                        std::strerror(done.error()), ")");
  }
  auto fs = Filesystem::Mount(pending_, options_.fs_options);
  if (!fs.ok()) {
    return absl::StrCat("error: crash: remount failed: ", std::strerror(fs.error()),
                        "; every operation now answers EIO");
  }
  fs_ = std::move(fs).value();
  if (hooks_.remounted) hooks_.remounted(*fs_, generation_);
  const MountReport& report = fs_->mount_report();
  return absl::StrCat("ok crash ", crashes_, ": profile ", MountCrashProfileName(options_.profile),
                      " seed ", seed, ", ", pending.size(), " pending requests, ", kept.size(),
                      " kept", note, "; remounted ", report.inodes, " inodes (",
                      report.dropped_entries, " dropped entries, ", report.orphans_freed,
                      " orphans freed)");
}

// ---- Control commands ----

std::string MountedFs::Control(std::string_view line) {
  const std::string command = Trim(line);
  const size_t space = command.find(' ');
  const std::string verb = command.substr(0, space);
  const std::string args = space == std::string::npos ? std::string() : Trim(command.substr(space + 1));
  if (verb == "crash" && args.empty()) return Crash();
  if (verb == "fault") return FaultCommand(args);
  if (verb == "clear" && args.empty()) {
    faults_->ClearRules();
    return "ok fault rules cleared";
  }
  if (verb == "sync" && args.empty()) {
    if (before_sync_) before_sync_();
    Guard guard(this);
    if (!guard.alive()) return "error: sync: the filesystem is not mounted";
    guard.fs().Sync();
    return "ok synced";
  }
  if (verb == "stats" && args.empty()) return StatsCommand();
  if (verb == "dirty" && args.empty()) return DirtyCommand();
  if (verb == "help" && args.empty()) return kHelp;
  return absl::StrCat("error: unknown command '", command, "' (try: help)");
}

std::string MountedFs::FaultCommand(const std::string& args) {
  FaultRule rule;
  std::string path;
  if (args.empty()) return "error: fault needs KEY=VALUE arguments";
  for (const std::string& word : Words(args, ' ')) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) return absl::StrCat("error: fault: '", word, "' is not KEY=VALUE");
    const std::string key = word.substr(0, eq);
    const std::string value = word.substr(eq + 1);
    uint64_t number = 0;
    const bool numeric = absl::SimpleAtoi(value, &number);
    if (key == "error") {
      if (value == "EIO") rule.error = EIO;
      else if (value == "ENOSPC") rule.error = ENOSPC;
      else if (value == "EDQUOT") rule.error = EDQUOT;
      else return "error: fault: error= takes EIO, ENOSPC or EDQUOT";
    } else if (key == "stage") {
      if (value == "submit") rule.stage = FaultStage::kSubmit;
      else if (value == "completion") rule.stage = FaultStage::kCompletion;
      else if (value == "flush") rule.stage = FaultStage::kFlush;
      else return "error: fault: stage= takes submit, completion or flush";
    } else if (key == "kinds") {
      rule.kinds = 0;
      for (const std::string& kind : Words(value, ',')) {
        if (kind == "page") rule.kinds |= kKindPage;
        else if (kind == "inode") rule.kinds |= kKindInode;
        else if (kind == "dirent") rule.kinds |= kKindDirent;
        else if (kind == "truncate") rule.kinds |= kKindTruncate;
        else if (kind == "free") rule.kinds |= kKindFree;
        else if (kind == "superblock") rule.kinds |= kKindSuperblock;
        else if (kind == "all") rule.kinds |= kKindAll;
        else return absl::StrCat("error: fault: unknown kind '", kind, "'");
      }
      if (rule.kinds == 0) return "error: fault: kinds= needs a kind (page,inode,... or all)";
    } else if (key == "path") {
      if (value.empty() || value[0] != '/') {
        return "error: fault: path= takes an absolute path in the mount (path=/dir/file)";
      }
      path = value;
    } else if (key == "ino" && numeric) {
      rule.ino = InodeId(number);
    } else if (key == "nth" && numeric) {
      rule.nth = number;
    } else if (key == "one_in" && numeric && number == 0) {
      return "error: fault: one_in= takes 1 or more (one_in=1 fires at every match)";
    } else if (key == "one_in" && numeric && number <= UINT32_MAX) {
      rule.one_in = static_cast<uint32_t>(number);
    } else if (key == "seed" && numeric) {
      rule.seed = number;
    } else if (key == "once" && (value == "0" || value == "1")) {
      rule.once = value == "1";
    } else {
      return absl::StrCat("error: fault: bad argument '", word, "' (try: help)");
    }
  }
  if (!path.empty()) {
    Guard guard(this);
    if (!guard.alive()) return "error: fault: the filesystem is not mounted";
    auto st = guard.fs().Lstat(path);
    if (!st.ok()) return absl::StrCat("error: fault: ", path, ": ", std::strerror(st.error()));
    rule.ino = st->ino;
  }
  const uint64_t id = faults_->AddRule(rule);
  return absl::StrCat("ok rule ", id, ": ", ErrnoName(rule.error), rule.once ? " once" : " until cleared",
                      rule.ino ? absl::StrCat(" on inode ", rule.ino->value()) : std::string());
}

std::string MountedFs::StatsCommand() {
  std::string out;
  uint64_t crashes = 0;
  uint32_t generation = 0;
  {
    ReaderLock lock(&mu_);
    crashes = crashes_;
    generation = generation_;
  }
  absl::StrAppend(&out, "ok stats: backend ", options_.backend, ", profile ",
                  MountCrashProfileName(options_.profile), ", crashes ", crashes,
                  ", generation ", generation, "\n");
  absl::StrAppend(&out, "ops");
  for (size_t i = 0; i < ops_.size(); ++i) {
    absl::StrAppend(&out, " ", kOpNames[i], "=", ops_[i].load(std::memory_order_relaxed));
  }
  const StoreStats store = backend_->Stats();
  const FaultStats faults = faults_->Faults();
  uint64_t unlinked = 0;  // held for deleted files until their removal is durable
  {
    Guard guard(this);
    if (guard.alive()) {
      if (auto st = guard.fs().Statfs(); st.ok()) unlinked = st->unlinked_bytes;
    }
  }
  absl::StrAppend(&out, "\nstore submits=", store.submits, " requests=", store.requests,
                  " page_writes=", store.page_writes, " bytes=", store.bytes,
                  " flushes=", store.flushes, " held_bytes=", store.held_bytes,
                  " unlinked_bytes=", unlinked, "\nfaults failures=", faults.failures,
                  " virtual_ns=", faults.virtual_ns, "\npending ", pending_->Pending().size(),
                  "\nmemory allocator_free_bytes=", MemoryTrimmer::FreeBytes(), "\n");
  return out;
}

std::string MountedFs::DirtyCommand() {
  Guard guard(this);
  if (!guard.alive()) return "error: dirty: the filesystem is not mounted";
  Filesystem& fs = guard.fs();
  std::string lines;
  uint64_t files = 0, dirs = 0;
  // Depth-first over the tree; the tree may change meanwhile, so an entry
  // that vanished is skipped.
  std::vector<std::string> todo = {"/"};
  while (!todo.empty()) {
    const std::string dir = std::move(todo.back());
    todo.pop_back();
    if (auto n = fs.PendingEntryCount(dir); n.ok() && *n > 0) {
      ++dirs;
      absl::StrAppend(&lines, "dir ", dir, " pending_entries=", *n, "\n");
    }
    auto dfd = fs.Open(dir, O_RDONLY | O_DIRECTORY);
    if (!dfd.ok()) continue;
    auto entries = fs.ReadDir(*dfd);
    (void)fs.Close(*dfd);  // a read-only descriptor: nothing to report on close
    if (!entries.ok()) continue;
    for (const DirEntry& e : *entries) {
      if (e.name == "." || e.name == "..") continue;
      const std::string path = dir == "/" ? "/" + e.name : dir + "/" + e.name;
      auto fd = fs.Open(path, O_PATH | O_NOFOLLOW);
      if (!fd.ok()) continue;
      auto summary = fs.DirtySummaryOf(*fd);
      (void)fs.Close(*fd);  // as above
      if (summary.ok() && (summary->dirty_pages > 0 || summary->writeback || summary->flags != 0 ||
                           !summary->has_record)) {
        ++files;
        absl::StrAppend(&lines, e.type == DT_DIR ? "inode " : "file ", path,
                        " dirty_pages=", summary->dirty_pages,
                        " writeback=", summary->writeback ? "yes" : "no",
                        " flags=", FlagNames(summary->flags),
                        " record=", summary->has_record ? "yes" : "no", "\n");
      }
      if (e.type == DT_DIR) todo.push_back(path);
    }
  }
  return absl::StrCat("ok dirty: ", files, " inodes, ", dirs, " directories with pending entries\n",
                      lines);
}

}  // namespace vfs
