#include "tools/bench/job.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "backends/fault/device_model.h"
#include "tools/bench/text.h"

namespace vfs::bench {
namespace {

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMaxBlock = uint64_t{64} << 20;  // 64 MiB
constexpr uint64_t kMaxSize = uint64_t{1} << 40;    // 1 TiB per file
constexpr uint32_t kMaxThreads = 1024;
constexpr uint32_t kMaxFiles = 1'000'000;

// A decimal whole number: digits only, no sign, no overflow.
absl::StatusOr<uint64_t> ParseWhole(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty value");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(Cat("'", text, "' is not a whole number"));
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return absl::InvalidArgumentError(Cat("'", text, "' is too large"));
    }
    value = value * 10 + digit;
  }
  return value;
}

absl::StatusOr<uint64_t> ParsePositive(std::string_view text) {
  auto value = ParseWhole(text);
  if (!value.ok()) return value.status();
  if (*value == 0) return absl::InvalidArgumentError("must be at least 1");
  return *value;
}

// The leading run of digits (and, with `fraction`, one '.'), and the rest.
std::pair<std::string_view, std::string_view> SplitNumber(std::string_view text, bool fraction) {
  size_t i = 0;
  bool dot = false;
  while (i < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || (fraction && text[i] == '.' && !dot))) {
    dot = dot || text[i] == '.';
    ++i;
  }
  return {text.substr(0, i), text.substr(i)};
}

absl::Status WithKey(std::string_view key, std::string_view value, const absl::Status& reason) {
  return absl::InvalidArgumentError(Cat(key, "=", value, ": ", reason.message()));
}

// fio's names for our keys, to point a user who types them the right way.
std::string_view HintFor(std::string_view key) {
  static const std::pair<std::string_view, std::string_view> kHints[] = {
      {"blocksize", "bs"},  {"block_size", "bs"}, {"filesize", "size"}, {"rw", "access and mode"},
      {"readwrite", "access and mode"}, {"numjobs", "threads"}, {"nrfiles", "files"},
      {"runtime", "time"},  {"duration", "time"}, {"io_size", "ops"},   {"number_ios", "ops"},
      {"fsync", "sync=fsync:N"}, {"fdatasync", "sync=fdatasync:N"},
      {"sync_file_range", "sync=sfr:N[:M]"}, {"randseed", "seed"}, {"ioengine", "backend"},
      {"directory", "backend=host:DIR"}};
  for (const auto& [from, to] : kHints) {
    if (from == key) return to;
  }
  return {};
}

}  // namespace

// ---- Numbers ----

absl::StatusOr<uint64_t> ParseBytes(std::string_view text) {
  auto [digits, unit] = SplitNumber(text, /*fraction=*/false);
  if (digits.empty()) return absl::InvalidArgumentError(Cat("'", text, "' is not a size"));
  auto number = ParseWhole(digits);
  if (!number.ok()) return number.status();
  const std::string u = Lower(unit);
  uint64_t scale = 0;
  if (u.empty() || u == "b") {
    scale = 1;
  } else if (u == "k" || u == "kb" || u == "kib") {
    scale = kKiB;
  } else if (u == "m" || u == "mb" || u == "mib") {
    scale = kKiB * kKiB;
  } else if (u == "g" || u == "gb" || u == "gib") {
    scale = kKiB * kKiB * kKiB;
  } else if (u == "t" || u == "tb" || u == "tib") {
    scale = kKiB * kKiB * kKiB * kKiB;
  } else {
    return absl::InvalidArgumentError(
        Cat("unknown unit '", unit, "' (use k, m, g or t: powers of 1024)"));
  }
  if (*number > std::numeric_limits<uint64_t>::max() / scale) {
    return absl::InvalidArgumentError(Cat("'", text, "' is too large"));
  }
  return *number * scale;
}

absl::StatusOr<uint64_t> ParseDurationNanos(std::string_view text) {
  auto [digits, unit] = SplitNumber(text, /*fraction=*/true);
  if (digits.empty() || digits == ".") {
    return absl::InvalidArgumentError(Cat("'", text, "' is not a duration"));
  }
  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1e9;
  } else if (unit == "ns") {
    scale = 1;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "m" || unit == "min") {
    scale = 60e9;
  } else {
    return absl::InvalidArgumentError(
        Cat("unknown unit '", unit, "' (use ns, us, ms, s or m)"));
  }
  const double nanos = std::strtod(std::string(digits).c_str(), nullptr) * scale;
  if (!(nanos >= 1)) return absl::InvalidArgumentError("must be longer than 0");
  if (nanos > 1e18) return absl::InvalidArgumentError(Cat("'", text, "' is too long"));
  return static_cast<uint64_t>(std::llround(nanos));
}

