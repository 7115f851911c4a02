// The fault store (backends/fault/fault_store.h) on a memory store: which
// requests a rule fails (kinds, inode, Nth match, one in N by seed), at which
// stage (submit, completion, flush), once or until cleared, in rule order;
// the recording with its event indices on a store with and without a
// volatile cache; the counters; and the device model's virtual clock.
#include "backends/fault/fault_store.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "backends/fault/device_model.h"
#include "backends/memory/memory_store.h"
#include "gtest/gtest.h"
#include "vfs/filesystem.h"

// Rules are written with designated initializers that leave the other fields
// at their defaults, as the header intends; GCC 12 warns about that anyway.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace vfs {
namespace {

constexpr uint32_t kPageSize = 4096;
constexpr InodeId kFile{2};
constexpr InodeId kOther{3};
constexpr InodeId kDir{4};

// request 1000 ns + 0.5 ns/byte (a 4096-byte page: 3048 ns), flush 10000 ns,
// two channels.
const DeviceModel kTestDevice{"test", 1000, 0.5, 10'000, 2};
constexpr uint64_t kPageCost = 1000 + kPageSize / 2;  // 3048
constexpr uint64_t kRecordCost = 1000;

PageRef Filled(char byte) {
  PageRef data = PageBuffer::Allocate(kPageSize);
  std::memset(data->data(), byte, kPageSize);
  return data;
}

InodeRecord Record(InodeId ino, uint64_t size = 0) {
  InodeRecord record;
  record.ino = ino;
  record.mode = S_IFREG | 0644;
  record.size = size;
  return record;
}

PutPage Page(InodeId ino, uint64_t index, char byte = 'p') {
  return PutPage{ino, PageIndex(index), Filled(byte), 0};
}

// A rule failing every match until cleared.
FaultRule Always(FaultRule rule) {
  rule.once = false;
  return rule;
}

// The errno of each recorded request, in order.
std::vector<int> ErrorsOf(const std::vector<RecordedRequest>& recording) {
  std::vector<int> errors;
  for (const RecordedRequest& r : recording) errors.push_back(r.error);
  return errors;
}

// A store that forwards everything, except that it can refuse submissions
// with an errno of its own, and runs a hook after each Flush has reached the
// base: a test can act while the fault store's Flush is between its start
// and its end.
class ScriptedStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  int refuse_submit = 0;
  std::function<void()> after_flush;

  Result<Ticket> Submit(std::vector<Request> requests) override {
    if (refuse_submit != 0) return Error(refuse_submit);
    return ForwardingStore::Submit(std::move(requests));
  }
  Result<void> Flush() override {
    auto flushed = ForwardingStore::Flush();
    if (after_flush) after_flush();
    return flushed;
  }
};

class FaultStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open({}, {}); }

  void Open(MemoryStoreOptions memory, FaultStoreOptions options) {
    memory_ = NewMemoryStore(memory);
    faults_ = NewFaultStore(memory_, std::move(options));
  }

  Ticket Submit(std::vector<Request> requests) {
    auto ticket = faults_->Submit(std::move(requests));
    EXPECT_TRUE(ticket.ok()) << strerror(ticket.error());
    return ticket.ok() ? *ticket : 0;
  }

  // Submits and waits; the errno Wait returned (0 for success).
  int SubmitAndWait(std::vector<Request> requests) {
    auto ticket = faults_->Submit(std::move(requests));
    if (!ticket.ok()) return ticket.error();
    return faults_->Wait(*ticket).error();
  }

  // The first byte of a page as the memory store holds it now, or '\0' for
  // none: tells whether a request was applied.
  char Held(InodeId ino, uint64_t index) {
    auto page = memory_->ReadPage(ino, PageIndex(index));
    EXPECT_TRUE(page.ok());
    return page.ok() && *page ? (*page)->data()[0] : '\0';
  }

  // The durable image, as a mount sees it after a crash.
  DurableImage CrashAndLoad() {
    faults_->Crash();
    auto image = faults_->Load();
    EXPECT_TRUE(image.ok()) << strerror(image.error());
    faults_->Release();
    return image.ok() ? *std::move(image) : DurableImage{};
  }

  std::shared_ptr<Store> memory_;
  std::shared_ptr<FaultStore> faults_;
};

// ---- Which requests a rule matches ----

TEST_F(FaultStoreTest, KindOfNamesEachRequestType) {
  EXPECT_EQ(KindOf(PutSuperblock{kPageSize}), kKindSuperblock);
  EXPECT_EQ(KindOf(Page(kFile, 0)), kKindPage);
  EXPECT_EQ(KindOf(PutInode{Record(kFile)}), kKindInode);
  EXPECT_EQ(KindOf(PutDirent{kDir, "x", kFile}), kKindDirent);
  EXPECT_EQ(KindOf(DelDirent{kDir, "x"}), kKindDirent);
  EXPECT_EQ(KindOf(vfs::Truncate{kFile, 0, 1}), kKindTruncate);
  EXPECT_EQ(KindOf(FreeInode{kFile}), kKindFree);
  EXPECT_EQ(SubjectOf(PutDirent{kDir, "x", kFile}), kDir);
  EXPECT_EQ(SubjectOf(DelDirent{kDir, "x"}), kDir);
  EXPECT_EQ(SubjectOf(PutInode{Record(kFile)}), kFile);
}

