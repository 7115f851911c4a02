// Report: `vfs bench` results as a readable table, JSON, CSV, a Markdown
// report and a gnuplot script.
//
//   std::vector<JobResult> results = ...;
//   std::fputs(FormatTable(results).c_str(), stdout);
//   WriteFile(dir + "/plot.gp", GnuplotScript(results, PlotFormat::kSvg, "plot.svg"));
//
// Units: the table gives latencies in ns/us/ms/s and rates with k/M/G
// suffixes; JSON and CSV give raw numbers (nanoseconds, bytes, per second).
// A rate that does not exist (no time elapsed: a virtual-time job that never
// reached the device) is "-" in the table, null in JSON and empty in CSV.
//
// Thread-safety: pure functions.
#ifndef TOOLS_BENCH_REPORT_H_
#define TOOLS_BENCH_REPORT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/bench/runner.h"

namespace vfs::bench {

enum class OutputFormat { kTable, kJson, kCsv };
enum class PlotFormat { kSvg, kPng };

// Aligned columns, then one line per note (virtual time, host mappings).
std::string FormatTable(const std::vector<JobResult>& results);
// The same table in Markdown, for reports and docs.
std::string FormatMarkdownTable(const std::vector<JobResult>& results);
// Markdown, one row per strategy and one column per backend, each cell
// "ops/s · p99" ("-" for a missing rate): the matrix at a glance.
std::string FormatMarkdownSummary(const std::vector<JobResult>& results);
// A JSON array with one object per result.
std::string FormatJson(const std::vector<JobResult>& results);
// A header line, then one line per result.
std::string FormatCsv(const std::vector<JobResult>& results);
std::string Format(const std::vector<JobResult>& results, OutputFormat format);

// A self-contained gnuplot script (the data inline) drawing two panels:
// throughput (operations per second) and p99 latency per strategy, one bar
// per backend, both on log scales. It writes `output_file`, relative to the
// directory gnuplot runs in.
std::string GnuplotScript(const std::vector<JobResult>& results, PlotFormat format,
                          std::string_view output_file);

// The matrix report: when and how it was made, the summary, the plot
// (`plot_file`, empty if none was drawn), the full table and the notes.
std::string MatrixReport(const std::vector<JobResult>& results, std::string_view date,
                         std::string_view command, std::string_view plot_file);

// Readable forms: 850 ns, 12.3 us, 4.56 ms, 1.20 s; 987, 12.3k, 1.23M.
std::string FormatNanos(uint64_t nanos);
std::string FormatRate(double per_second);

}  // namespace vfs::bench

#endif  // TOOLS_BENCH_REPORT_H_
