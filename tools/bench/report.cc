#include "tools/bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "tools/bench/text.h"

namespace vfs::bench {
namespace {

// Three significant digits: 1.23, 12.3, 123.
std::string ThreeDigits(double v) {
  if (v < 10) return absl::StrFormat("%.2f", v);
  if (v < 100) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.0f", v);
}

std::string FormatSize(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (bytes < 1024) return Cat(bytes, " B");
  if (bytes < (uint64_t{1} << 20)) return ThreeDigits(b / 1024) + " KiB";
  if (bytes < (uint64_t{1} << 30)) return ThreeDigits(b / (1 << 20)) + " MiB";
  return ThreeDigits(b / (1 << 30)) + " GiB";
}

struct Table {
  std::vector<std::string> header;
  std::vector<bool> right;  // right-aligned columns
  std::vector<std::vector<std::string>> rows;
};

Table BuildTable(const std::vector<JobResult>& results) {
  const bool named = std::any_of(results.begin(), results.end(), [](const JobResult& r) { return !r.name.empty(); });
  Table t;
  if (named) {
    t.header.push_back("job");
    t.right.push_back(false);
  }
  for (const char* h : {"backend", "sync"}) {
    t.header.push_back(h);
    t.right.push_back(false);
  }
  for (const char* h : {"ops", "ops/s", "MB/s", "p50", "p99", "p99.9", "max", "requests", "store bytes",
                        "flushes", "WA"}) {
    t.header.push_back(h);
    t.right.push_back(true);
  }
  for (const JobResult& r : results) {
    std::vector<std::string> row;
    if (named) row.push_back(r.name);
    row.push_back(r.backend);
    row.push_back(r.sync);
    row.push_back(Cat(r.ops));
    const bool rated = r.elapsed_ns != 0;
    row.push_back(rated ? FormatRate(r.OpsPerSecond()) : "-");
    row.push_back(rated ? ThreeDigits(r.BytesPerSecond() / 1e6) : "-");
    row.push_back(FormatNanos(r.latency.Percentile(50)));
    row.push_back(FormatNanos(r.latency.Percentile(99)));
    row.push_back(FormatNanos(r.latency.Percentile(99.9)));
    row.push_back(FormatNanos(r.latency.Max()));
    if (r.store.available) {
      row.push_back(Cat(r.store.requests));
      row.push_back(FormatSize(r.store.bytes));
      row.push_back(Cat(r.store.flushes));
      row.push_back(absl::StrFormat("%.2f", r.WriteAmplification()));
    } else {
      for (int i = 0; i < 4; ++i) row.push_back("-");
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::vector<std::string> Notes(const std::vector<JobResult>& results) {
  std::vector<std::string> notes;
  auto add = [&notes](std::string note) {
    if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(std::move(note));
  };
  for (const JobResult& r : results) {
    if (r.virtual_time) {
      add(Cat(r.backend,
                       ": times are virtual, from the device model's clock (deterministic with one thread)"));
      if (r.elapsed_ns == 0) {
        add(Cat(r.backend, " ", r.sync,
                         ": no request reached the device while measured, so no virtual time passed: no rate"));
      }
    }
    if (!r.store.available && r.backend.rfind("host:", 0) == 0) {
      add(Cat(r.backend, ": the kernel's own counters (requests, flushes) are not observed: -"));
    }
    if (r.backend == "memory") {
      add("memory: a store without a volatile cache: a flush has nothing to make durable, so flushes are 0");
    }
    if (r.final_sync_ns != 0) {
      add(Cat(r.backend, " ", r.sync, ": the final fsyncs took ", FormatNanos(r.final_sync_ns),
                       " (in the rate, not in the percentiles)"));
    }
    if (!r.note.empty()) add(Cat(r.backend, " ", r.sync, ": ", r.note));
  }
  return notes;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Number(double v) { return absl::StrFormat("%.6g", v); }

}  // namespace

std::string FormatNanos(uint64_t nanos) {
  const double n = static_cast<double>(nanos);
  if (nanos < 1000) return Cat(nanos, " ns");
  if (nanos < 1'000'000) return ThreeDigits(n / 1e3) + " us";
  if (nanos < 1'000'000'000) return ThreeDigits(n / 1e6) + " ms";
  return ThreeDigits(n / 1e9) + " s";
}

std::string FormatRate(double per_second) {
  if (per_second < 1000) return ThreeDigits(per_second);
  if (per_second < 1e6) return ThreeDigits(per_second / 1e3) + "k";
  if (per_second < 1e9) return ThreeDigits(per_second / 1e6) + "M";
  return ThreeDigits(per_second / 1e9) + "G";
}

std::string FormatTable(const std::vector<JobResult>& results) {
  const Table t = BuildTable(results);
  std::vector<size_t> width(t.header.size());
  for (size_t c = 0; c < t.header.size(); ++c) {
    width[c] = t.header[c].size();
    for (const auto& row : t.rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) out += "  ";
      const std::string pad(width[c] - cells[c].size(), ' ');
      out += t.right[c] ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
    }
    return out + "\n";
  };
  std::string out = line(t.header);
  for (const auto& row : t.rows) out += line(row);
  const std::vector<std::string> notes = Notes(results);
  if (!notes.empty()) out += "\n";
  for (const std::string& note : notes) out += "note: " + note + "\n";
  return out;
}

std::string FormatMarkdownTable(const std::vector<JobResult>& results) {
  const Table t = BuildTable(results);
  std::string out = "| " + Join(t.header, " | ") + " |\n|";
  for (bool right : t.right) out += right ? "---:|" : "---|";
  out += "\n";
  for (const auto& row : t.rows) out += "| " + Join(row, " | ") + " |\n";
  return out;
}

std::string FormatMarkdownSummary(const std::vector<JobResult>& results) {
  std::vector<std::string> strategies;
  std::vector<std::string> backends;
  for (const JobResult& r : results) {
    if (std::find(strategies.begin(), strategies.end(), r.sync) == strategies.end()) strategies.push_back(r.sync);
    if (std::find(backends.begin(), backends.end(), r.backend) == backends.end()) backends.push_back(r.backend);
  }
  std::string out = "| sync | " + Join(backends, " | ") + " |\n|---|";
  for (size_t i = 0; i < backends.size(); ++i) out += "---:|";
  out += "\n";
  for (const std::string& sync : strategies) {
    out += "| " + sync + " |";
    for (const std::string& backend : backends) {
      auto it = std::find_if(results.begin(), results.end(),
                             [&](const JobResult& r) { return r.sync == sync && r.backend == backend; });
      if (it == results.end()) {
        out += " |";
        continue;
      }
      out += Cat(" ", it->elapsed_ns == 0 ? std::string("-") : FormatRate(it->OpsPerSecond()) + "/s", " · ",
                 FormatNanos(it->latency.Percentile(99)), " |");
    }
    out += "\n";
  }
  return out;
}

std::string FormatJson(const std::vector<JobResult>& results) {
  std::string out = "[";
  for (size_t i = 0; i < results.size(); ++i) {
    const JobResult& r = results[i];
    const bool rated = r.elapsed_ns != 0;
    out += Cat(i == 0 ? "\n" : ",\n", "  {\"name\": ", JsonString(r.name),
                    ", \"backend\": ", JsonString(r.backend), ", \"sync\": ", JsonString(r.sync),
                    ",\n   \"job\": ", JsonString(r.job),
                    ",\n   \"clock\": ", r.virtual_time ? "\"virtual\"" : "\"wall\"",
                    ", \"threads\": ", r.threads, ", \"block_size\": ", r.block_size, ", \"ops\": ", r.ops,
                    ", \"bytes\": ", r.bytes, ", \"elapsed_ns\": ", r.elapsed_ns,
                    ", \"final_sync_ns\": ", r.final_sync_ns,
                    ",\n   \"ops_per_sec\": ", rated ? Number(r.OpsPerSecond()) : "null",
                    ", \"bytes_per_sec\": ", rated ? Number(r.BytesPerSecond()) : "null",
                    ",\n   \"latency_ns\": {\"min\": ", r.latency.Min(), ", \"mean\": ", Number(r.latency.Mean()),
                    ", \"p50\": ", r.latency.Percentile(50), ", \"p99\": ", r.latency.Percentile(99),
                    ", \"p99.9\": ", r.latency.Percentile(99.9), ", \"max\": ", r.latency.Max(), "}");
    if (r.store.available) {
      out += Cat(",\n   \"store\": {\"submits\": ", r.store.submits, ", \"requests\": ", r.store.requests,
                      ", \"page_writes\": ", r.store.page_writes, ", \"bytes\": ", r.store.bytes,
                      ", \"flushes\": ", r.store.flushes,
                      ", \"write_amplification\": ", Number(r.WriteAmplification()), "}");
    } else {
      out += Cat(",\n   \"store\": null");
    }
    out += Cat(",\n   \"note\": ", JsonString(r.note), "}");
  }
  return out + "\n]\n";
}

std::string FormatCsv(const std::vector<JobResult>& results) {
  std::string out =
      "name,backend,sync,clock,threads,block_size,ops,bytes,elapsed_ns,ops_per_sec,bytes_per_sec,"
      "p50_ns,p99_ns,p999_ns,max_ns,mean_ns,final_sync_ns,submits,requests,page_writes,store_bytes,"
      "flushes,write_amplification,note\n";
  for (const JobResult& r : results) {
    const bool rated = r.elapsed_ns != 0;
    std::vector<std::string> f = {
        CsvField(r.name), CsvField(r.backend), CsvField(r.sync), r.virtual_time ? "virtual" : "wall",
        Cat(r.threads), Cat(r.block_size), Cat(r.ops), Cat(r.bytes),
        Cat(r.elapsed_ns), rated ? Number(r.OpsPerSecond()) : "",
        rated ? Number(r.BytesPerSecond()) : "", Cat(r.latency.Percentile(50)),
        Cat(r.latency.Percentile(99)), Cat(r.latency.Percentile(99.9)),
        Cat(r.latency.Max()), Number(r.latency.Mean()), Cat(r.final_sync_ns)};
    if (r.store.available) {
      for (uint64_t v : {r.store.submits, r.store.requests, r.store.page_writes, r.store.bytes, r.store.flushes}) {
        f.push_back(Cat(v));
      }
      f.push_back(Number(r.WriteAmplification()));
    } else {
      for (int i = 0; i < 6; ++i) f.push_back("");
    }
    f.push_back(CsvField(r.note));
    out += Join(f, ",") + "\n";
  }
  return out;
}

std::string Format(const std::vector<JobResult>& results, OutputFormat format) {
  switch (format) {
    case OutputFormat::kTable: return FormatTable(results);
    case OutputFormat::kJson: return FormatJson(results);
    case OutputFormat::kCsv: return FormatCsv(results);
  }
  return "";
}

std::string GnuplotScript(const std::vector<JobResult>& results, PlotFormat format, std::string_view output_file) {
  // Strategies and backends in the order they first appear.
  std::vector<std::string> strategies;
  std::vector<std::string> backends;
  std::vector<bool> virtual_clock;
  for (const JobResult& r : results) {
    if (std::find(strategies.begin(), strategies.end(), r.sync) == strategies.end()) strategies.push_back(r.sync);
    if (std::find(backends.begin(), backends.end(), r.backend) == backends.end()) {
      backends.push_back(r.backend);
      virtual_clock.push_back(r.virtual_time);
    }
  }
  auto find = [&](const std::string& sync, const std::string& backend) -> const JobResult* {
    for (const JobResult& r : results) {
      if (r.sync == sync && r.backend == backend) return &r;
    }
    return nullptr;
  };
  // One data block per panel; '?' marks a missing bar (log scales cannot
  // show 0).
  auto block = [&](const char* name, auto value) {
    std::string out = Cat("$", name, " << EOD\nstrategy");
    for (size_t b = 0; b < backends.size(); ++b) {
      out += Cat(" \"", backends[b], virtual_clock[b] ? " (virtual)" : "", "\"");
    }
    out += "\n";
    for (const std::string& s : strategies) {
      out += Cat("\"", s, "\"");
      for (const std::string& b : backends) {
        const JobResult* r = find(s, b);
        const double v = r == nullptr ? 0 : value(*r);
        out += Cat(" ", v > 0 ? Number(v) : "?");
      }
      out += "\n";
    }
    return out + "EOD\n";
  };
  std::string out = "# Written by `vfs bench --matrix`; run: gnuplot plot.gp\n";
  if (format == PlotFormat::kSvg) {
    out += "set terminal svg size 1100,900 dynamic noenhanced font 'sans,11' background '#ffffff'\n";
  } else {
    out += "set terminal pngcairo size 1400,1100 noenhanced font 'sans,11' background '#ffffff'\n";
  }
  out += Cat("set output '", output_file, "'\n");
  out += block("ops", [](const JobResult& r) { return r.OpsPerSecond(); });
  out += block("p99", [](const JobResult& r) { return static_cast<double>(r.latency.Percentile(99)) / 1e3; });
  out +=
      "set datafile missing '?'\n"
      "set style data histograms\n"
      "set style histogram clustered gap 1\n"
      "set style fill solid 0.85 border -1\n"
      "set boxwidth 0.9\n"
      "set logscale y\n"
      "set grid ytics\n"
      "set key outside right top vertical\n"
      "set xtics rotate by 30 right nomirror\n"
      "set bmargin 7\n"
      "set lmargin 12\n"
      "set multiplot layout 2,1\n"
      "set title 'Throughput per sync strategy (operations per second, log scale; higher is better)'\n"
      "set ylabel 'ops/s'\n"
      "set ytics ('1' 1, '10' 10, '100' 100, '1k' 1e3, '10k' 1e4, '100k' 1e5, '1M' 1e6, '10M' 1e7, '100M' 1e8)\n";
  const size_t columns = backends.size() + 1;
  out += Cat("plot for [i=2:", columns, "] $ops using i:xtic(1) title columnhead(i)\n");
  out +=
      "set title 'p99 latency of one write and its sync (log scale; lower is better)'\n"
      "set ylabel 'p99'\n"
      "set ytics ('1 us' 1, '10 us' 10, '100 us' 100, '1 ms' 1e3, '10 ms' 1e4, '100 ms' 1e5, '1 s' 1e6, "
      "'10 s' 1e7)\n";
  out += Cat("plot for [i=2:", columns, "] $p99 using i:xtic(1) title columnhead(i)\n");
  out += "unset multiplot\n";
  return out;
}

std::string MatrixReport(const std::vector<JobResult>& results, std::string_view date, std::string_view command,
                         std::string_view plot_file) {
  std::string out = "# vfs bench --matrix\n\n";
  out += Cat("Date: ", date, "\n\nCommand:\n\n```sh\n", command, "\n```\n\n");
  if (!results.empty()) out += Cat("Job: `", results.front().job, "` (sync and backend vary)\n\n");
  out += "Operations per second and p99 latency of one write with its sync:\n\n";
  out += FormatMarkdownSummary(results);
  if (!plot_file.empty()) out += Cat("\n![throughput and p99 latency per strategy](", plot_file, ")\n");
  out += "\nEvery result:\n\n";
  out += FormatMarkdownTable(results);
  const std::vector<std::string> notes = Notes(results);
  if (!notes.empty()) out += "\n";
  for (const std::string& note : notes) out += "- " + note + "\n";
  return out;
}

}  // namespace vfs::bench
