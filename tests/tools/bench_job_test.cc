// The `vfs bench` job parser: every key, the units, the sync strategies and
// backends, the rules between keys, and the job file format. Every bad job
// must give an error that names the key and the value it could not take.
#include "tools/bench/job.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace vfs::bench {
namespace {

// Whether `text` contains `part`, showing both when it does not.
::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' is not in: " << text;
}

std::string ErrorOf(const std::vector<std::string>& args) {
  auto job = ParseJobArgs(args);
  EXPECT_FALSE(job.ok()) << "expected an error for " << args.front();
  return std::string(job.status().message());
}

std::string FileErrorOf(const std::string& text, const std::vector<std::string>& overrides = {}) {
  auto jobs = ParseJobFile(text, "jobs.ini", overrides);
  EXPECT_FALSE(jobs.ok()) << "expected an error for:\n" << text;
  return std::string(jobs.status().message());
}

TEST(BenchJob, DefaultsAreOnePassOfOneMebibyteInFourKibibyteWritesOnMemory) {
  auto job = ParseJobArgs({});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->size, 1u << 20);
  EXPECT_EQ(job->block_size, 4096u);
  EXPECT_EQ(job->access, Access::kSequential);
  EXPECT_EQ(job->mode, WriteMode::kOverwrite);
  EXPECT_EQ(job->files, 1u);
  EXPECT_EQ(job->threads, 1u);
  EXPECT_EQ(job->sync.kind, SyncStrategy::Kind::kNone);
  EXPECT_EQ(job->seed, 1u);
  ASSERT_EQ(job->backends.size(), 1u);
  EXPECT_EQ(job->backends[0].Label(), "memory");
  EXPECT_EQ(job->TotalOps(), 256u);
}

TEST(BenchJob, EveryKeySetsItsField) {
  auto job = ParseJobArgs({"name=wal", "backend=fault:hdd", "size=64k", "bs=512", "access=rand", "mode=overwrite",
                           "files=4", "threads=2", "ops=1000", "time=1500ms", "sync=fdatasync:8", "seed=42"});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->name, "wal");
  ASSERT_EQ(job->backends.size(), 1u);
  EXPECT_EQ(job->backends[0].kind, Backend::Kind::kFault);
  EXPECT_EQ(job->backends[0].arg, "hdd");
  EXPECT_EQ(job->size, 65536u);
  EXPECT_EQ(job->block_size, 512u);
  EXPECT_EQ(job->access, Access::kRandom);
  EXPECT_EQ(job->files, 4u);
  EXPECT_EQ(job->threads, 2u);
  EXPECT_EQ(job->ops, 1000u);
  EXPECT_EQ(job->duration_ns, 1'500'000'000u);
  EXPECT_EQ(job->sync.kind, SyncStrategy::Kind::kFdatasync);
  EXPECT_EQ(job->sync.every, 8u);
  EXPECT_EQ(job->seed, 42u);

  auto append = ParseJobArgs({"mode=append", "access=seq"});
  ASSERT_TRUE(append.ok()) << append.status();
  EXPECT_EQ(append->mode, WriteMode::kAppend);
  EXPECT_EQ(append->access, Access::kSequential);
}

TEST(BenchJob, EveryKeyIsListedWithHelp) {
  std::vector<std::string> keys;
  for (const auto& [key, help] : JobKeys()) {
    keys.push_back(key);
    EXPECT_FALSE(help.empty()) << key;
    // Each listed key is one SetJobKey knows: an unknown key would say so.
    Job job;
    const absl::Status st = SetJobKey(&job, key, "?");
    EXPECT_EQ(std::string(st.message()).find("unknown key"), std::string::npos) << key << ": " << st;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "backend", "size", "bs", "access", "mode", "files", "threads",
                                            "ops", "time", "sync", "seed"}));
}

TEST(BenchJob, SizesTakePowerOfTwoUnitsInAnyCase) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"512", 512},          {"8b", 8},
      {"4k", 4096},          {"4K", 4096},
      {"4KiB", 4096},        {"4kb", 4096},
      {"3m", 3u << 20},      {"3MiB", 3u << 20},
      {"2g", 2ull << 30},    {"1t", 1ull << 40},
  };
  for (const auto& [text, bytes] : cases) {
    auto parsed = ParseBytes(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, bytes) << text;
  }
  EXPECT_EQ(FormatBytes(4096), "4k");
  EXPECT_EQ(FormatBytes(3u << 20), "3m");
  EXPECT_EQ(FormatBytes(1000), "1000");
}