std::string FormatBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"t", "g", "m", "k"};
  for (int i = 0; i < 4; ++i) {
    const uint64_t scale = uint64_t{1} << (10 * (4 - i));
    if (bytes != 0 && bytes % scale == 0) return Cat(bytes / scale, kUnits[i]);
  }
  return Cat(bytes);
}

// ---- Sync strategies ----

std::string SyncStrategy::Label() const {
  switch (kind) {
    case Kind::kNone: return "none";
    case Kind::kFsync: return Cat("fsync:", every);
    case Kind::kFdatasync: return Cat("fdatasync:", every);
    case Kind::kSyncFileRange:
      return wait_every == 0 ? Cat("sfr:", every) : Cat("sfr:", every, ":", wait_every);
    case Kind::kFsyncRange: {
      const char* how_name = how == RangeHow::kDataSync ? "dsync"
                             : how == RangeHow::kFileSync ? "sync"
                                                          : "nocache";
      return Cat("fsync_range:", how_name, ":", every);
    }
    case Kind::kOpenDsync: return "odsync";
    case Kind::kOpenSync: return "osync";
    case Kind::kFinalFsync: return "end";
  }
  return "?";
}

absl::StatusOr<SyncStrategy> ParseSyncStrategy(std::string_view spec) {
  const std::vector<std::string_view> parts = Split(spec, ':');
  const std::string_view name = parts[0];
  SyncStrategy s;
  auto count = [&](size_t i, const char* what) -> absl::StatusOr<uint64_t> {
    auto n = ParsePositive(parts[i]);
    if (!n.ok()) return absl::InvalidArgumentError(Cat(what, " ", n.status().message()));
    return *n;
  };
  auto too_many = [&](size_t allowed) -> absl::Status {
    if (parts.size() <= allowed) return absl::OkStatus();
    return absl::InvalidArgumentError(Cat(
        "'", name, "' takes ", allowed == 1 ? "no count" : allowed == 2 ? "at most one count" : "at most two counts"));
  };
  if (name == "none" || name == "odsync" || name == "osync" || name == "end") {
    if (auto st = too_many(1); !st.ok()) return st;
    s.kind = name == "none"     ? SyncStrategy::Kind::kNone
             : name == "odsync" ? SyncStrategy::Kind::kOpenDsync
             : name == "osync"  ? SyncStrategy::Kind::kOpenSync
                                : SyncStrategy::Kind::kFinalFsync;
    return s;
  }
  if (name == "fsync" || name == "fdatasync") {
    if (auto st = too_many(2); !st.ok()) return st;
    s.kind = name == "fsync" ? SyncStrategy::Kind::kFsync : SyncStrategy::Kind::kFdatasync;
    s.every = 1;
    if (parts.size() == 2) {
      auto n = count(1, "writes per sync:");
      if (!n.ok()) return n.status();
      s.every = *n;
    }
    return s;
  }
  if (name == "sfr") {
    if (parts.size() < 2) {
      return absl::InvalidArgumentError("'sfr' needs a count: sfr:N[:M] (WRITE every N writes, WAIT every M)");
    }
    if (auto st = too_many(3); !st.ok()) return st;
    s.kind = SyncStrategy::Kind::kSyncFileRange;
    auto n = count(1, "writes per sync_file_range(WRITE):");
    if (!n.ok()) return n.status();
    s.every = *n;
    if (parts.size() == 3) {
      auto m = ParseWhole(parts[2]);
      if (!m.ok()) {
        return absl::InvalidArgumentError(
            Cat("writes per sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER): ", m.status().message()));
      }
      s.wait_every = *m;
    }
    return s;
  }
  if (name == "fsync_range") {
    if (parts.size() < 2) {
      return absl::InvalidArgumentError("'fsync_range' needs a mode: fsync_range:dsync|sync|nocache[:N]");
    }
    if (auto st = too_many(3); !st.ok()) return st;
    s.kind = SyncStrategy::Kind::kFsyncRange;
    if (parts[1] == "dsync") {
      s.how = SyncStrategy::RangeHow::kDataSync;
    } else if (parts[1] == "sync") {
      s.how = SyncStrategy::RangeHow::kFileSync;
    } else if (parts[1] == "nocache") {
      s.how = SyncStrategy::RangeHow::kNoCache;
    } else {
      return absl::InvalidArgumentError(
          Cat("unknown fsync_range mode '", parts[1], "' (use dsync, sync or nocache)"));
    }
    s.every = 1;
    if (parts.size() == 3) {
      auto n = count(2, "writes per sync:");
      if (!n.ok()) return n.status();
      s.every = *n;
    }
    return s;
  }
  return absl::InvalidArgumentError(Cat(
      "unknown strategy '", name,
      "' (use none, fsync[:N], fdatasync[:N], sfr:N[:M], fsync_range:dsync|sync|nocache[:N], odsync, "
      "osync or end)"));
}