TEST_F(FaultStoreTest, KindsFilterFailsOnlyRequestsOfThoseKinds) {
  faults_->AddRule(Always({.error = EIO, .kinds = kKindInode | kKindTruncate}));
  EXPECT_EQ(SubmitAndWait({PutSuperblock{kPageSize}, Page(kFile, 0, 'a'), PutInode{Record(kFile)},
                           vfs::Truncate{kFile, 0, 1}, PutDirent{kRootInode, "f", kFile},
                           FreeInode{kOther}}),
            EIO);
  EXPECT_EQ(ErrorsOf(faults_->Recording()), (std::vector<int>{0, 0, EIO, EIO, 0, 0}));
  EXPECT_EQ(Held(kFile, 0), 'a') << "a page is not of the failing kinds: applied";
}

TEST_F(FaultStoreTest, InoFilterMatchesRequestsAboutTheInodeAndEntriesNamingIt) {
  faults_->AddRule(Always({.error = EIO, .kinds = kKindAll, .ino = kDir}));
  SubmitAndWait({
      Page(kDir, 0, 'a'),                // about kDir
      Page(kOther, 0, 'b'),              // not
      PutInode{Record(kDir)},            // about kDir
      PutInode{Record(kOther)},          // not
      PutDirent{kDir, "x", kOther},      // an entry in kDir
      DelDirent{kDir, "y"},              // an entry in kDir
      PutDirent{kRootInode, "d", kDir},  // an entry naming kDir
      PutDirent{kRootInode, "o", kOther},  // not
      vfs::Truncate{kDir, 0, 1},         // about kDir
      FreeInode{InodeId(9)},             // not
  });
  EXPECT_EQ(ErrorsOf(faults_->Recording()),
            (std::vector<int>{EIO, 0, EIO, 0, EIO, EIO, EIO, 0, EIO, 0}));
  EXPECT_EQ(Held(kDir, 0), '\0');
  EXPECT_EQ(Held(kOther, 0), 'b');
}

TEST_F(FaultStoreTest, NthFailsOnlyTheNthMatchAndOthersDoNotCount) {
  faults_->AddRule(Always({.error = EIO, .kinds = kKindPage, .nth = 3}));
  std::vector<int> waits;
  for (int i = 0; i < 5; ++i) {
    // An inode record between the pages is no match, so it does not count.
    waits.push_back(SubmitAndWait({PutInode{Record(kFile)}}));
    waits.push_back(SubmitAndWait({Page(kFile, static_cast<uint64_t>(i))}));
  }
  EXPECT_EQ(waits, (std::vector<int>{0, 0, 0, 0, 0, EIO, 0, 0, 0, 0}));
  EXPECT_EQ(faults_->Faults().failures, 1u);
  EXPECT_EQ(Held(kFile, 1), 'p');
  EXPECT_EQ(Held(kFile, 2), '\0') << "the third page write failed";
  EXPECT_EQ(Held(kFile, 3), 'p');
}

// The pages one_in/seed fails among `n` page writes of one batch.
std::vector<bool> PicksOf(uint32_t one_in, uint64_t seed, size_t n) {
  auto faults = NewFaultStore(NewMemoryStore(), {});
  faults->AddRule(Always({.error = EIO, .kinds = kKindPage, .one_in = one_in, .seed = seed}));
  std::vector<Request> requests;
  PageRef data = Filled('x');
  for (size_t i = 0; i < n; ++i) requests.push_back(PutPage{kFile, PageIndex(i), data, 0});
  auto ticket = faults->Submit(std::move(requests));
  EXPECT_TRUE(ticket.ok());
  (void)faults->Wait(*ticket);  // EIO unless nothing was picked; the recording tells
  std::vector<bool> picks;
  for (const RecordedRequest& r : faults->Recording()) picks.push_back(r.error == EIO);
  return picks;
}

TEST(FaultStoreOneInTest, SameSeedPicksTheSameRequests) {
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xdeadbeefull}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_EQ(PicksOf(4, seed, 500), PicksOf(4, seed, 500));
  }
}

TEST(FaultStoreOneInTest, DifferentSeedsPickDifferentRequests) {
  const std::vector<bool> one = PicksOf(4, 1, 500);
  EXPECT_NE(one, PicksOf(4, 2, 500));
  EXPECT_NE(one, PicksOf(4, 3, 500));
  EXPECT_NE(PicksOf(4, 2, 500), PicksOf(4, 3, 500));
}

TEST(FaultStoreOneInTest, PicksRoughlyOneInN) {
  constexpr size_t kRequests = 8000;
  for (uint32_t n : {2u, 4u, 10u}) {
    for (uint64_t seed : {7ull, 1234ull}) {
      SCOPED_TRACE("one_in " + std::to_string(n) + " seed " + std::to_string(seed));
      const std::vector<bool> picks = PicksOf(n, seed, kRequests);
      ASSERT_EQ(picks.size(), kRequests);
      const double expected = static_cast<double>(kRequests) / n;
      const double got = static_cast<double>(std::count(picks.begin(), picks.end(), true));
      EXPECT_NEAR(got, expected, expected * 0.1);
    }
  }
}

// ---- Stages ----

