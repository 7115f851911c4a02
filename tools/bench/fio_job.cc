#include "tools/bench/fio_job.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>

#include "absl/strings/str_format.h"
#include "tools/bench/text.h"
#include "vfs/version.h"

namespace vfs::bench {
namespace {

// One option line: the key (lower case), its value ("" for a bare flag) and
// where it was written.
struct Option {
  std::string key;
  std::string value;
  bool has_value = false;
  int line = 0;
};

struct Section {
  std::string name;
  int line = 0;
  std::vector<Option> options;
};

constexpr const char* kSupported =
    "rw, readwrite, bs, size, numjobs, nrfiles, fsync, fdatasync, sync_file_range, sync, o_sync, "
    "end_fsync, runtime, time_based, directory, filename, ioengine, name, description, randseed, "
    "iodepth, stonewall, wait_for_previous, group_reporting, thread";

absl::StatusOr<uint64_t> PositiveCount(const Option& o, bool zero_ok) {
  // At most nine digits: every count fits, and stoull cannot overflow.
  if (o.value.empty() || o.value.find_first_not_of("0123456789") != std::string::npos ||
      o.value.size() > 9) {
    return absl::InvalidArgumentError(Cat(o.key, "=", o.value, ": not a whole number"));
  }
  const uint64_t n = std::stoull(o.value);
  if (n == 0 && !zero_ok) return absl::InvalidArgumentError(Cat(o.key, "=", o.value, ": must be at least 1"));
  return n;
}

// A fio boolean: a bare key, 1/0, true/false, yes/no, on/off.
absl::StatusOr<bool> Flag(const Option& o) {
  if (!o.has_value) return true;
  const std::string v = Lower(o.value);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  return absl::InvalidArgumentError(Cat(o.key, "=", o.value, ": use 1 or 0"));
}

// fio's runtime: seconds by default; us, ms, s, m, h.
absl::StatusOr<uint64_t> FioDuration(const Option& o) {
  std::string v = Lower(o.value);
  if (!v.empty() && v.back() == 'h') {
    Option minutes = o;
    minutes.value = v.substr(0, v.size() - 1);
    auto n = PositiveCount(minutes, true);
    if (!n.ok()) return absl::InvalidArgumentError(Cat(o.key, "=", o.value, ": not a duration"));
    constexpr uint64_t kHour = 3600ull * 1000000000ull;
    if (*n > UINT64_MAX / kHour) return absl::InvalidArgumentError(Cat(o.key, "=", o.value, ": too long"));
    return *n * kHour;
  }
  if (v.find_first_not_of('0') == std::string::npos && !v.empty()) return 0;  // fio: no limit
  auto ns = ParseDurationNanos(v);
  if (!ns.ok()) return absl::InvalidArgumentError(Cat(o.key, "=", o.value, ": ", ns.status().message()));
  return *ns;
}

std::string DirOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

// What a job's fio options say, before they become a Job.
struct Settings {
  std::string name;
  bool random = false;
  std::optional<uint64_t> bs, size;
  uint64_t numjobs = 1, nrfiles = 1;
  std::vector<std::pair<std::string, std::string>> strategies;  // (option, vfs bench sync spec)
  uint64_t runtime_ns = 0;
  bool time_based = false;
  std::string directory;
  std::string filename;
  std::optional<uint64_t> seed;
  bool stonewall = false;
};

absl::Status Apply(const Option& o, Settings* s) {
  const std::string& k = o.key;
  const std::string v = Lower(o.value);
  // A later line of the same option replaces it (a job section overriding
  // [global]); "" clears it. Two different options stay two, an error later.
  auto set_strategy = [&](std::string spec) {
    std::erase_if(s->strategies, [&](const auto& p) { return p.first == k; });
    if (!spec.empty()) s->strategies.emplace_back(k, std::move(spec));
  };
  if (k == "rw" || k == "readwrite") {
    if (v == "write") {
      s->random = false;
    } else if (v == "randwrite") {
      s->random = true;
    } else {
      return absl::InvalidArgumentError(
          Cat(k, "=", o.value, ": only write and randwrite are supported (vfs bench measures writes)"));
    }
  } else if (k == "bs" || k == "size") {
    if (o.value.find_first_of(",:%") != std::string::npos) {
      return absl::InvalidArgumentError(Cat(k, "=", o.value, ": one size only (no ranges, lists or percentages)"));
    }
    auto bytes = ParseBytes(o.value);
    if (!bytes.ok()) return absl::InvalidArgumentError(Cat(k, "=", o.value, ": ", bytes.status().message()));
    if (*bytes == 0) return absl::InvalidArgumentError(Cat(k, "=", o.value, ": must be at least 1 byte"));
    (k == "bs" ? s->bs : s->size) = *bytes;
  } else if (k == "numjobs" || k == "nrfiles") {
    auto n = PositiveCount(o, false);
    if (!n.ok()) return n.status();
    (k == "numjobs" ? s->numjobs : s->nrfiles) = *n;
  } else if (k == "fsync" || k == "fdatasync") {
    auto n = PositiveCount(o, true);
    if (!n.ok()) return n.status();
    set_strategy(*n == 0 ? "" : Cat(k, ":", *n));
  } else if (k == "sync_file_range") {
    const size_t colon = v.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(Cat(k, "=", o.value, ": write as FLAGS:N, e.g. write:8"));
    }
    Option count = o;
    count.value = v.substr(colon + 1);
    auto n = PositiveCount(count, false);
    if (!n.ok()) return absl::InvalidArgumentError(Cat(k, "=", o.value, ": N must be a whole number >= 1"));
    std::vector<std::string> flags;
    for (std::string_view f : Split(std::string_view(v).substr(0, colon), ',')) flags.emplace_back(Trim(f));
    std::sort(flags.begin(), flags.end());
    if (flags == std::vector<std::string>{"write"}) {
      set_strategy(Cat("sfr:", *n));
    } else if (flags == std::vector<std::string>{"wait_after", "wait_before", "write"}) {
      set_strategy(Cat("sfr:", *n, ":", *n));
    } else {
      return absl::InvalidArgumentError(
          Cat(k, "=", o.value, ": flags write or wait_before,write,wait_after only"));
    }
  } else if (k == "sync" || k == "o_sync") {
    if (!o.has_value || v == "1" || v == "sync" || v == "true") {
      set_strategy("osync");
    } else if (v == "dsync") {
      set_strategy("odsync");
    } else if (v == "0" || v == "none" || v == "false") {
      set_strategy("");
    } else {
      return absl::InvalidArgumentError(Cat(k, "=", o.value, ": use 1 (O_SYNC), dsync (O_DSYNC) or 0"));
    }
  } else if (k == "end_fsync") {
    auto b = Flag(o);
    if (!b.ok()) return b.status();
    set_strategy(*b ? "end" : "");
  } else if (k == "runtime") {
    auto ns = FioDuration(o);
    if (!ns.ok()) return ns.status();
    s->runtime_ns = *ns;
  } else if (k == "time_based") {
    auto b = Flag(o);
    if (!b.ok()) return b.status();
    s->time_based = *b;
  } else if (k == "directory") {
    if (o.value.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(Cat(k, "=", o.value, ": one directory only (no ':' lists)"));
    }
    s->directory = o.value;
  } else if (k == "filename") {
    if (o.value.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(Cat(k, "=", o.value, ": one file only (no ':' lists)"));
    }
    s->filename = o.value;
  } else if (k == "ioengine") {
    if (v != "psync" && v != "sync") {
      return absl::InvalidArgumentError(
          Cat(k, "=", o.value, ": psync or sync only (vfs bench makes one blocking write per operation)"));
    }
  } else if (k == "name") {
    s->name = o.value;
  } else if (k == "description") {
    // A comment for people reading the job file.
  } else if (k == "randseed") {
    auto n = PositiveCount(o, true);
    if (!n.ok()) return n.status();
    s->seed = *n;
  } else if (k == "iodepth") {
    if (o.value != "1") return absl::InvalidArgumentError(Cat(k, "=", o.value, ": 1 only (psync and sync have depth 1)"));
  } else if (k == "stonewall" || k == "wait_for_previous") {
    auto b = Flag(o);
    if (!b.ok()) return b.status();
    s->stonewall = *b;
  } else if (k == "group_reporting" || k == "thread") {
    auto b = Flag(o);
    if (!b.ok()) return b.status();
  } else {
    return absl::InvalidArgumentError(Cat("option '", k, "' is not supported by vfs bench --fio (supported: ",
                                          kSupported, ")"));
  }
  return absl::OkStatus();
}

// The Job for a job section's settings (`where`: "file:line: " of the section).
absl::StatusOr<Job> ToJob(const Settings& s, const std::string& section, const std::string& where,
                          const std::vector<std::string>& overrides, std::vector<std::string>* notes) {
  auto fail = [&](const std::string& message) { return absl::InvalidArgumentError(Cat(where, message)); };
  if (!s.size) return fail(Cat("job '", section, "': size= is missing (fio needs it too)"));
  if (s.strategies.size() > 1) {
    return fail(Cat("job '", section, "': ", s.strategies[0].first, " and ", s.strategies[1].first,
                    " both set a sync strategy; vfs bench runs one per job"));
  }
  if (s.time_based && s.runtime_ns == 0) return fail(Cat("job '", section, "': time_based needs runtime="));
  const uint64_t bs = s.bs.value_or(4096);
  if (*s.size % s.nrfiles != 0 || (*s.size / s.nrfiles) % bs != 0) {
    return fail(Cat("job '", section, "': size=", FormatBytes(*s.size), " is not nrfiles=", s.nrfiles,
                    " files of a whole number of bs=", FormatBytes(bs), " blocks"));
  }
  std::string dir = s.directory.empty() ? "." : s.directory;
  if (!s.filename.empty()) {
    if (s.numjobs != 1 || s.nrfiles != 1) {
      return fail(Cat("job '", section, "': filename= with numjobs or nrfiles above 1 shares one file, "
                      "which vfs bench does not model (use directory=)"));
    }
    dir = s.filename.find('/') == std::string::npos ? (s.directory.empty() ? "." : s.directory)
                                                    : DirOf(s.filename);
    notes->push_back(Cat("job '", section, "': filename=", s.filename, ": vfs bench writes its own file in ",
                         dir, " instead"));
  }
  Job job;
  std::vector<std::pair<std::string, std::string>> keys = {
      {"name", s.name.empty() ? section : s.name},
      {"backend", Cat("host:", dir)},
      {"access", s.random ? "rand" : "seq"},
      {"mode", "overwrite"},
      {"bs", std::to_string(bs)},
      {"size", std::to_string(*s.size / s.nrfiles)},
      {"threads", std::to_string(s.numjobs)},
      {"files", std::to_string(s.numjobs * s.nrfiles)},
      {"sync", s.strategies.empty() ? "none" : s.strategies[0].second},
  };
  if (s.seed) keys.emplace_back("seed", std::to_string(*s.seed));
  if (s.runtime_ns != 0) {
    keys.emplace_back("time", Cat(s.runtime_ns / 1000000, "ms"));
    // Without time_based, runtime only cuts the one pass short.
    if (!s.time_based) keys.emplace_back("ops", std::to_string(s.numjobs * (*s.size / bs)));
  }
  for (const auto& [key, value] : keys) {
    if (auto st = SetJobKey(&job, key, value); !st.ok()) return fail(Cat("job '", section, "': ", st.message()));
  }
  for (const std::string& option : overrides) {
    const size_t eq = option.find('=');
    if (eq == std::string::npos) return absl::InvalidArgumentError(Cat("'", option, "': expected key=value"));
    if (auto st = SetJobKey(&job, option.substr(0, eq), option.substr(eq + 1)); !st.ok()) return st;
  }
  if (auto st = ValidateJob(job); !st.ok()) return fail(Cat("job '", section, "': ", st.message()));
  return job;
}

std::string JsonStr(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string OptionsJson(const FioOptions& options, const std::string& indent) {
  std::string out = "{";
  for (size_t i = 0; i < options.size(); ++i) {
    out += Cat(i == 0 ? "\n" : ",\n", indent, "  ", JsonStr(options[i].first), " : ",
               JsonStr(options[i].second));
  }
  return out + (options.empty() ? "}" : Cat("\n", indent, "}"));
}

// fio's {"min", "max", "mean", "stddev", "N", "percentile"} of a histogram.
std::string LatencyJson(const Histogram& h, bool percentiles, const std::string& indent) {
  std::string out = absl::StrFormat("{\n%s  \"min\" : %u,\n%s  \"max\" : %u,\n%s  \"mean\" : %.6f,\n",
                                    indent, h.Min(), indent, h.Max(), indent, h.Count() == 0 ? 0.0 : h.Mean());
  out += absl::StrFormat("%s  \"N\" : %u", indent, h.Count());
  if (percentiles && h.Count() != 0) {
    out += Cat(",\n", indent, "  \"percentile\" : {");
    const auto& list = FioPercentiles();
    for (size_t i = 0; i < list.size(); ++i) {
      out += absl::StrFormat("%s\n%s    \"%.6f\" : %u", i == 0 ? "" : ",", indent, list[i], h.Percentile(list[i]));
    }
    out += Cat("\n", indent, "  }");
  }
  return out + Cat("\n", indent, "}");
}

// One direction ("read", "write", "trim"): what fio prints for it.
std::string DirectionJson(const JobResult* r, const std::string& indent) {
  const Histogram empty;
  const Histogram& lat = r == nullptr ? empty : r->write_latency;
  const uint64_t bytes = r == nullptr ? 0 : r->bytes;
  const double bw = r == nullptr ? 0 : r->BytesPerSecond();
  const double iops = r == nullptr ? 0 : r->OpsPerSecond();
  const uint64_t runtime_ms = r == nullptr ? 0 : r->elapsed_ns / 1000000;
  std::string out = "{\n";
  const std::string in = indent + "  ";
  out += absl::StrFormat("%s\"io_bytes\" : %u,\n%s\"io_kbytes\" : %u,\n", in, bytes, in, bytes / 1024);
  out += absl::StrFormat("%s\"bw_bytes\" : %u,\n%s\"bw\" : %u,\n", in, static_cast<uint64_t>(bw), in,
                         static_cast<uint64_t>(bw / 1024));
  out += absl::StrFormat("%s\"iops\" : %.6f,\n%s\"runtime\" : %u,\n", in, iops, in, runtime_ms);
  out += absl::StrFormat("%s\"total_ios\" : %u,\n%s\"short_ios\" : 0,\n%s\"drop_ios\" : 0,\n", in, lat.Count(),
                         in, in);
  // psync and sync submit nothing ahead of completion: fio's slat is 0 too.
  out += absl::StrFormat("%s\"slat_ns\" : {\n%s  \"min\" : 0,\n%s  \"max\" : 0,\n%s  \"mean\" : 0.0,\n%s  \"N\" : 0\n%s},\n",
                         in, in, in, in, in, in);
  out += Cat(in, "\"clat_ns\" : ", LatencyJson(lat, true, in), ",\n");
  out += Cat(in, "\"lat_ns\" : ", LatencyJson(lat, false, in), "\n");
  return out + indent + "}";
}

}  // namespace

const std::vector<double>& FioPercentiles() {
  static const std::vector<double> list = {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99};
  return list;
}

absl::StatusOr<FioJobFile> ParseFioJobFile(std::string_view text, std::string_view filename,
                                           const std::vector<std::string>& overrides) {
  std::vector<Section> sections;
  int line_no = 0;
  for (std::string_view raw : Split(text, '\n')) {
    ++line_no;
    const std::string_view line = Trim(raw);
    auto at = [&](const std::string& message) {
      return absl::InvalidArgumentError(Cat(filename, ":", line_no, ": ", message));
    };
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']' || line.size() < 3) return at(Cat("'", line, "': a section is [name]"));
      sections.push_back({std::string(Trim(line.substr(1, line.size() - 2))), line_no, {}});
      continue;
    }
    if (sections.empty()) return at(Cat("'", line, "': an option before the first [section]"));
    if (line.find('$') != std::string_view::npos) {
      return at(Cat("'", line, "': environment variables ($NAME) are not supported by vfs bench --fio"));
    }
    if (line.rfind("include ", 0) == 0) return at("include is not supported by vfs bench --fio");
    Option o;
    o.line = line_no;
    const size_t eq = line.find('=');
    o.key = Lower(Trim(line.substr(0, eq)));
    if (eq != std::string_view::npos) {
      o.value = std::string(Trim(line.substr(eq + 1)));
      o.has_value = true;
    }
    sections.back().options.push_back(std::move(o));
  }

  FioJobFile file;
  Settings global;
  bool first_job = true;
  for (const Section& section : sections) {
    const bool is_global = section.name == "global";
    Settings settings = global;
    settings.stonewall = false;  // fio: stonewall applies to the job it is in
    FioOptions own;
    for (const Option& o : section.options) {
      if (auto st = Apply(o, &settings); !st.ok()) {
        return absl::InvalidArgumentError(Cat(filename, ":", o.line, ": ", st.message()));
      }
      own.emplace_back(o.key, o.value);
    }
    if (is_global) {
      global = settings;
      global.stonewall = false;
      for (auto& kv : own) file.global.push_back(std::move(kv));
      continue;
    }
    const std::string where = Cat(filename, ":", section.line, ": ");
    if (!first_job && !settings.stonewall) {
      return absl::InvalidArgumentError(Cat(where, "job '", section.name,
                                            "' would run at the same time as the job before it under fio; "
                                            "vfs bench runs jobs in turn: add stonewall"));
    }
    first_job = false;
    auto job = ToJob(settings, section.name, where, overrides, &file.notes);
    if (!job.ok()) return job.status();
    file.jobs.push_back(*std::move(job));
    file.job_options.push_back(std::move(own));
  }
  if (file.jobs.empty()) return absl::InvalidArgumentError(Cat(filename, ": no job section (only [global])"));
  return file;
}