std::vector<SyncStrategy> MatrixStrategies(uint64_t group) {
  using K = SyncStrategy::Kind;
  using H = SyncStrategy::RangeHow;
  group = std::max<uint64_t>(group, 1);
  return {
      {K::kNone, 0, 0, H::kDataSync},
      {K::kFinalFsync, 0, 0, H::kDataSync},
      {K::kFsync, 1, 0, H::kDataSync},
      {K::kFdatasync, 1, 0, H::kDataSync},
      {K::kFsync, group, 0, H::kDataSync},
      {K::kFdatasync, group, 0, H::kDataSync},
      {K::kSyncFileRange, 1, group, H::kDataSync},
      {K::kFsyncRange, 1, 0, H::kDataSync},
      {K::kFsyncRange, 1, 0, H::kFileSync},
      {K::kFsyncRange, 1, 0, H::kNoCache},
      {K::kOpenDsync, 0, 0, H::kDataSync},
      {K::kOpenSync, 0, 0, H::kDataSync},
  };
}

// ---- Backends ----

std::string Backend::Label() const {
  switch (kind) {
    case Kind::kMemory: return volatile_cache ? "memory:volatile" : "memory";
    case Kind::kDisk: return "disk:" + arg;
    case Kind::kFault: return "fault:" + arg;
    case Kind::kHost: return "host:" + arg;
  }
  return "?";
}

absl::StatusOr<Backend> ParseBackend(std::string_view spec) {
  Backend b;
  if (spec == "memory") return b;
  if (spec == "memory:volatile") {
    b.volatile_cache = true;
    return b;
  }
  const size_t colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view arg = colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);
  if (kind == "fault") {
    b.kind = Backend::Kind::kFault;
    if (!DeviceModel::Preset(arg)) {
      return absl::InvalidArgumentError(Cat("unknown device preset '", arg, "' (use ",
                                                     Join(DeviceModel::PresetNames(), ", "), ")"));
    }
  } else if (kind == "disk" || kind == "host") {
    b.kind = kind == "disk" ? Backend::Kind::kDisk : Backend::Kind::kHost;
    if (arg.empty()) {
      return absl::InvalidArgumentError(Cat("'", kind, "' needs a directory: ", kind, ":DIR"));
    }
  } else {
    return absl::InvalidArgumentError(Cat(
        "unknown backend '", spec, "' (use memory, memory:volatile, disk:DIR, fault:PRESET or host:DIR)"));
  }
  b.arg = std::string(arg);
  return b;
}

absl::StatusOr<std::vector<Backend>> ParseBackendList(std::string_view specs) {
  std::vector<Backend> out;
  for (std::string_view spec : Split(specs, ',')) {
    auto b = ParseBackend(spec);
    if (!b.ok()) return b.status();
    out.push_back(*std::move(b));
  }
  return out;
}

// ---- Jobs ----

uint64_t Job::TotalOps() const {
  if (ops != 0) return ops;
  if (duration_ns != 0) return 0;
  return uint64_t{files} * (size / block_size);
}

std::string Job::Describe() const {
  std::vector<std::string> labels;
  for (const Backend& b : backends) labels.push_back(b.Label());
  std::string out;
  if (!name.empty()) out += Cat("name=", name, " ");
  out += Cat("backend=", Join(labels, ","), " size=", FormatBytes(size),
                  " bs=", FormatBytes(block_size), " access=", access == Access::kRandom ? "rand" : "seq",
                  " mode=", mode == WriteMode::kAppend ? "append" : "overwrite", " files=", files,
                  " threads=", threads);
  if (ops != 0) out += Cat(" ops=", ops);
  if (duration_ns != 0) {
    // The largest unit that divides it exactly, so it parses back the same.
    const char* unit = "ns";
    uint64_t amount = duration_ns;
    for (const auto& [scale, name] : {std::pair<uint64_t, const char*>{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}}) {
      if (duration_ns % scale == 0) {
        amount = duration_ns / scale;
        unit = name;
        break;
      }
    }
    out += Cat(" time=", amount, unit);
  }
  out += Cat(" sync=", sync.Label(), " seed=", seed);
  return out;
}