TEST_F(FaultStoreTest, SubmitStageFailsTheWholeCallAndForwardsNothing) {
  faults_->AddRule({.error = EIO, .stage = FaultStage::kSubmit, .kinds = kKindPage});
  auto ticket = faults_->Submit({PutInode{Record(kFile)}, Page(kFile, 0, 'a')});
  ASSERT_FALSE(ticket.ok());
  EXPECT_EQ(ticket.error(), EIO);
  EXPECT_EQ(memory_->Stats().submits, 0u) << "nothing reached the wrapped store";
  std::vector<RecordedRequest> recording = faults_->Recording();
  ASSERT_EQ(recording.size(), 2u);
  for (const RecordedRequest& r : recording) {
    EXPECT_EQ(r.ticket, 0u);
    EXPECT_EQ(r.error, EIO) << "the whole batch failed, the inode record too";
    EXPECT_EQ(r.submitted_at, 1u);
  }
  EXPECT_EQ(Held(kFile, 0), '\0');
  EXPECT_EQ(CrashAndLoad().inodes.count(kFile), 0u);
  // The rule was once: the same batch goes through now.
  EXPECT_EQ(SubmitAndWait({PutInode{Record(kFile)}, Page(kFile, 0, 'a')}), 0);
  EXPECT_EQ(Held(kFile, 0), 'a');
}

TEST_F(FaultStoreTest, CompletionStageFailsTheTicketButAppliesTheRestOfTheBatch) {
  faults_->AddRule({.error = EIO, .stage = FaultStage::kCompletion, .kinds = kKindPage, .ino = kFile});
  const Ticket ticket =
      Submit({PutSuperblock{kPageSize}, Page(kFile, 0, 'a'), Page(kOther, 0, 'b'),
              PutInode{Record(kFile, kPageSize)}, PutInode{Record(kOther, kPageSize)}});
  ASSERT_NE(ticket, 0u) << "a completion fault lets Submit succeed";
  EXPECT_EQ(faults_->Wait(ticket).error(), EIO);
  EXPECT_EQ(faults_->Wait(ticket).error(), EIO) << "Wait again gives the same answer";
  EXPECT_EQ(Held(kFile, 0), '\0') << "the failed page was not applied";
  EXPECT_EQ(Held(kOther, 0), 'b') << "the rest of the batch was";
  DurableImage image = CrashAndLoad();
  EXPECT_EQ(image.inodes.count(kFile), 1u);
  EXPECT_EQ(image.pages[kOther].size(), 1u);
  EXPECT_EQ(image.pages[kFile].size(), 0u);
}

TEST_F(FaultStoreTest, CompletionErrorBelongsToItsOwnTicketOnly) {
  faults_->AddRule({.error = ENOSPC, .kinds = kKindPage});
  const Ticket failed = Submit({Page(kFile, 0, 'a')});
  const Ticket fine = Submit({Page(kFile, 1, 'b')});
  EXPECT_TRUE(faults_->Wait(fine).ok()) << "Wait(t) answers for t's own requests";
  EXPECT_EQ(faults_->Wait(failed).error(), ENOSPC) << "completed by the later Wait, still failed";
  EXPECT_EQ(Held(kFile, 0), '\0');
  EXPECT_EQ(Held(kFile, 1), 'b');
}

TEST_F(FaultStoreTest, FlushStageFailsFlushAndCompletedRequestsAreLostInACrash) {
  Open({.volatile_cache = true}, {});
  ASSERT_EQ(SubmitAndWait({PutSuperblock{kPageSize}}), 0);
  ASSERT_TRUE(faults_->Flush().ok());
  ASSERT_EQ(SubmitAndWait({Page(kFile, 0, 'a'), PutInode{Record(kFile, kPageSize)}}), 0);
  faults_->AddRule({.error = EIO, .stage = FaultStage::kFlush});
  EXPECT_EQ(faults_->Flush().error(), EIO);
  for (const RecordedRequest& r : faults_->Recording()) {
    if (r.index > 1) {
      EXPECT_EQ(r.durable_at, 0u) << Describe(r.request);
    }
  }
  DurableImage image = CrashAndLoad();
  EXPECT_EQ(image.page_size, kPageSize);
  EXPECT_EQ(image.inodes.count(kFile), 0u) << "completed, never flushed: lost";
  EXPECT_TRUE(image.pages[kFile].empty());
}

TEST_F(FaultStoreTest, FlushAfterAFailedFlushMakesTheCompletedRequestsDurable) {
  Open({.volatile_cache = true}, {});
  ASSERT_EQ(SubmitAndWait({PutSuperblock{kPageSize}, Page(kFile, 0, 'a'),
                           PutInode{Record(kFile, kPageSize)}}),
            0);
  faults_->AddRule({.error = EIO, .stage = FaultStage::kFlush});
  EXPECT_EQ(faults_->Flush().error(), EIO);
  EXPECT_TRUE(faults_->Flush().ok()) << "the rule was once";
  DurableImage image = CrashAndLoad();
  EXPECT_EQ(image.inodes.count(kFile), 1u);
  EXPECT_EQ(image.pages[kFile].size(), 1u);
}

TEST_F(FaultStoreTest, FlushRuleIgnoresKindsAndInoAndCountsFlushesForNth) {
  faults_->AddRule(Always({.error = EIO, .stage = FaultStage::kFlush, .kinds = kKindDirent,
                           .ino = kDir, .nth = 2}));
  EXPECT_TRUE(faults_->Flush().ok());
  EXPECT_EQ(faults_->Flush().error(), EIO);
  EXPECT_TRUE(faults_->Flush().ok());
}

