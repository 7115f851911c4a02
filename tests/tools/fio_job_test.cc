// `vfs bench --fio`: fio job files mapped onto the Job model (every option
// of the supported subset, [global] and job sections), every other option
// refused in a one-line error naming it, and results in fio's JSON shape.
#include "tools/bench/fio_job.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "tools/bench/histogram.h"

namespace vfs::bench {
namespace {

::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' is not in: " << text;
}

// The one job of `body` under a [global] that makes it valid.
Job OneJob(const std::string& body, const std::vector<std::string>& overrides = {}) {
  auto file = ParseFioJobFile("[global]\nsize=1m\n[job]\n" + body, "t.fio", overrides);
  EXPECT_TRUE(file.ok()) << file.status() << "\nfor:\n" << body;
  if (!file.ok() || file->jobs.size() != 1) return Job{};
  return file->jobs[0];
}

std::string ErrorOf(const std::string& text) {
  auto file = ParseFioJobFile(text, "t.fio", {});
  EXPECT_FALSE(file.ok()) << "expected an error for:\n" << text;
  const std::string message(file.status().message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  return message;
}

TEST(FioJob, GlobalOptionsAreDefaultsOfEveryJobSection) {
  auto file = ParseFioJobFile(
      "; two strategies\n"
      "[global]\n"
      "ioengine=psync\n"
      "rw=randwrite\n"
      "bs = 8k\n"
      "size=4m\n"
      "directory=/tmp/x\n"
      "\n"
      "[each]\n"
      "fdatasync=1\n"
      "# comment\n"
      "[grouped]\n"
      "stonewall\n"
      "bs=16k\n"
      "fdatasync=16\n",
      "t.fio", {});
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->jobs.size(), 2u);
  const Job& a = file->jobs[0];
  const Job& b = file->jobs[1];
  EXPECT_EQ(a.name, "each");
  EXPECT_EQ(a.access, Access::kRandom);
  EXPECT_EQ(a.mode, WriteMode::kOverwrite);
  EXPECT_EQ(a.block_size, 8192u);
  EXPECT_EQ(a.size, 4u << 20);
  EXPECT_EQ(a.sync.Label(), "fdatasync:1");
  ASSERT_EQ(a.backends.size(), 1u);
  EXPECT_EQ(a.backends[0].Label(), "host:/tmp/x");
  EXPECT_EQ(b.name, "grouped");
  EXPECT_EQ(b.block_size, 16384u);
  EXPECT_EQ(b.sync.Label(), "fdatasync:16");
  EXPECT_EQ(file->global.size(), 5u);
  ASSERT_EQ(file->job_options.size(), 2u);
  EXPECT_EQ(file->job_options[1].size(), 3u);  // stonewall, bs, fdatasync
}

TEST(FioJob, SizeIsPerFioJobSplitOverItsFilesAndNumjobsAreThreads) {
  Job job = OneJob("size=8m\nbs=4k\nnumjobs=2\nnrfiles=4\n");
  EXPECT_EQ(job.threads, 2u);
  EXPECT_EQ(job.files, 8u);
  EXPECT_EQ(job.size, 2u << 20);
  // One pass: every fio job writes its `size` once, as fio does.
  EXPECT_EQ(job.TotalOps(), 2u * (8u << 20) / 4096);
}

TEST(FioJob, ReadwriteIsAnAliasOfRwAndWriteIsSequential) {
  EXPECT_EQ(OneJob("readwrite=randwrite\n").access, Access::kRandom);
  EXPECT_EQ(OneJob("rw=write\n").access, Access::kSequential);
}

TEST(FioJob, EachSyncOptionMapsToItsStrategy) {
  EXPECT_EQ(OneJob("fsync=4\n").sync.Label(), "fsync:4");
  EXPECT_EQ(OneJob("fdatasync=1\n").sync.Label(), "fdatasync:1");
  EXPECT_EQ(OneJob("fsync=0\n").sync.Label(), "none");
  EXPECT_EQ(OneJob("sync_file_range=write:8\n").sync.Label(), "sfr:8");
  EXPECT_EQ(OneJob("sync_file_range=wait_before,write,wait_after:4\n").sync.Label(), "sfr:4:4");
  EXPECT_EQ(OneJob("sync=1\n").sync.Label(), "osync");
  EXPECT_EQ(OneJob("sync\n").sync.Label(), "osync");
  EXPECT_EQ(OneJob("O_SYNC=dsync\n").sync.Label(), "odsync");
  EXPECT_EQ(OneJob("end_fsync=1\n").sync.Label(), "end");
  EXPECT_EQ(OneJob("ioengine=sync\n").sync.Label(), "none");
}

TEST(FioJob, RuntimeAloneCutsOnePassShortAndTimeBasedLoops) {
  Job pass = OneJob("runtime=2\n");
  EXPECT_EQ(pass.duration_ns, 2'000'000'000u);
  EXPECT_EQ(pass.TotalOps(), (1u << 20) / 4096);
  Job loop = OneJob("runtime=500ms\ntime_based\n");
  EXPECT_EQ(loop.duration_ns, 500'000'000u);
  EXPECT_EQ(loop.TotalOps(), 0u);  // unbounded: the time limit stops it
  EXPECT_EQ(OneJob("runtime=1m\n").duration_ns, 60'000'000'000u);
  EXPECT_EQ(OneJob("runtime=2h\n").duration_ns, 7'200'000'000'000u);
  // fio's runtime=0 is no limit.
  EXPECT_EQ(OneJob("runtime=0\n").duration_ns, 0u);
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nruntime=99999999h\n"), "runtime=99999999h: too long"));
}

TEST(FioJob, FilesAreInTheCurrentDirectoryOnTheHostUnlessABackendIsGiven) {
  EXPECT_EQ(OneJob("").backends[0].Label(), "host:.");
  Job vfs = OneJob("directory=/tmp\n", {"backend=memory,fault:nvme"});
  ASSERT_EQ(vfs.backends.size(), 2u);
  EXPECT_EQ(vfs.backends[0].Label(), "memory");
  EXPECT_EQ(vfs.backends[1].Label(), "fault:nvme");
}

TEST(FioJob, FilenameGivesItsDirectoryAndANote) {
  auto file = ParseFioJobFile("[j]\nsize=1m\nfilename=/tmp/data.bin\n", "t.fio", {});
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->jobs[0].backends[0].Label(), "host:/tmp");
  ASSERT_EQ(file->notes.size(), 1u);
  EXPECT_TRUE(Contains(file->notes[0], "filename=/tmp/data.bin"));
}

TEST(FioJob, UnsupportedOptionIsNamedWithItsLine) {
  const std::string e = ErrorOf("[global]\nsize=1m\n[j]\ndirect=1\n");
  EXPECT_TRUE(Contains(e, "t.fio:4:"));
  EXPECT_TRUE(Contains(e, "option 'direct' is not supported"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nrate_iops=100\n"), "'rate_iops'"));
}

TEST(FioJob, UnsupportedValuesAreRefusedNamingOptionAndValue) {
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nrw=read\n"), "rw=read: only write and randwrite"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nrw=randrw\n"), "rw=randrw"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nioengine=libaio\n"), "ioengine=libaio: psync or sync only"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nbs=4k,8k\n"), "bs=4k,8k: one size only"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=50%\n"), "size=50%"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\niodepth=8\n"), "iodepth=8: 1 only"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nsync_file_range=wait_before:4\n"), "sync_file_range=wait_before:4"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nfsync=x\n"), "fsync=x: not a whole number"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nbs=3k\n"), "not nrfiles=1 files of a whole number of bs=3k"));
}