std::vector<std::pair<std::string, std::string>> JobKeys() {
  return {
      {"name", "the job's name in reports (default: the section name)"},
      {"backend", "memory | memory:volatile | disk:DIR | fault:PRESET | host:DIR, or a comma list"},
      {"size", "bytes per file, k/m/g/t suffixes are powers of 1024 (default 1m)"},
      {"bs", "bytes per write (default 4k)"},
      {"access", "seq | rand (default seq)"},
      {"mode", "overwrite | append (default overwrite)"},
      {"files", "number of files, at least threads (default 1)"},
      {"threads", "writer threads, each writing only its own files (default 1)"},
      {"ops", "total writes over all threads (default: one pass over every file)"},
      {"time", "duration limit: 500ms, 10s, 2m; a bare number is seconds"},
      {"sync", "none | fsync[:N] | fdatasync[:N] | sfr:N[:M] | fsync_range:dsync|sync|nocache[:N] | "
               "odsync | osync | end"},
      {"seed", "seed of the random offsets (default 1)"},
  };
}

absl::Status SetJobKey(Job* job, std::string_view key, std::string_view value) {
  auto fail = [&](const absl::Status& reason) { return WithKey(key, value, reason); };
  if (key == "name") {
    if (value.empty()) return fail(absl::InvalidArgumentError("empty name"));
    job->name = std::string(value);
  } else if (key == "backend") {
    auto list = ParseBackendList(value);
    if (!list.ok()) return fail(list.status());
    job->backends = *std::move(list);
  } else if (key == "size" || key == "bs") {
    auto bytes = ParseBytes(value);
    if (!bytes.ok()) return fail(bytes.status());
    if (*bytes == 0) return fail(absl::InvalidArgumentError("must be at least 1 byte"));
    if (key == "bs") {
      if (*bytes > kMaxBlock) return fail(absl::InvalidArgumentError("larger than the 64m limit"));
      job->block_size = *bytes;
    } else {
      if (*bytes > kMaxSize) return fail(absl::InvalidArgumentError("larger than the 1t limit"));
      job->size = *bytes;
    }
  } else if (key == "access") {
    if (value == "seq") {
      job->access = Access::kSequential;
    } else if (value == "rand") {
      job->access = Access::kRandom;
    } else {
      return fail(absl::InvalidArgumentError("use seq or rand"));
    }
  } else if (key == "mode") {
    if (value == "overwrite") {
      job->mode = WriteMode::kOverwrite;
    } else if (value == "append") {
      job->mode = WriteMode::kAppend;
    } else {
      return fail(absl::InvalidArgumentError("use overwrite or append"));
    }
  } else if (key == "files" || key == "threads") {
    auto n = ParsePositive(value);
    if (!n.ok()) return fail(n.status());
    const uint32_t limit = key == "files" ? kMaxFiles : kMaxThreads;
    if (*n > limit) return fail(absl::InvalidArgumentError(Cat("more than the limit of ", limit)));
    (key == "files" ? job->files : job->threads) = static_cast<uint32_t>(*n);
  } else if (key == "ops") {
    auto n = ParsePositive(value);
    if (!n.ok()) return fail(n.status());
    job->ops = *n;
  } else if (key == "time") {
    auto ns = ParseDurationNanos(value);
    if (!ns.ok()) return fail(ns.status());
    job->duration_ns = *ns;
  } else if (key == "sync") {
    auto s = ParseSyncStrategy(value);
    if (!s.ok()) return fail(s.status());
    job->sync = *s;
  } else if (key == "seed") {
    auto n = ParseWhole(value);
    if (!n.ok()) return fail(n.status());
    job->seed = *n;
  } else {
    std::vector<std::string> known;
    for (const auto& [k, help] : JobKeys()) known.push_back(k);
    std::string message = Cat("unknown key '", key, "'");
    if (std::string_view hint = HintFor(key); !hint.empty()) message += Cat(": use ", hint);
    message += Cat(" (keys: ", Join(known, ", "), ")");
    return absl::InvalidArgumentError(message);
  }
  return absl::OkStatus();
}

absl::Status ValidateJob(const Job& job) {
  const std::string size = FormatBytes(job.size);
  const std::string bs = FormatBytes(job.block_size);
  if (job.block_size > job.size) {
    return absl::InvalidArgumentError(Cat("bs=", bs, " is larger than size=", size));
  }
  if (job.size % job.block_size != 0) {
    return absl::InvalidArgumentError(Cat("size=", size, " is not a multiple of bs=", bs));
  }
  if (job.access == Access::kRandom && job.mode == WriteMode::kAppend) {
    return absl::InvalidArgumentError("access=rand needs mode=overwrite: appends always go to the end");
  }
  if (job.files < job.threads) {
    return absl::InvalidArgumentError(Cat("files=", job.files, " is fewer than threads=", job.threads,
                                                   ": each thread writes only its own files"));
  }
  return absl::OkStatus();
}