TEST_F(FaultStoreTest, RulesOfOneStageDoNotFireAtAnother) {
  faults_->AddRule(Always({.error = EIO, .stage = FaultStage::kFlush, .kinds = kKindAll}));
  EXPECT_EQ(SubmitAndWait({PutSuperblock{kPageSize}, Page(kFile, 0)}), 0);
  EXPECT_EQ(faults_->Flush().error(), EIO);
  faults_->ClearRules();
  faults_->AddRule(Always({.error = EIO, .stage = FaultStage::kSubmit, .kinds = kKindAll}));
  EXPECT_TRUE(faults_->Flush().ok());
}

// ---- Once, until cleared, order, errnos ----

TEST_F(FaultStoreTest, OnceRuleFailsOnlyItsFirstMatch) {
  faults_->AddRule({.error = EIO, .kinds = kKindPage});  // once by default
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), EIO);
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), 0);
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), 0);
  EXPECT_EQ(faults_->Faults().failures, 1u);
}

TEST_F(FaultStoreTest, OnceRuleFailsOneRequestOfABatch) {
  faults_->AddRule({.error = EIO, .kinds = kKindPage});
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0, 'a'), Page(kFile, 1, 'b')}), EIO);
  EXPECT_EQ(ErrorsOf(faults_->Recording()), (std::vector<int>{EIO, 0}));
  EXPECT_EQ(Held(kFile, 1), 'b');
}

TEST_F(FaultStoreTest, RuleNotOnceFailsEveryMatchUntilCleared) {
  const uint64_t id = faults_->AddRule(Always({.error = EIO, .kinds = kKindPage}));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), EIO) << i;
  faults_->ClearRule(id);
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), 0);
  EXPECT_EQ(faults_->Faults().failures, 3u);
}

TEST_F(FaultStoreTest, ClearRuleRemovesOnlyThatRule) {
  const uint64_t pages = faults_->AddRule(Always({.error = EIO, .kinds = kKindPage}));
  const uint64_t inodes = faults_->AddRule(Always({.error = ENOSPC, .kinds = kKindInode}));
  EXPECT_NE(pages, inodes);
  faults_->ClearRule(pages);
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), 0);
  EXPECT_EQ(SubmitAndWait({PutInode{Record(kFile)}}), ENOSPC);
  faults_->ClearRule(pages);  // already gone: nothing happens
  faults_->ClearRule(inodes);
  EXPECT_EQ(SubmitAndWait({PutInode{Record(kFile)}}), 0);
}

TEST_F(FaultStoreTest, ClearRulesRemovesEveryStage) {
  faults_->AddRule(Always({.error = EIO, .stage = FaultStage::kSubmit, .kinds = kKindInode}));
  faults_->AddRule(Always({.error = EIO, .stage = FaultStage::kCompletion, .kinds = kKindPage}));
  faults_->AddRule(Always({.error = EIO, .stage = FaultStage::kFlush}));
  faults_->ClearRules();
  EXPECT_EQ(SubmitAndWait({PutInode{Record(kFile)}, Page(kFile, 0)}), 0);
  EXPECT_TRUE(faults_->Flush().ok());
  EXPECT_EQ(faults_->Faults().failures, 0u);
}

TEST_F(FaultStoreTest, FirstMatchingRuleInOrderOfAddingDecides) {
  faults_->AddRule(Always({.error = ENOSPC, .kinds = kKindPage, .ino = kFile}));
  faults_->AddRule(Always({.error = EIO, .kinds = kKindPage}));
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), ENOSPC);
  EXPECT_EQ(SubmitAndWait({Page(kOther, 0)}), EIO) << "the first rule does not match: the second";
  faults_->ClearRules();
  faults_->AddRule(Always({.error = EIO, .kinds = kKindPage}));
  faults_->AddRule(Always({.error = ENOSPC, .kinds = kKindPage, .ino = kFile}));
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), EIO);
}

TEST_F(FaultStoreTest, OnceRuleLaterInOrderWaitsUntilTheEarlierStopsMatching) {
  const uint64_t first = faults_->AddRule(Always({.error = ENOSPC, .kinds = kKindPage}));
  faults_->AddRule({.error = EDQUOT, .kinds = kKindPage});
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), ENOSPC);
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), ENOSPC);
  faults_->ClearRule(first);
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), EDQUOT) << "not consumed while the first decided";
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), 0);
}

class FaultStoreErrnoTest : public FaultStoreTest, public ::testing::WithParamInterface<int> {};

TEST_P(FaultStoreErrnoTest, EachStageAnswersTheRulesErrno) {
  const int err = GetParam();
  faults_->AddRule({.error = err, .stage = FaultStage::kSubmit});
  EXPECT_EQ(faults_->Submit({Page(kFile, 0)}).error(), err);
  faults_->AddRule({.error = err, .stage = FaultStage::kCompletion});
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), err);
  faults_->AddRule({.error = err, .stage = FaultStage::kFlush});
  EXPECT_EQ(faults_->Flush().error(), err);
  EXPECT_EQ(ErrorsOf(faults_->Recording()), (std::vector<int>{err, err}));
}