TEST(FioJob, AJobSectionReplacesTheGlobalValueOfAnOption) {
  auto file = ParseFioJobFile("[global]\nsize=1m\nfsync=1\n[j]\nfsync=4\n[k]\nstonewall\nfsync=0\nfdatasync=2\n",
                              "t.fio", {});
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->jobs[0].sync.Label(), "fsync:4");
  EXPECT_EQ(file->jobs[1].sync.Label(), "fdatasync:2");
}

TEST(FioJob, TwoStrategiesInOneJobAreRefused) {
  EXPECT_TRUE(Contains(ErrorOf("[global]\nfsync=1\n[j]\nsize=1m\nfdatasync=1\n"),
                       "fsync and fdatasync both set a sync strategy"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nsync=1\nfsync=2\n"), "sync and fsync"));
}

TEST(FioJob, JobsFioWouldRunTogetherAreRefusedWithoutStonewall) {
  EXPECT_TRUE(Contains(ErrorOf("[global]\nsize=1m\n[a]\n[b]\nfsync=1\n"), "t.fio:4: job 'b' would run at the same time"));
}

TEST(FioJob, SharedFilesAndMissingValuesAreRefused) {
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\nnumjobs=2\nfilename=/tmp/f\n"), "shares one file"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\ntime_based\n"), "time_based needs runtime="));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nbs=4k\n"), "size= is missing"));
  EXPECT_TRUE(Contains(ErrorOf("size=1m\n[j]\n"), "t.fio:1: 'size=1m': an option before the first [section]"));
  EXPECT_TRUE(Contains(ErrorOf("[global]\nsize=1m\n"), "no job section"));
  EXPECT_TRUE(Contains(ErrorOf("[j]\nsize=1m\ndirectory=$HOME\n"), "environment variables"));
}