TEST(BenchJob, DurationsTakeUnitsAndABareNumberIsSeconds) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"10", 10'000'000'000},   {"10s", 10'000'000'000}, {"1.5s", 1'500'000'000}, {"500ms", 500'000'000},
      {"250us", 250'000},       {"100ns", 100},          {"2m", 120'000'000'000},
  };
  for (const auto& [text, nanos] : cases) {
    auto parsed = ParseDurationNanos(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, nanos) << text;
  }
}

TEST(BenchJob, SyncStrategiesParseAndPrintBackTheSame) {
  const std::pair<const char*, const char*> cases[] = {
      {"none", "none"},
      {"fsync", "fsync:1"},
      {"fsync:16", "fsync:16"},
      {"fdatasync", "fdatasync:1"},
      {"fdatasync:4", "fdatasync:4"},
      {"sfr:8", "sfr:8"},
      {"sfr:8:0", "sfr:8"},
      {"sfr:1:16", "sfr:1:16"},
      {"fsync_range:dsync", "fsync_range:dsync:1"},
      {"fsync_range:sync:4", "fsync_range:sync:4"},
      {"fsync_range:nocache:2", "fsync_range:nocache:2"},
      {"odsync", "odsync"},
      {"osync", "osync"},
      {"end", "end"},
  };
  for (const auto& [spec, label] : cases) {
    auto s = ParseSyncStrategy(spec);
    ASSERT_TRUE(s.ok()) << spec << ": " << s.status();
    EXPECT_EQ(s->Label(), label) << spec;
    auto again = ParseSyncStrategy(s->Label());
    ASSERT_TRUE(again.ok()) << s->Label();
    EXPECT_EQ(*again, *s) << spec;
  }
  auto sfr = ParseSyncStrategy("sfr:4:64");
  ASSERT_TRUE(sfr.ok());
  EXPECT_EQ(sfr->kind, SyncStrategy::Kind::kSyncFileRange);
  EXPECT_EQ(sfr->every, 4u);
  EXPECT_EQ(sfr->wait_every, 64u);
  auto range = ParseSyncStrategy("fsync_range:nocache:2");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->how, SyncStrategy::RangeHow::kNoCache);
  EXPECT_EQ(range->every, 2u);
}

TEST(BenchJob, TheMatrixHasEveryStrategyOnce) {
  std::vector<std::string> labels;
  for (const SyncStrategy& s : MatrixStrategies(16)) labels.push_back(s.Label());
  EXPECT_EQ(labels, (std::vector<std::string>{"none", "end", "fsync:1", "fdatasync:1", "fsync:16", "fdatasync:16",
                                              "sfr:1:16", "fsync_range:dsync:1", "fsync_range:sync:1",
                                              "fsync_range:nocache:1", "odsync", "osync"}));
}

TEST(BenchJob, BackendsParseAloneAndAsAList) {
  auto list = ParseBackendList("memory,memory:volatile,fault:nvme,host:/dev/shm,disk:/var/tmp/vfs");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 5u);
  EXPECT_EQ((*list)[0].kind, Backend::Kind::kMemory);
  EXPECT_FALSE((*list)[0].volatile_cache);
  EXPECT_TRUE((*list)[1].volatile_cache);
  EXPECT_EQ((*list)[2].kind, Backend::Kind::kFault);
  EXPECT_EQ((*list)[3].kind, Backend::Kind::kHost);
  EXPECT_EQ((*list)[3].arg, "/dev/shm");
  EXPECT_EQ((*list)[4].kind, Backend::Kind::kDisk);
  std::vector<std::string> labels;
  for (const Backend& b : *list) labels.push_back(b.Label());
  EXPECT_EQ(labels, (std::vector<std::string>{"memory", "memory:volatile", "fault:nvme", "host:/dev/shm",
                                              "disk:/var/tmp/vfs"}));
}

// ---- Bad values: the error names the key, the value and why ----

struct BadOption {
  const char* option;
  std::vector<const char*> says;  // every one must appear in the error
};