INSTANTIATE_TEST_SUITE_P(Errnos, FaultStoreErrnoTest, ::testing::Values(EIO, ENOSPC, EDQUOT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == EIO      ? "Eio"
                                              : info.param == ENOSPC ? "Enospc"
                                                                     : "Edquot");
                         });

// ---- The recording ----

TEST_F(FaultStoreTest, RecordingWithoutVolatileCacheIsDurableAtCompletion) {
  const Ticket first = Submit({PutSuperblock{kPageSize}, PutInode{Record(kFile)}});  // event 1
  const Ticket second = Submit({Page(kFile, 0)});                                     // event 2
  ASSERT_TRUE(faults_->Wait(second).ok());                                            // event 3
  ASSERT_TRUE(faults_->Flush().ok());                                                 // events 4, 5
  std::vector<RecordedRequest> recording = faults_->Recording();
  ASSERT_EQ(recording.size(), 3u);
  const Ticket tickets[] = {first, first, second};
  const uint64_t submitted[] = {1, 1, 2};
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(Describe(recording[i].request));
    EXPECT_EQ(recording[i].index, i + 1);
    EXPECT_EQ(recording[i].ticket, tickets[i]);
    EXPECT_EQ(recording[i].submitted_at, submitted[i]);
    EXPECT_EQ(recording[i].completed_at, 3u);
    EXPECT_EQ(recording[i].durable_at, 3u) << "no volatile cache: durable on completion";
    EXPECT_EQ(recording[i].error, 0);
  }
  EXPECT_TRUE(std::holds_alternative<PutSuperblock>(recording[0].request));
  EXPECT_TRUE(std::holds_alternative<PutInode>(recording[1].request));
  EXPECT_TRUE(std::holds_alternative<PutPage>(recording[2].request));
  EXPECT_EQ(faults_->Faults().events, 5u);
}

TEST_F(FaultStoreTest, RecordingWithVolatileCacheIsDurableAtTheEndOfTheNextFlush) {
  Open({.volatile_cache = true}, {});
  const Ticket first = Submit({PutSuperblock{kPageSize}});  // event 1
  ASSERT_TRUE(faults_->Wait(first).ok());                   // event 2
  const Ticket second = Submit({PutInode{Record(kFile)}});  // event 3
  ASSERT_TRUE(faults_->Flush().ok());                       // events 4, 5
  ASSERT_TRUE(faults_->Wait(second).ok());                  // event 6
  std::vector<RecordedRequest> recording = faults_->Recording();
  ASSERT_EQ(recording.size(), 2u);
  EXPECT_EQ(recording[0].submitted_at, 1u);
  EXPECT_EQ(recording[0].completed_at, 2u);
  EXPECT_EQ(recording[0].durable_at, 5u) << "the end of the flush after its completion";
  EXPECT_EQ(recording[1].submitted_at, 3u);
  EXPECT_EQ(recording[1].completed_at, 6u);
  EXPECT_EQ(recording[1].durable_at, 0u) << "in flight during the flush: not made durable by it";
  ASSERT_TRUE(faults_->Flush().ok());  // events 7, 8
  recording = faults_->Recording();
  EXPECT_EQ(recording[0].durable_at, 5u) << "unchanged";
  EXPECT_EQ(recording[1].durable_at, 8u);
}

TEST_F(FaultStoreTest, RequestCompletedAfterAFlushStartedIsNotMadeDurableByIt) {
  memory_ = NewMemoryStore({.volatile_cache = true});
  auto hooked = std::make_shared<ScriptedStore>(memory_);
  faults_ = NewFaultStore(hooked, {});
  const Ticket first = Submit({PutSuperblock{kPageSize}, PutInode{Record(kFile)}});  // 1
  ASSERT_TRUE(faults_->Wait(first).ok());                                            // 2
  const Ticket second = Submit({PutInode{Record(kOther)}});                          // 3
  // The flush starts (4), the base flushes what had completed, then `second`
  // completes (5) before the flush ends (6).
  hooked->after_flush = [&] { ASSERT_TRUE(faults_->Wait(second).ok()); };
  ASSERT_TRUE(faults_->Flush().ok());
  hooked->after_flush = nullptr;
  std::vector<RecordedRequest> recording = faults_->Recording();
  ASSERT_EQ(recording.size(), 3u);
  EXPECT_EQ(recording[0].durable_at, 6u);
  EXPECT_EQ(recording[1].durable_at, 6u);
  EXPECT_EQ(recording[2].completed_at, 5u);
  EXPECT_EQ(recording[2].durable_at, 0u);
  // The recording agrees with the store: kOther is lost in a crash now.
  DurableImage image = CrashAndLoad();
  EXPECT_EQ(image.inodes.count(kFile), 1u);
  EXPECT_EQ(image.inodes.count(kOther), 0u);
}

TEST_F(FaultStoreTest, BatchTheWrappedStoreRefusesIsRecordedButFiresNoRule) {
  auto refusing = std::make_shared<ScriptedStore>(memory_);
  faults_ = NewFaultStore(refusing, {.device = kTestDevice});
  faults_->AddRule({.error = EIO, .kinds = kKindPage});
  refusing->refuse_submit = ENOSPC;
  EXPECT_EQ(faults_->Submit({Page(kFile, 0)}).error(), ENOSPC);
  std::vector<RecordedRequest> recording = faults_->Recording();
  ASSERT_EQ(recording.size(), 1u);
  EXPECT_EQ(recording[0].error, ENOSPC);
  EXPECT_EQ(recording[0].ticket, 0u);
  EXPECT_EQ(faults_->Faults().failures, 0u);
  refusing->refuse_submit = 0;
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0)}), EIO) << "the once rule is still armed";
  EXPECT_EQ(faults_->VirtualNanos(), kPageCost) << "the refused batch cost nothing";
}