std::string FormatFioJson(const std::vector<JobResult>& results, const FioOptions& global,
                          const std::vector<FioOptions>& job_options, long long unix_time) {
  std::map<std::string, int> runs_of_name;
  for (const JobResult& r : results) ++runs_of_name[r.name];
  char time_text[64] = "";
  const std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(time_text, sizeof time_text, "%a %b %e %H:%M:%S %Y", &tm);
  std::string out = "{\n";
  out += Cat("  \"fio version\" : ", JsonStr(Cat("vfs-bench-", VFS_VERSION_STRING)), ",\n");
  out += Cat("  \"timestamp\" : ", unix_time, ",\n  \"timestamp_ms\" : ", unix_time * 1000, ",\n");
  out += Cat("  \"time\" : ", JsonStr(time_text), ",\n");
  out += Cat("  \"global options\" : ", OptionsJson(global, "  "), ",\n");
  out += "  \"jobs\" : [";
  for (size_t i = 0; i < results.size(); ++i) {
    const JobResult& r = results[i];
    const std::string name = runs_of_name[r.name] > 1 ? Cat(r.name, "@", r.backend) : r.name;
    out += i == 0 ? "\n" : ",\n";
    out += "    {\n";
    out += Cat("      \"jobname\" : ", JsonStr(name), ",\n      \"groupid\" : ", i,
               ",\n      \"error\" : 0,\n");
    out += Cat("      \"vfs_backend\" : ", JsonStr(r.backend), ",\n");
    out += Cat("      \"job options\" : ", OptionsJson(i < job_options.size() ? job_options[i] : FioOptions{}, "      "),
               ",\n");
    out += Cat("      \"read\" : ", DirectionJson(nullptr, "      "), ",\n");
    out += Cat("      \"write\" : ", DirectionJson(&r, "      "), ",\n");
    out += Cat("      \"trim\" : ", DirectionJson(nullptr, "      "), ",\n");
    out += Cat("      \"sync\" : {\n        \"total_ios\" : ", r.sync_latency.Count(),
               ",\n        \"lat_ns\" : ", LatencyJson(r.sync_latency, true, "        "), "\n      },\n");
    out += Cat("      \"job_runtime\" : ", r.elapsed_ns / 1000000, "\n    }");
  }
  out += results.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

}  // namespace vfs::bench
