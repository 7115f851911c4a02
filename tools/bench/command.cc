#include "tools/bench/command.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <vector>

#include "tools/bench/fio_job.h"
#include "tools/bench/job.h"
#include "tools/bench/report.h"
#include "tools/bench/runner.h"
#include "tools/bench/text.h"
#include "tools/input_file.h"

namespace vfs::bench {
namespace {

struct Flags {
  std::vector<std::string> job_files;
  std::vector<std::string> fio_files;  // --fio: fio job files (fio_job.h)
  bool fio_json = false;               // --output fio-json
  std::vector<std::string> options;  // key=value
  OutputFormat output = OutputFormat::kTable;
  std::string matrix_dir;
  uint64_t group = 16;
  PlotFormat plot = PlotFormat::kSvg;
  bool progress = true;
};

int UsageError(const std::string& message) {
  std::fprintf(stderr, "vfs bench: %s (vfs bench --help lists the options)\n", message.c_str());
  return 2;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

bool MakeDirs(const std::string& path) {
  std::string at;
  for (std::string_view part : Split(path, '/')) {
    at += std::string(part) + "/";
    if (part.empty() || part == ".") continue;
    if (::mkdir(at.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

std::string ShellQuote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                            "-_=:,./+%@") == std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// An executable `name` on $PATH.
bool OnPath(const char* name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  for (std::string_view dir : Split(path, ':')) {
    const std::string candidate = Cat(dir.empty() ? "." : dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Runs `gnuplot plot.gp` in `dir`; the exit status, or -1 if it could not start.
int RunGnuplot(const std::string& dir) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    ::execlp("gnuplot", "gnuplot", "plot.gp", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The jobs of the --fio files, with the fio options each was written with
// (for --output fio-json); `global` gets the [global] options.
absl::StatusOr<std::vector<Job>> LoadFioJobs(const Flags& flags, FioOptions* global,
                                             std::vector<FioOptions>* job_options) {
  std::vector<Job> jobs;
  for (const std::string& path : flags.fio_files) {
    std::string text;
    std::string why;
    if (!ReadInputFile(path, "fio job file", &text, &why)) return absl::InvalidArgumentError(why);
    auto parsed = ParseFioJobFile(text, path, flags.options);
    if (!parsed.ok()) return parsed.status();
    for (const std::string& note : parsed->notes) std::fprintf(stderr, "vfs bench: note: %s\n", note.c_str());
    for (auto& kv : parsed->global) global->push_back(std::move(kv));
    for (size_t i = 0; i < parsed->jobs.size(); ++i) {
      jobs.push_back(std::move(parsed->jobs[i]));
      job_options->push_back(std::move(parsed->job_options[i]));
    }
  }
  return jobs;
}

absl::StatusOr<std::vector<Job>> LoadJobs(const Flags& flags) {
  if (flags.job_files.empty()) {
    auto job = ParseJobArgs(flags.options);
    if (!job.ok()) return job.status();
    return std::vector<Job>{*std::move(job)};
  }
  std::vector<Job> jobs;
  for (const std::string& path : flags.job_files) {
    std::string text, why;
    if (!ReadInputFile(path, "job file", &text, &why)) return absl::InvalidArgumentError(why);
    auto parsed = ParseJobFile(text, path, flags.options);
    if (!parsed.ok()) return parsed.status();
    for (Job& job : *parsed) jobs.push_back(std::move(job));
  }
  return jobs;
}

int RunMatrix(const Flags& flags, const std::string& command) {
  for (const std::string& option : flags.options) {
    if (option.rfind("sync=", 0) == 0) return UsageError("--matrix runs every strategy: drop " + option);
  }
  if (!flags.job_files.empty() || !flags.fio_files.empty()) {
    return UsageError("--matrix takes key=value options, not --job or --fio files");
  }
  auto base = ParseJobArgs(flags.options);
  if (!base.ok()) return UsageError(std::string(base.status().message()));
  for (const Backend& backend : base->backends) {
    if (auto fits = CheckJobFits(*base, backend); !fits.ok()) {
      std::fprintf(stderr, "vfs bench: %s\n", std::string(fits.message()).c_str());
      return 1;
    }
  }
  if (!MakeDirs(flags.matrix_dir)) {
    std::fprintf(stderr, "vfs bench: cannot create %s: %s\n", flags.matrix_dir.c_str(), std::strerror(errno));
    return 1;
  }
  const std::string date = UtcNow();
  std::fprintf(stderr, "vfs bench --matrix: %s, %zu strategies on %zu backend(s)\n", base->Describe().c_str(),
               MatrixStrategies(flags.group).size(), base->backends.size());
  std::vector<JobResult> results;
  RunOptions run_options;
  run_options.progress = flags.progress;
  for (const Backend& backend : base->backends) {
    for (const SyncStrategy& sync : MatrixStrategies(flags.group)) {
      Job job = *base;
      job.sync = sync;
      auto result = RunJob(job, backend, run_options);
      if (!result.ok()) {
        std::fprintf(stderr, "vfs bench: %s\n", std::string(result.status().message()).c_str());
        return 1;
      }
      std::fprintf(stderr, "  %-16s %-22s %8s ops/s\n", result->backend.c_str(), result->sync.c_str(),
                   result->elapsed_ns == 0 ? "-" : FormatRate(result->OpsPerSecond()).c_str());
      results.push_back(*std::move(result));
    }
  }
  const std::string dir = flags.matrix_dir;
  const std::string plot_file = flags.plot == PlotFormat::kSvg ? "plot.svg" : "plot.png";
  bool written = WriteFile(dir + "/results.csv", FormatCsv(results)) &&
                 WriteFile(dir + "/results.json", FormatJson(results)) &&
                 WriteFile(dir + "/results.txt", FormatTable(results)) &&
                 WriteFile(dir + "/plot.gp", GnuplotScript(results, flags.plot, plot_file));
  bool plotted = false;
  if (!OnPath("gnuplot")) {
    std::fprintf(stderr,
                 "vfs bench: gnuplot not found: plot skipped. Install it (scripts/install-deps.sh gnuplot-nox)\n"
                 "and draw it with: cd %s && gnuplot plot.gp\n",
                 ShellQuote(dir).c_str());
  } else if (const int rc = RunGnuplot(dir); rc != 0) {
    std::fprintf(stderr, "vfs bench: gnuplot failed (exit %d): plot skipped; the script is %s/plot.gp\n", rc,
                 dir.c_str());
  } else {
    plotted = true;
  }
  written = written && WriteFile(dir + "/report.md", MatrixReport(results, date, command, plotted ? plot_file : ""));
  if (!written) {
    std::fprintf(stderr, "vfs bench: cannot write the results in %s\n", dir.c_str());
    return 1;
  }
  std::fputs(Format(results, flags.output).c_str(), stdout);
  std::fprintf(stderr, "vfs bench: wrote %s/{results.csv,results.json,results.txt,report.md,plot.gp%s}\n",
               dir.c_str(), plotted ? (std::string(",") + plot_file).c_str() : "");
  return 0;
}

}  // namespace

std::string Usage() {
  std::string out =
      "usage: vfs bench [options] [key=value ...]\n"
      "  Runs a write workload with a sync strategy on one or more backends and reports\n"
      "  throughput, latency percentiles and store counters (docs/benchmarks.md).\n"
      "\n"
      "options:\n"
      "  --job FILE        jobs from FILE: key=value lines, [name] sections, # comments;\n"
      "                    key=value arguments override every job's (repeatable)\n"
      "  --fio FILE        jobs from a fio job file: rw=write|randwrite, bs, size, numjobs,\n"
      "                    nrfiles, fsync, fdatasync, sync_file_range, sync, runtime,\n"
      "                    time_based, directory, filename, ioengine=psync|sync ([global] and\n"
      "                    job sections); any other option is an error. Runs on host:DIRECTORY\n"
      "                    unless backend=... is given (docs/benchmarks.md)\n"
      "  --output FORMAT   table (default), json, csv, or fio-json (fio's --output-format=json\n"
      "                    shape: iops, bw, clat_ns percentiles), on stdout\n"
      "  --matrix DIR      every sync strategy on each backend; writes DIR/results.csv,\n"
      "                    results.json, results.txt, report.md, plot.gp and the plot\n"
      "  --group N         N of the matrix's every-N strategies (default 16)\n"
      "  --plot svg|png    the matrix plot's format (default svg; needs gnuplot)\n"
      "  --no-progress     no progress line for jobs longer than a second\n"
      "\n"
      "keys:\n";
  for (const auto& [key, help] : JobKeys()) out += Cat("  ", key, std::string(9 - key.size(), ' '), help, "\n");
  out +=
      "\n"
      "examples:\n"
      "  vfs bench size=8m bs=4k sync=fdatasync:16\n"
      "  vfs bench backend=memory,fault:nvme,host:/dev/shm access=rand ops=20000 sync=fsync\n"
      "  vfs bench --matrix out backend=fault:nvme,fault:hdd size=4m ops=2000\n";
  return out;
}

int BenchMain(int argc, char** argv) {
  Flags flags;
  std::string command = "vfs bench";
  for (int i = 0; i < argc; ++i) command += " " + ShellQuote(argv[i]);
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    // The value of an option that takes one, or null at the end.
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "-h" || arg == "--help") {
      std::fputs(Usage().c_str(), stdout);
      return 0;
    } else if (arg == "--job") {
      const char* v = value();
      if (v == nullptr) return UsageError("--job needs a file");
      flags.job_files.push_back(v);
    } else if (arg == "--output") {
      const char* v = value();
      const std::string format = v == nullptr ? "" : v;
      if (format == "table") {
        flags.output = OutputFormat::kTable;
      } else if (format == "json") {
        flags.output = OutputFormat::kJson;
      } else if (format == "csv") {
        flags.output = OutputFormat::kCsv;
      } else if (format == "fio-json") {
        flags.output = OutputFormat::kJson;
        flags.fio_json = true;
      } else {
        return UsageError("--output " + format + ": use table, json, csv or fio-json");
      }
    } else if (arg == "--fio") {
      const char* v = value();
      if (v == nullptr) return UsageError("--fio needs a fio job file");
      flags.fio_files.push_back(v);
    } else if (arg == "--matrix") {
      const char* v = value();
      if (v == nullptr) return UsageError("--matrix needs a directory");
      flags.matrix_dir = v;
    } else if (arg == "--group") {
      const char* v = value();
      const std::string n = v == nullptr ? "" : v;
      auto job = ParseSyncStrategy("fsync:" + n);  // the same rule: a positive count
      if (!job.ok()) return UsageError("--group " + n + ": " + std::string(job.status().message()));
      flags.group = job->every;
    } else if (arg == "--plot") {
      const char* v = value();
      const std::string format = v == nullptr ? "" : v;
      if (format == "svg") {
        flags.plot = PlotFormat::kSvg;
      } else if (format == "png") {
        flags.plot = PlotFormat::kPng;
      } else {
        return UsageError("--plot " + format + ": use svg or png");
      }
    } else if (arg == "--no-progress") {
      flags.progress = false;
    } else if (arg.rfind("--", 0) == 0) {
      return UsageError("unknown option '" + arg + "'");
    } else {
      flags.options.push_back(arg);
    }
  }
  if (!flags.matrix_dir.empty()) return RunMatrix(flags, command);

  if (!flags.fio_files.empty() && !flags.job_files.empty()) return UsageError("use --fio or --job, not both");
  FioOptions fio_global;
  std::vector<FioOptions> fio_job_options;
  auto jobs = flags.fio_files.empty() ? LoadJobs(flags) : LoadFioJobs(flags, &fio_global, &fio_job_options);
  if (!jobs.ok()) return UsageError(std::string(jobs.status().message()));
  std::vector<FioOptions> result_options;  // the fio options of each result's job
  // Every job is checked before the first runs: one that cannot fit is
  // refused up front, not after the others' minutes.
  for (const Job& job : *jobs) {
    for (const Backend& backend : job.backends) {
      if (auto fits = CheckJobFits(job, backend); !fits.ok()) {
        std::fprintf(stderr, "vfs bench: %s\n", std::string(fits.message()).c_str());
        return 1;
      }
    }
  }
  RunOptions run_options;
  run_options.progress = flags.progress;
  std::vector<JobResult> results;
  for (size_t j = 0; j < jobs->size(); ++j) {
    const Job& job = (*jobs)[j];
    if (flags.output == OutputFormat::kTable) std::printf("job: %s\n", job.Describe().c_str());
    for (const Backend& backend : job.backends) {
      result_options.push_back(j < fio_job_options.size() ? fio_job_options[j] : FioOptions{});
      auto result = RunJob(job, backend, run_options);
      if (!result.ok()) {
        std::fflush(stdout);
        std::fprintf(stderr, "vfs bench: %s\n", std::string(result.status().message()).c_str());
        return 1;
      }
      results.push_back(*std::move(result));
    }
  }
  if (flags.output == OutputFormat::kTable) std::printf("\n");
  if (flags.fio_json) {
    std::fputs(FormatFioJson(results, fio_global, result_options, static_cast<long long>(std::time(nullptr))).c_str(),
               stdout);
    return 0;
  }
  std::fputs(Format(results, flags.output).c_str(), stdout);
  return 0;
}

}  // namespace vfs::bench