TEST_F(FaultStoreTest, FailedRequestsAreRecordedWithTheirErrnoAndNeverDurable) {
  Open({.volatile_cache = true}, {});
  faults_->AddRule({.error = ENOSPC, .stage = FaultStage::kSubmit, .kinds = kKindInode});
  EXPECT_EQ(faults_->Submit({PutInode{Record(kOther)}}).error(), ENOSPC);  // 1
  faults_->AddRule({.error = EIO, .kinds = kKindPage});
  const Ticket ticket = Submit({Page(kFile, 0), PutInode{Record(kFile)}});  // 2
  EXPECT_EQ(faults_->Wait(ticket).error(), EIO);                            // 3
  ASSERT_TRUE(faults_->Flush().ok());                                       // 4, 5
  ASSERT_TRUE(faults_->Flush().ok());                                       // 6, 7
  std::vector<RecordedRequest> recording = faults_->Recording();
  ASSERT_EQ(recording.size(), 3u);
  EXPECT_EQ(recording[0].error, ENOSPC);
  EXPECT_EQ(recording[0].ticket, 0u) << "refused at submit: no ticket";
  EXPECT_EQ(recording[0].submitted_at, 1u);
  EXPECT_EQ(recording[0].completed_at, 0u);
  EXPECT_EQ(recording[0].durable_at, 0u);
  EXPECT_EQ(recording[1].error, EIO);
  EXPECT_EQ(recording[1].ticket, ticket);
  EXPECT_EQ(recording[1].submitted_at, 2u);
  EXPECT_EQ(recording[1].completed_at, 0u) << "failed: never completed";
  EXPECT_EQ(recording[1].durable_at, 0u);
  EXPECT_EQ(recording[2].error, 0);
  EXPECT_EQ(recording[2].completed_at, 3u);
  EXPECT_EQ(recording[2].durable_at, 5u);
}

TEST_F(FaultStoreTest, RequestsInFlightAtACrashNeverCompleteInTheRecording) {
  ASSERT_EQ(SubmitAndWait({PutSuperblock{kPageSize}}), 0);  // 1, 2
  Submit({PutInode{Record(kFile)}});                         // 3, lost in the crash
  DurableImage image = CrashAndLoad();
  ASSERT_EQ(image.inodes.count(kFile), 0u);
  ASSERT_EQ(SubmitAndWait({PutInode{Record(kOther)}}), 0);  // 4, 5
  std::vector<RecordedRequest> recording = faults_->Recording();
  ASSERT_EQ(recording.size(), 3u);
  EXPECT_EQ(recording[1].completed_at, 0u) << "dropped by the crash, not completed by a later Wait";
  EXPECT_EQ(recording[1].durable_at, 0u);
  EXPECT_EQ(recording[2].completed_at, 5u);
  EXPECT_EQ(recording[2].durable_at, 5u);
}

TEST_F(FaultStoreTest, RequestsUnflushedAtACrashNeverBecomeDurableInTheRecording) {
  Open({.volatile_cache = true}, {});
  ASSERT_EQ(SubmitAndWait({PutSuperblock{kPageSize}}), 0);  // 1, 2
  ASSERT_TRUE(faults_->Flush().ok());                        // 3, 4
  ASSERT_EQ(SubmitAndWait({PutInode{Record(kFile)}}), 0);    // 5, 6: completed, not flushed
  DurableImage image = CrashAndLoad();
  ASSERT_EQ(image.inodes.count(kFile), 0u);
  ASSERT_EQ(SubmitAndWait({PutInode{Record(kOther)}}), 0);  // 7, 8
  ASSERT_TRUE(faults_->Flush().ok());                        // 9, 10
  std::vector<RecordedRequest> recording = faults_->Recording();
  ASSERT_EQ(recording.size(), 3u);
  EXPECT_EQ(recording[1].completed_at, 6u);
  EXPECT_EQ(recording[1].durable_at, 0u) << "lost in the crash, not made durable by a later flush";
  EXPECT_EQ(recording[2].durable_at, 10u);
  image = CrashAndLoad();
  EXPECT_EQ(image.inodes.count(kFile), 0u);
  EXPECT_EQ(image.inodes.count(kOther), 1u);
}

TEST_F(FaultStoreTest, WithoutRecordFaultsAndCountersStillWork) {
  Open({}, {.record = false});
  faults_->AddRule({.error = EIO, .kinds = kKindPage});
  EXPECT_EQ(SubmitAndWait({Page(kFile, 0), PutInode{Record(kFile)}}), EIO);
  EXPECT_TRUE(faults_->Recording().empty());
  EXPECT_EQ(faults_->Faults().requests, 2u);
  EXPECT_EQ(faults_->Faults().failures, 1u);
  EXPECT_EQ(Held(kFile, 0), '\0');
}

// ---- Counters ----

