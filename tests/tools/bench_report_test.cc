// The `vfs bench` report writers: a rate that does not exist is shown as
// such in every format, and the CSV, JSON and gnuplot script carry every
// result.
#include "tools/bench/report.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vfs::bench {
namespace {

size_t Occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::vector<JobResult> TwoResults() {
  JobResult timed;
  timed.backend = "memory:volatile";
  timed.sync = "fsync:1";
  timed.job = "backend=memory:volatile size=16k";
  timed.block_size = 4096;
  timed.ops = 4;
  timed.bytes = 4 * 4096;
  timed.elapsed_ns = 2'000'000;  // 2,000 ops/s
  for (uint64_t v : {400'000, 500'000, 500'000, 600'000}) timed.latency.Record(v);
  timed.store.available = true;
  timed.store.submits = 8;
  timed.store.requests = 8;
  timed.store.page_writes = 4;
  timed.store.bytes = 4 * 4096;
  timed.store.flushes = 4;

  JobResult untimed;  // a virtual-time job that never reached the device
  untimed.backend = "fault:hdd";
  untimed.sync = "none";
  untimed.virtual_time = true;
  untimed.ops = 4;
  untimed.bytes = 4 * 4096;
  untimed.note = "a note, with a comma";
  for (int i = 0; i < 4; ++i) untimed.latency.Record(0);
  return {timed, untimed};
}

TEST(BenchReport, TheTableGivesReadableUnitsAndADashForAMissingRate) {
  const std::string table = FormatTable(TwoResults());
  EXPECT_NE(table.find("ops/s"), std::string::npos) << table;
  EXPECT_NE(table.find("2.00k"), std::string::npos) << table;    // ops/s
  EXPECT_NE(table.find("8.19"), std::string::npos) << table;     // MB/s: 16,384 B in 2 ms
  // p50: 500,000 ns lies in the bucket [499,712, 501,759] (1/128 wide).
  EXPECT_NE(table.find("502 us"), std::string::npos) << table;
  EXPECT_NE(table.find("600 us"), std::string::npos) << table;   // max
  EXPECT_NE(table.find("16.0 KiB"), std::string::npos) << table;
  EXPECT_NE(table.find("1.00"), std::string::npos) << table;     // write amplification
  EXPECT_NE(table.find("no virtual time passed: no rate"), std::string::npos) << table;
  EXPECT_NE(table.find("fault:hdd none: a note, with a comma"), std::string::npos) << table;
}

TEST(BenchReport, CsvHasAHeaderAndOneLinePerResultWithEmptyMissingFields) {
  const std::string csv = FormatCsv(TwoResults());
  EXPECT_EQ(Occurrences(csv, "\n"), 3u) << csv;
  EXPECT_EQ(csv.find("name,backend,sync,clock,"), 0u);
  EXPECT_NE(csv.find(",memory:volatile,fsync:1,wall,1,4096,4,16384,2000000,2000,8.192e+06,"), std::string::npos)
      << csv;
  // No rate: empty fields; no counters: empty fields; a comma is quoted.
  EXPECT_NE(csv.find(",fault:hdd,none,virtual,1,0,4,16384,0,,,0,0,0,0,0,0,,,,,,,\"a note, with a comma\"\n"),
            std::string::npos)
      << csv;
}

TEST(BenchReport, JsonUsesNullForWhatDoesNotExist) {
  const std::string json = FormatJson(TwoResults());
  EXPECT_EQ(Occurrences(json, "\"backend\""), 2u);
  EXPECT_NE(json.find("\"ops_per_sec\": 2000,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"ops_per_sec\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"store\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"p50\": 501759"), std::string::npos) << json;
  EXPECT_NE(json.find("\"write_amplification\": 1}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"clock\": \"virtual\""), std::string::npos) << json;
}

TEST(BenchReport, TheGnuplotScriptHasOneBarPerBackendAndMarksMissingValues) {
  const std::string script = GnuplotScript(TwoResults(), PlotFormat::kSvg, "plot.svg");
  EXPECT_NE(script.find("set terminal svg"), std::string::npos);
  EXPECT_NE(script.find("set output 'plot.svg'"), std::string::npos);
  EXPECT_NE(script.find("strategy \"memory:volatile\" \"fault:hdd (virtual)\"\n"), std::string::npos) << script;
  // fsync:1 ran on memory only; none has no rate and a zero p99: '?'.
  EXPECT_NE(script.find("\"fsync:1\" 2000 ?\n"), std::string::npos) << script;
  EXPECT_NE(script.find("\"none\" ? ?\n"), std::string::npos) << script;
  EXPECT_NE(script.find("\"fsync:1\" 600 ?\n"), std::string::npos) << script;  // p99 in us
  EXPECT_EQ(Occurrences(script, "plot for [i=2:3]"), 2u) << script;
  EXPECT_NE(GnuplotScript(TwoResults(), PlotFormat::kPng, "plot.png").find("set terminal pngcairo"),
            std::string::npos);
}

TEST(BenchReport, TheMatrixReportHasTheDateTheCommandTheTableAndThePlot) {
  const std::string report = MatrixReport(TwoResults(), "2026-11-22 01:00 UTC", "vfs bench --matrix out", "plot.svg");
  EXPECT_NE(report.find("Date: 2026-11-22 01:00 UTC"), std::string::npos);
  EXPECT_NE(report.find("vfs bench --matrix out"), std::string::npos);
  EXPECT_NE(report.find("| backend | sync | ops |"), std::string::npos) << report;
  EXPECT_NE(report.find("| memory:volatile | fsync:1 | 4 | 2.00k |"), std::string::npos) << report;
  EXPECT_NE(report.find("](plot.svg)"), std::string::npos);
  EXPECT_NE(report.find("| fsync:1 | 2.00k/s · 600 us |"), std::string::npos) << report;
  EXPECT_EQ(MatrixReport(TwoResults(), "d", "c", "").find("]("), std::string::npos);
}

TEST(BenchReport, TheSummaryHasAStrategyPerRowAndABackendPerColumn) {
  const std::string summary = FormatMarkdownSummary(TwoResults());
  EXPECT_NE(summary.find("| sync | memory:volatile | fault:hdd |\n|---|---:|---:|\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| fsync:1 | 2.00k/s · 600 us | |\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| none | | - · 0 ns |\n"), std::string::npos) << summary;
}

TEST(BenchReport, ReadableUnits) {
  EXPECT_EQ(FormatNanos(850), "850 ns");
  EXPECT_EQ(FormatNanos(12'345), "12.3 us");
  EXPECT_EQ(FormatNanos(4'560'000), "4.56 ms");
  EXPECT_EQ(FormatNanos(1'200'000'000), "1.20 s");
  EXPECT_EQ(FormatRate(987), "987");
  EXPECT_EQ(FormatRate(12'345), "12.3k");
  EXPECT_EQ(FormatRate(1'234'567), "1.23M");
}

}  // namespace
}  // namespace vfs::bench