// A result as the runner would give it: 100 writes of 4 KiB in 2 ms, each
// 10..1000 ns, every tenth followed by a 5 us fdatasync.
JobResult SampleResult() {
  JobResult r;
  r.name = "each";
  r.backend = "memory";
  r.sync = "fdatasync:10";
  r.block_size = 4096;
  for (uint64_t i = 1; i <= 100; ++i) {
    r.write_latency.Record(i * 10);
    r.latency.Record(i * 10 + (i % 10 == 0 ? 5000 : 0));
    if (i % 10 == 0) r.sync_latency.Record(5000);
  }
  r.ops = 100;
  r.bytes = 100 * 4096;
  r.elapsed_ns = 2'000'000;
  return r;
}

TEST(FioJson, HasFiosFieldNamesForIopsBandwidthAndClatPercentiles) {
  const std::string json =
      FormatFioJson({SampleResult()}, {{"rw", "write"}}, {{{"fdatasync", "10"}}}, 1700000000);
  for (std::string_view field :
       {"\"fio version\" : ", "\"timestamp\" : 1700000000", "\"global options\" : {", "\"rw\" : \"write\"",
        "\"jobs\" : [", "\"jobname\" : \"each\"", "\"job options\" : {", "\"fdatasync\" : \"10\"", "\"read\" : {",
        "\"write\" : {", "\"trim\" : {", "\"sync\" : {", "\"io_bytes\" : 409600", "\"io_kbytes\" : 400",
        "\"total_ios\" : 100", "\"clat_ns\" : {", "\"lat_ns\" : {", "\"slat_ns\" : {", "\"percentile\" : {",
        "\"1.000000\" : ", "\"99.990000\" : ", "\"job_runtime\" : 2"}) {
    EXPECT_TRUE(Contains(json, field));
  }
  // 100 writes in 2 ms: 50 000 per second, 204.8 MB/s = 200 000 KiB/s.
  EXPECT_TRUE(Contains(json, "\"iops\" : 50000.000000"));
  EXPECT_TRUE(Contains(json, "\"bw_bytes\" : 204800000"));
  EXPECT_TRUE(Contains(json, "\"bw\" : 200000,"));
  EXPECT_TRUE(Contains(json, "\"runtime\" : 2,"));
}

TEST(FioJson, ClatIsTheWriteAloneAndSyncHasTheSyncCalls) {
  const JobResult r = SampleResult();
  const std::string json = FormatFioJson({r}, {}, {}, 0);
  const size_t write = json.find("\"write\" : {");
  const size_t sync = json.find("\"sync\" : {");
  ASSERT_NE(write, std::string::npos);
  ASSERT_NE(sync, std::string::npos);
  const std::string write_part = json.substr(write, json.find("\"trim\" : {") - write);
  const std::string sync_part = json.substr(sync);
  // The write's 50th percentile is the write call's (about 500 ns), not
  // the operation's, and its maximum is 1000 ns, not 6000.
  EXPECT_TRUE(Contains(write_part, "\"50.000000\" : " + std::to_string(r.write_latency.Percentile(50))));
  EXPECT_TRUE(Contains(write_part, "\"max\" : 1000,"));
  EXPECT_TRUE(Contains(sync_part, "\"total_ios\" : 10"));
  EXPECT_TRUE(Contains(sync_part, "\"N\" : 10"));
  EXPECT_TRUE(Contains(sync_part, "\"99.000000\" : " + std::to_string(r.sync_latency.Percentile(99))));
}

TEST(FioJson, BracesAndBracketsBalanceAndSeveralBackendsGetDistinctNames) {
  JobResult a = SampleResult();
  JobResult b = SampleResult();
  b.backend = "host:/tmp";
  const std::string json = FormatFioJson({a, b}, {}, {}, 0);
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"' && (i == 0 || json[i - 1] != '\\')) in_string = !in_string;
    if (in_string) continue;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    ASSERT_GE(depth, 0) << "at " << i;
  }
  EXPECT_EQ(depth, 0);
  EXPECT_FALSE(in_string);
  EXPECT_TRUE(Contains(json, "\"jobname\" : \"each@memory\""));
  EXPECT_TRUE(Contains(json, "\"jobname\" : \"each@host:/tmp\""));
}

TEST(FioJson, PercentilesAreFiosList) {
  const std::vector<double> expected = {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99};
  EXPECT_EQ(FioPercentiles(), expected);
}

}  // namespace
}  // namespace vfs::bench