namespace {

// "key=value" into its halves, spaces around either trimmed.
absl::StatusOr<std::pair<std::string_view, std::string_view>> SplitOption(std::string_view option) {
  const size_t eq = option.find('=');
  if (eq == std::string_view::npos) {
    return absl::InvalidArgumentError(Cat("'", option, "' is not key=value"));
  }
  std::string_view key = Trim(option.substr(0, eq));
  std::string_view value = Trim(option.substr(eq + 1));
  if (key.empty()) return absl::InvalidArgumentError(Cat("'", option, "' has no key"));
  if (value.empty()) return absl::InvalidArgumentError(Cat(key, "= has no value"));
  return std::make_pair(key, value);
}

// A key given twice in one list would leave the user guessing which value
// the job ran with: it is refused, naming the key.
absl::Status Duplicate(std::string_view key, std::string_view first, std::string_view second) {
  return absl::InvalidArgumentError(
      Cat("key '", key, "' is given twice (", first, " and ", second, "): give it once"));
}

absl::Status Apply(Job* job, const std::vector<std::string>& options) {
  std::vector<std::pair<std::string_view, std::string_view>> seen;  // key, option
  for (const std::string& option : options) {
    auto kv = SplitOption(option);
    if (!kv.ok()) return kv.status();
    for (const auto& [key, first] : seen) {
      if (key == kv->first) return Duplicate(key, first, option);
    }
    seen.emplace_back(kv->first, option);
    if (auto st = SetJobKey(job, kv->first, kv->second); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Job> ParseJobArgs(const std::vector<std::string>& args) {
  Job job;
  if (auto st = Apply(&job, args); !st.ok()) return st;
  if (auto st = ValidateJob(job); !st.ok()) return st;
  return job;
}

absl::StatusOr<std::vector<Job>> ParseJobFile(std::string_view text, std::string_view filename,
                                              const std::vector<std::string>& overrides) {
  // Each option with the line it came from: globals, then one list per section.
  struct Option {
    int line;
    std::string text;
  };
  struct Section {
    std::string name;
    int line;
    std::vector<Option> options;
  };
  std::vector<Option> globals;
  std::vector<Section> sections;
  int line_number = 0;
  for (std::string_view line : Split(text, '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    auto error_here = [&](const std::string& message) {
      return absl::InvalidArgumentError(Cat(filename, ":", line_number, ": ", message));
    };
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return error_here(Cat("'", line, "' is not a section: use [name]"));
      }
      sections.push_back({std::string(Trim(line.substr(1, line.size() - 2))), line_number, {}});
      continue;
    }
    auto kv = SplitOption(line);
    if (!kv.ok()) return error_here(std::string(kv.status().message()));
    // Checked now, so the error names this line even if no job uses it.
    Job scratch;
    if (auto st = SetJobKey(&scratch, kv->first, kv->second); !st.ok()) return error_here(std::string(st.message()));
    std::vector<Option>& list = sections.empty() ? globals : sections.back().options;
    for (const Option& earlier : list) {
      if (SplitOption(earlier.text)->first == kv->first) {
        return error_here(Cat("key '", kv->first, "' is given twice in ",
                              sections.empty() ? std::string("the defaults") : Cat("[", sections.back().name, "]"),
                              " (first at line ", earlier.line, "): give it once"));
      }
    }
    list.push_back({line_number, std::string(line)});
  }
  if (sections.empty()) sections.push_back({"", 0, {}});
  std::vector<Job> jobs;
  for (const Section& section : sections) {
    Job job;
    job.name = section.name;
    for (const std::vector<Option>* list : std::initializer_list<const std::vector<Option>*>{&globals, &section.options}) {
      for (const Option& option : *list) {
        auto kv = SplitOption(option.text);
        if (auto st = SetJobKey(&job, kv->first, kv->second); !st.ok()) {
          return absl::InvalidArgumentError(Cat(filename, ":", option.line, ": ", st.message()));
        }
      }
    }
    if (auto st = Apply(&job, overrides); !st.ok()) return st;
    if (auto st = ValidateJob(job); !st.ok()) {
      const std::string where =
          section.line == 0 ? std::string(filename) : Cat(filename, ":", section.line, " [", section.name, "]");
      return absl::InvalidArgumentError(Cat(where, ": ", st.message()));
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace vfs::bench