TEST_F(FaultStoreTest, FaultStatsCountAKnownSequenceExactly) {
  // 1, 2: four requests, two of them pages.
  ASSERT_EQ(SubmitAndWait({PutSuperblock{kPageSize}, PutInode{Record(kFile)}, Page(kFile, 0),
                           Page(kFile, 1)}),
            0);
  // 3, 4: a page failed at completion.
  faults_->AddRule({.error = EIO, .kinds = kKindPage});
  ASSERT_EQ(SubmitAndWait({Page(kFile, 2)}), EIO);
  // 5: a record refused at submit.
  faults_->AddRule({.error = EIO, .stage = FaultStage::kSubmit, .kinds = kKindInode});
  ASSERT_EQ(SubmitAndWait({PutInode{Record(kFile)}, Page(kFile, 3)}), EIO);
  // 6, 7: a flush; 8, 9: a failed flush.
  ASSERT_TRUE(faults_->Flush().ok());
  faults_->AddRule({.error = EIO, .stage = FaultStage::kFlush});
  ASSERT_EQ(faults_->Flush().error(), EIO);
  // 10: a Wait again on the failed ticket.
  ASSERT_EQ(faults_->Wait(faults_->Recording()[4].ticket).error(), EIO);
  const FaultStats stats = faults_->Faults();
  EXPECT_EQ(stats.requests, 7u);
  EXPECT_EQ(stats.page_writes, 4u);
  EXPECT_EQ(stats.bytes, 4u * kPageSize);
  EXPECT_EQ(stats.flushes, 2u);
  EXPECT_EQ(stats.failures, 3u);
  EXPECT_EQ(stats.events, 10u);
  EXPECT_EQ(stats.virtual_ns, 0u) << "no device model: the clock stays at 0";
  // The wrapped store saw only what was forwarded.
  EXPECT_EQ(memory_->Stats().submits, 2u);
  EXPECT_EQ(memory_->Stats().page_writes, 2u);
}

// ---- Device model and the virtual clock ----

TEST(DeviceModelTest, PresetsExistForEachDeviceClass) {
  const std::vector<std::string> names = {"nvme", "sata-ssd", "hdd", "network-disk"};
  EXPECT_EQ(DeviceModel::PresetNames(), names);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    std::optional<DeviceModel> model = DeviceModel::Preset(name);
    ASSERT_TRUE(model.has_value());
    EXPECT_EQ(model->name, name);
    EXPECT_GT(model->request_ns, 0u);
    EXPECT_GT(model->ns_per_byte, 0.0);
    EXPECT_GT(model->flush_ns, 0u);
    EXPECT_GE(model->queue_depth, 1u);
  }
  EXPECT_LT(DeviceModel::Preset("nvme")->request_ns, DeviceModel::Preset("sata-ssd")->request_ns);
  EXPECT_LT(DeviceModel::Preset("sata-ssd")->request_ns, DeviceModel::Preset("hdd")->request_ns);
  EXPECT_EQ(DeviceModel::Preset("hdd")->queue_depth, 1u) << "one head";
}

TEST(DeviceModelTest, UnknownPresetIsNullopt) {
  EXPECT_FALSE(DeviceModel::Preset("floppy").has_value());
  EXPECT_FALSE(DeviceModel::Preset("").has_value());
  EXPECT_FALSE(DeviceModel::Preset("NVME").has_value());
  EXPECT_FALSE(DeviceModel::Preset("nvme ").has_value());
}