TEST(BenchJob, BadValuesNameTheKeyTheValueAndTheReason) {
  const BadOption cases[] = {
      {"bs=4q", {"bs=4q", "unknown unit 'q'"}},
      {"bs=0", {"bs=0", "at least 1 byte"}},
      {"bs=128m", {"bs=128m", "64m limit"}},
      {"bs=k", {"bs=k", "not a size"}},
      {"size=-1", {"size=-1", "not a size"}},
      {"size=2p", {"size=2p", "unknown unit 'p'"}},
      {"size=99999999999999999999", {"size=99999999999999999999", "too large"}},
      {"files=0", {"files=0", "at least 1"}},
      {"files=two", {"files=two", "'two' is not a whole number"}},
      {"threads=2000", {"threads=2000", "limit of 1024"}},
      {"threads=1.5", {"threads=1.5", "not a whole number"}},
      {"ops=-5", {"ops=-5", "not a whole number"}},
      {"ops=0", {"ops=0", "at least 1"}},
      {"time=5h", {"time=5h", "unknown unit 'h'"}},
      {"time=0", {"time=0", "longer than 0"}},
      {"time=fast", {"time=fast", "not a duration"}},
      {"seed=abc", {"seed=abc", "not a whole number"}},
      {"access=random", {"access=random", "use seq or rand"}},
      {"mode=write", {"mode=write", "use overwrite or append"}},
      {"sync=magic", {"sync=magic", "unknown strategy 'magic'"}},
      {"sync=fsync:0", {"sync=fsync:0", "at least 1"}},
      {"sync=fdatasync:x", {"sync=fdatasync:x", "'x' is not a whole number"}},
      {"sync=fsync:1:2", {"sync=fsync:1:2", "at most one count"}},
      {"sync=none:4", {"sync=none:4", "'none' takes no count"}},
      {"sync=sfr", {"sync=sfr", "needs a count"}},
      {"sync=sfr:4:x", {"sync=sfr:4:x", "WAIT_BEFORE|WRITE|WAIT_AFTER", "'x'"}},
      {"sync=fsync_range", {"sync=fsync_range", "needs a mode"}},
      {"sync=fsync_range:fast", {"sync=fsync_range:fast", "unknown fsync_range mode 'fast'"}},
      {"backend=tape", {"backend=tape", "unknown backend 'tape'"}},
      {"backend=fault:ssd", {"backend=fault:ssd", "unknown device preset 'ssd'", "nvme", "hdd"}},
      {"backend=memory,host:", {"backend=memory,host:", "'host' needs a directory"}},
      {"name=", {"name= has no value"}},
      {"bs", {"'bs' is not key=value"}},
      {"=4k", {"'=4k' has no key"}},
  };
  for (const BadOption& c : cases) {
    const std::string error = ErrorOf({c.option});
    for (const char* part : c.says) EXPECT_TRUE(Contains(error, part)) << c.option;
  }
}

TEST(BenchJob, AnUnknownKeyListsTheKeysAndPointsFioNamesToOurs) {
  const std::string error = ErrorOf({"blocksize=4k"});
  EXPECT_TRUE(Contains(error, "unknown key 'blocksize'"));
  EXPECT_TRUE(Contains(error, "use bs"));
  EXPECT_TRUE(Contains(error, "keys: name, backend, size, bs"));
  EXPECT_TRUE(Contains(ErrorOf({"numjobs=4"}), "use threads"));
  EXPECT_TRUE(Contains(ErrorOf({"colour=blue"}), "unknown key 'colour'"));
}

TEST(BenchJob, RulesBetweenKeysAreChecked) {
  EXPECT_TRUE(Contains(ErrorOf({"size=4k", "bs=8k"}), "bs=8k is larger than size=4k"));
  EXPECT_TRUE(Contains(ErrorOf({"size=10k", "bs=4k"}), "size=10k is not a multiple of bs=4k"));
  EXPECT_TRUE(Contains(ErrorOf({"access=rand", "mode=append"}), "access=rand needs mode=overwrite"));
  EXPECT_TRUE(Contains(ErrorOf({"files=1", "threads=2"}), "files=1 is fewer than threads=2"));
}

TEST(BenchJob, TotalOpsIsOnePassUnlessOpsOrTimeIsGiven) {
  auto pass = ParseJobArgs({"size=64k", "bs=4k", "files=3"});
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->TotalOps(), 48u);
  auto counted = ParseJobArgs({"ops=10", "time=1s"});
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(counted->TotalOps(), 10u);
  auto timed = ParseJobArgs({"time=1s"});
  ASSERT_TRUE(timed.ok());
  EXPECT_EQ(timed->TotalOps(), 0u);  // unbounded: the time limit stops it
}

TEST(BenchJob, DescribeParsesBackToTheSameJob) {
  auto job = ParseJobArgs({"name=j", "backend=memory,fault:hdd", "size=64k", "bs=512", "access=rand", "files=4",
                           "threads=2", "ops=100", "time=2s", "sync=sfr:2:8", "seed=7"});
  ASSERT_TRUE(job.ok()) << job.status();
  std::vector<std::string> args;
  const std::string text = job->Describe();
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  auto again = ParseJobArgs(args);
  ASSERT_TRUE(again.ok()) << again.status() << " from " << text;
  EXPECT_EQ(again->Describe(), text);
  EXPECT_EQ(again->backends, job->backends);
  EXPECT_EQ(again->sync, job->sync);
  EXPECT_EQ(again->duration_ns, job->duration_ns);
}

// ---- Job files ----

TEST(BenchJob, AFileWithoutSectionsIsOneJobAndCommentsAreIgnored) {
  auto jobs = ParseJobFile(
      "# a group-commit log\n"
      "\n"
      "size = 64k   # per file\n"
      "bs=4k\n"
      "  mode=append\n"
      "sync=fdatasync:4\r\n",
      "wal.job", {});
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  const Job& job = jobs->front();
  EXPECT_EQ(job.name, "");
  EXPECT_EQ(job.size, 65536u);
  EXPECT_EQ(job.mode, WriteMode::kAppend);
  EXPECT_EQ(job.sync.Label(), "fdatasync:4");
}

TEST(BenchJob, SectionsAreJobsThatInheritTheGlobalsAndTheCommandLineOverridesAll) {
  auto jobs = ParseJobFile(
      "backend=memory,fault:nvme\n"
      "size=32k\n"
      "bs=4k\n"
      "[every-write]\n"
      "sync=fsync\n"
      "[grouped]   # sixteen writes per fdatasync\n"
      "sync=fdatasync:16\n"
      "size=64k\n",
      "jobs.ini", {"ops=100", "bs=8k"});
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].name, "every-write");
  EXPECT_EQ((*jobs)[0].sync.Label(), "fsync:1");
  EXPECT_EQ((*jobs)[0].size, 32768u);
  EXPECT_EQ((*jobs)[0].backends.size(), 2u);
  EXPECT_EQ((*jobs)[1].name, "grouped");
  EXPECT_EQ((*jobs)[1].sync.Label(), "fdatasync:16");
  EXPECT_EQ((*jobs)[1].size, 65536u);
  for (const Job& job : *jobs) {
    EXPECT_EQ(job.ops, 100u);
    EXPECT_EQ(job.block_size, 8192u);
  }
}

TEST(BenchJob, FileErrorsNameTheFileTheLineTheKeyAndTheValue) {
  EXPECT_TRUE(Contains(FileErrorOf("size=8k\n# fine\nbs=4x\n"), "jobs.ini:3: bs=4x: unknown unit 'x'"));
  EXPECT_TRUE(Contains(FileErrorOf("[a]\nsync=fsync\n[b]\nsyncc=fsync\n"), "jobs.ini:4: unknown key 'syncc'"));
  EXPECT_TRUE(Contains(FileErrorOf("size=8k\njust words\n"), "jobs.ini:2: 'just words' is not key=value"));
  EXPECT_TRUE(Contains(FileErrorOf("[unclosed\nsize=8k\n"), "jobs.ini:1: '[unclosed' is not a section"));
  EXPECT_TRUE(Contains(FileErrorOf("[]\n"), "jobs.ini:1: '[]' is not a section"));
  // A rule between keys names the section it broke in.
  EXPECT_TRUE(Contains(FileErrorOf("size=8k\n[ok]\nbs=4k\n[bad]\nbs=16k\n"),
                       "jobs.ini:4 [bad]: bs=16k is larger than size=8k"));
  // A bad override is named as the option it is.
  EXPECT_TRUE(Contains(FileErrorOf("size=8k\n", {"threads=zero"}), "threads=zero: 'zero' is not a whole number"));
}

}  // namespace
}  // namespace vfs::bench