TEST(DeviceClockTest, RequestsShareChannelsAndFlushWaitsForAll) {
  DeviceClock clock(kTestDevice);
  EXPECT_EQ(clock.Submit(kPageSize), kPageCost);      // channel 0: 0 -> 3048
  EXPECT_EQ(clock.Submit(kPageSize), kPageCost);      // channel 1: 0 -> 3048
  EXPECT_EQ(clock.Submit(kPageSize), 2 * kPageCost);  // channel 0: 3048 -> 6096
  EXPECT_EQ(clock.Submit(0), kPageCost + kRecordCost);  // channel 1: 3048 -> 4048
  EXPECT_EQ(clock.now_ns(), 0u) << "submitting does not move the clock";
  clock.WaitUntil(kPageCost + kRecordCost);
  EXPECT_EQ(clock.now_ns(), kPageCost + kRecordCost);
  clock.WaitUntil(kPageCost);  // already past
  EXPECT_EQ(clock.now_ns(), kPageCost + kRecordCost);
  clock.Flush();  // waits for channel 0 (6096), then 10000
  EXPECT_EQ(clock.now_ns(), 2 * kPageCost + 10'000);
  // A request starts no earlier than now.
  EXPECT_EQ(clock.Submit(0), 2 * kPageCost + 10'000 + kRecordCost);
}

TEST(DeviceClockTest, OneChannelSerializesRequests) {
  DeviceModel model = kTestDevice;
  model.queue_depth = 1;
  DeviceClock clock(model);
  EXPECT_EQ(clock.Submit(kPageSize), kPageCost);
  EXPECT_EQ(clock.Submit(kPageSize), 2 * kPageCost);
  EXPECT_EQ(clock.Submit(kPageSize), 3 * kPageCost);
  model.queue_depth = 0;  // treated as one channel
  DeviceClock zero(model);
  EXPECT_EQ(zero.Submit(kPageSize), kPageCost);
  EXPECT_EQ(zero.Submit(kPageSize), 2 * kPageCost);
}

TEST_F(FaultStoreTest, VirtualClockGivesTheTimesComputedByHand) {
  Open({}, {.device = kTestDevice});
  // Three pages on two channels: 3048, 3048, then 6096 on the first channel
  // to come free. The batch completes at 6096.
  const Ticket pages = Submit({Page(kFile, 0), Page(kFile, 1), Page(kFile, 2)});
  // A record on the other channel: 3048 + 1000.
  const Ticket record = Submit({PutInode{Record(kFile, 3 * kPageSize)}});
  EXPECT_EQ(faults_->VirtualNanos(), 0u) << "the clock moves only at Wait and Flush";
  ASSERT_TRUE(faults_->Wait(record).ok());  // completes both tickets: the later of the two
  EXPECT_EQ(faults_->VirtualNanos(), 2 * kPageCost);
  ASSERT_TRUE(faults_->Wait(pages).ok());
  EXPECT_EQ(faults_->VirtualNanos(), 2 * kPageCost) << "already complete";
  // A page submitted at 6096 runs on the channel free since 4048: 6096 + 3048.
  Submit({Page(kFile, 3)});
  // The flush waits for it without a Wait, then costs 10000.
  ASSERT_TRUE(faults_->Flush().ok());
  EXPECT_EQ(faults_->VirtualNanos(), 3 * kPageCost + 10'000);
  EXPECT_EQ(faults_->Faults().virtual_ns, 3 * kPageCost + 10'000);
  ASSERT_TRUE(faults_->Flush().ok());
  EXPECT_EQ(faults_->VirtualNanos(), 3 * kPageCost + 20'000) << "an idle flush still costs flush_ns";
}

TEST_F(FaultStoreTest, VirtualClockDoesNotMoveWithoutWaitOrFlush) {
  Open({}, {.device = DeviceModel::Preset("hdd")});
  for (int i = 0; i < 10; ++i) Submit({Page(kFile, static_cast<uint64_t>(i))});
  (void)memory_->ReadPage(kFile, PageIndex(0));
  (void)faults_->ReadPage(kFile, PageIndex(0));
  (void)faults_->Recording();
  (void)faults_->Stats();
  EXPECT_EQ(faults_->Faults().virtual_ns, 0u);
  EXPECT_EQ(faults_->VirtualNanos(), 0u);
}

TEST_F(FaultStoreTest, RequestRefusedAtSubmitCostsNoTime) {
  Open({}, {.device = kTestDevice});
  faults_->AddRule({.error = EIO, .stage = FaultStage::kSubmit});
  EXPECT_EQ(faults_->Submit({Page(kFile, 0)}).error(), EIO);
  ASSERT_EQ(SubmitAndWait({PutInode{Record(kFile)}}), 0);
  EXPECT_EQ(faults_->VirtualNanos(), kRecordCost);
}

TEST_F(FaultStoreTest, CrashFreesTheChannelsOfLostRequests) {
  Open({}, {.device = kTestDevice});
  ASSERT_EQ(SubmitAndWait({PutSuperblock{kPageSize}}), 0);  // 1000
  // Four pages in flight, lost in the crash: they must not delay what follows.
  Submit({Page(kFile, 0), Page(kFile, 1), Page(kFile, 2), Page(kFile, 3)});
  CrashAndLoad();
  EXPECT_EQ(faults_->VirtualNanos(), kRecordCost);
  ASSERT_EQ(SubmitAndWait({PutInode{Record(kFile)}}), 0);
  EXPECT_EQ(faults_->VirtualNanos(), 2 * kRecordCost);
}

// The virtual time of a small workload through a mounted filesystem.
uint64_t WorkloadNanos(const DeviceModel& device) {
  auto faults = NewFaultStore(NewMemoryStore(), {.device = device});
  Options options;
  auto now = std::make_shared<int64_t>(1'000'000);
  options.clock = [now] { return Timespec{++*now, 0}; };
  auto fs = Filesystem::Mount(faults, options).value();
  const std::string data(3 * kPageSize + 100, 'd');
  for (int i = 0; i < 4; ++i) {
    const std::string path = "/f" + std::to_string(i);
    Fd fd = fs->Open(path, O_WRONLY | O_CREAT, 0644).value();
    EXPECT_TRUE(fs->Write(fd, data.data(), data.size()).ok());
    EXPECT_TRUE(fs->Fsync(fd).ok());
    EXPECT_TRUE(fs->Close(fd).ok());
  }
  fs->Sync();
  EXPECT_TRUE(fs->Unmount().ok());
  return faults->VirtualNanos();
}

TEST(FaultStoreClockTest, TwoIdenticalRunsGiveIdenticalVirtualTimes) {
  for (const std::string& name : DeviceModel::PresetNames()) {
    SCOPED_TRACE(name);
    const uint64_t first = WorkloadNanos(*DeviceModel::Preset(name));
    EXPECT_GT(first, 0u);
    EXPECT_EQ(WorkloadNanos(*DeviceModel::Preset(name)), first);
  }
  EXPECT_LT(WorkloadNanos(*DeviceModel::Preset("nvme")), WorkloadNanos(*DeviceModel::Preset("hdd")));
}

}  // namespace
}  // namespace vfs
