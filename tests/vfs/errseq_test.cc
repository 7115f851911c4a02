// Errseq, the writeback error sequence word of rule M5, against rules W2-W4
// of docs/semantics.md (lib/errseq.c).
#include "vfs/errseq.h"

#include <cerrno>
#include <cstdint>

#include "gtest/gtest.h"

namespace vfs {
namespace {

constexpr uint32_t kErrnoMask = Errseq::kErrnoMask;
constexpr uint32_t kSeen = Errseq::kSeen;
constexpr uint32_t kCounterIncrement = Errseq::kCounterIncrement;

uint32_t Counter(uint32_t word) { return word / kCounterIncrement; }

// ---- M5: layout ----

TEST(ErrseqTest, M5LayoutIsErrnoInLow12BitsSeenAtBit12CounterFromBit13) {
  EXPECT_EQ(kErrnoMask, 4095u);
  EXPECT_EQ(kSeen, 1u << 12);
  EXPECT_EQ(kCounterIncrement, 1u << 13);
}

TEST(ErrseqTest, M5NewWordHoldsNoError) {
  Errseq e;
  EXPECT_EQ(e.raw(), 0u);
  EXPECT_FALSE(e.HasUnseenError());
}

// ---- W2: errseq_set ----

TEST(ErrseqTest, W2FirstSetStoresTheErrnoUnseenWithCounterZero) {
  Errseq e;
  e.Set(EIO);
  EXPECT_EQ(e.raw(), static_cast<uint32_t>(EIO));
  EXPECT_EQ(e.raw() & kSeen, 0u);
  EXPECT_TRUE(e.HasUnseenError());
}

TEST(ErrseqTest, W2LatestErrorOverwritesAnEarlierUnseenOne) {
  Errseq e;
  e.Set(EIO);
  e.Set(ENOSPC);
  EXPECT_EQ(e.raw() & kErrnoMask, static_cast<uint32_t>(ENOSPC));
  // Unseen, so the counter does not move (W2.2 needs SEEN).
  EXPECT_EQ(Counter(e.raw()), 0u);
  uint32_t cursor = 0;
  EXPECT_EQ(e.CheckAndAdvance(&cursor), ENOSPC);
}

TEST(ErrseqTest, W2UnseenRepeatMergesAndTheWordDoesNotChange) {
  Errseq e;
  e.Set(EIO);
  const uint32_t before = e.raw();
  e.Set(EIO);
  EXPECT_EQ(e.raw(), before);
  EXPECT_EQ(Counter(e.raw()), 0u);
}

TEST(ErrseqTest, W2UnseenRepeatIsReportedOnceToACursor) {
  Errseq e;
  e.Set(EIO);
  e.Set(EIO);
  uint32_t cursor = 0;
  EXPECT_EQ(e.CheckAndAdvance(&cursor), EIO);
  EXPECT_EQ(e.CheckAndAdvance(&cursor), 0);
}

TEST(ErrseqTest, W2SetAfterSeenIncrementsTheCounterByOneStep) {
  Errseq e;
  e.Set(EIO);
  uint32_t cursor = 0;
  ASSERT_EQ(e.CheckAndAdvance(&cursor), EIO);
  const uint32_t seen = e.raw();
  ASSERT_NE(seen & kSeen, 0u);
  e.Set(EIO);
  const uint32_t after = e.raw();
  // W2.1 clears SEEN and stores the errno; W2.2 adds one counter step.
  EXPECT_EQ(after, ((seen & ~(kErrnoMask | kSeen)) | EIO) + kCounterIncrement);
  EXPECT_EQ(after - (seen & ~kSeen), kCounterIncrement);
  EXPECT_EQ(after & kSeen, 0u);
  EXPECT_EQ(Counter(after), Counter(seen) + 1);
}

TEST(ErrseqTest, W2SameErrnoAfterSeenIsANewErrorForAnUpToDateCursor) {
  Errseq e;
  e.Set(EIO);
  uint32_t cursor = 0;
  ASSERT_EQ(e.CheckAndAdvance(&cursor), EIO);
  ASSERT_EQ(e.CheckAndAdvance(&cursor), 0);
  e.Set(EIO);
  EXPECT_EQ(e.CheckAndAdvance(&cursor), EIO);
  EXPECT_EQ(e.CheckAndAdvance(&cursor), 0);
}

TEST(ErrseqTest, W2EachSeenThenSetRoundAddsExactlyOneCounterStep) {
  Errseq e;
  uint32_t cursor = 0;
  for (uint32_t round = 0; round < 5; ++round) {
    e.Set(round % 2 == 0 ? EIO : ENOSPC);
    EXPECT_EQ(Counter(e.raw()), round) << "round " << round;
    ASSERT_NE(e.CheckAndAdvance(&cursor), 0) << "round " << round;
  }
}

TEST(ErrseqTest, W2DifferentErrnoWhileUnseenDoesNotMoveTheCounterEvenAfterEarlierRounds) {
  Errseq e;
  uint32_t cursor = 0;
  e.Set(EIO);
  ASSERT_EQ(e.CheckAndAdvance(&cursor), EIO);
  e.Set(EIO);  // counter 1, unseen
  ASSERT_EQ(Counter(e.raw()), 1u);
  e.Set(EDQUOT);  // overwrites; still unseen, so no step
  EXPECT_EQ(Counter(e.raw()), 1u);
  EXPECT_EQ(e.raw() & kErrnoMask, static_cast<uint32_t>(EDQUOT));
}

TEST(ErrseqTest, W2NonPositiveOrOversizedErrnoIsIgnored) {
  Errseq e;
  e.Set(0);
  e.Set(-EIO);
  e.Set(static_cast<int>(kErrnoMask) + 1);
  EXPECT_EQ(e.raw(), 0u);
}

// ---- W3: errseq_sample ----

TEST(ErrseqTest, W3SampleOfACleanWordIsZero) {
  Errseq e;
  EXPECT_EQ(e.Sample(), 0u);
}

TEST(ErrseqTest, W3SampleIsZeroWhileTheErrorIsUnseen) {
  Errseq e;
  e.Set(EIO);
  EXPECT_EQ(e.Sample(), 0u);
}

TEST(ErrseqTest, W3SampleIsTheWordOnceSeen) {
  Errseq e;
  e.Set(EIO);
  uint32_t cursor = 0;
  ASSERT_EQ(e.CheckAndAdvance(&cursor), EIO);
  EXPECT_EQ(e.Sample(), e.raw());
  EXPECT_EQ(e.Sample(), cursor);
  EXPECT_NE(e.Sample() & kSeen, 0u);
}

TEST(ErrseqTest, W3SampleIsZeroAgainAfterANewUnseenError) {
  Errseq e;
  e.Set(EIO);
  uint32_t cursor = 0;
  ASSERT_EQ(e.CheckAndAdvance(&cursor), EIO);
  ASSERT_NE(e.Sample(), 0u);
  e.Set(ENOSPC);
  EXPECT_EQ(e.Sample(), 0u);
}

TEST(ErrseqTest, W3OpenerSampledWhileUnseenReportsTheError) {
  Errseq e;
  e.Set(EIO);
  uint32_t late_opener = e.Sample();  // W5.3: opened after the failure
  EXPECT_EQ(e.CheckAndAdvance(&late_opener), EIO);
}

// ---- W4: errseq_check_and_advance ----

TEST(ErrseqTest, W4NoErrorReportsZeroAndLeavesTheWord) {
  Errseq e;
  uint32_t cursor = e.Sample();
  EXPECT_EQ(e.CheckAndAdvance(&cursor), 0);
  EXPECT_EQ(e.raw(), 0u);
  EXPECT_EQ(cursor, 0u);
}

TEST(ErrseqTest, W4ReportsTheErrnoOncePerCursor) {
  Errseq e;
  uint32_t cursor = e.Sample();
  e.Set(EIO);
  EXPECT_EQ(e.CheckAndAdvance(&cursor), EIO);
  EXPECT_EQ(e.CheckAndAdvance(&cursor), 0);
  EXPECT_EQ(e.CheckAndAdvance(&cursor), 0);
}

TEST(ErrseqTest, W4CheckSetsSeenAndCopiesTheWordIntoTheCursor) {
  Errseq e;
  uint32_t cursor = e.Sample();
  e.Set(EIO);
  ASSERT_FALSE(e.raw() & kSeen);
  ASSERT_EQ(e.CheckAndAdvance(&cursor), EIO);
  EXPECT_EQ(e.raw(), static_cast<uint32_t>(EIO) | kSeen);
  EXPECT_EQ(cursor, e.raw());
  EXPECT_FALSE(e.HasUnseenError());
}

TEST(ErrseqTest, W4TwoCursorsEachSeeTheErrorOnce) {
  Errseq e;
  uint32_t a = e.Sample();
  uint32_t b = e.Sample();
  e.Set(EIO);
  EXPECT_EQ(e.CheckAndAdvance(&a), EIO);
  // SEEN is set now, yet B's cursor is behind: it still sees the error (W5.1).
  EXPECT_EQ(e.CheckAndAdvance(&b), EIO);
  EXPECT_EQ(e.CheckAndAdvance(&a), 0);
  EXPECT_EQ(e.CheckAndAdvance(&b), 0);
}

TEST(ErrseqTest, W4CursorSampledAfterSeenSeesNothing) {
  Errseq e;
  uint32_t first = e.Sample();
  e.Set(EIO);
  ASSERT_EQ(e.CheckAndAdvance(&first), EIO);
  uint32_t late = e.Sample();  // W5.3: SEEN is set, later openers get 0
  EXPECT_EQ(e.CheckAndAdvance(&late), 0);
}

TEST(ErrseqTest, W4CursorSampledAfterSeenSeesTheNextError) {
  Errseq e;
  uint32_t first = e.Sample();
  e.Set(EIO);
  ASSERT_EQ(e.CheckAndAdvance(&first), EIO);
  uint32_t late = e.Sample();
  e.Set(ENOSPC);
  EXPECT_EQ(e.CheckAndAdvance(&late), ENOSPC);
  EXPECT_EQ(e.CheckAndAdvance(&first), ENOSPC);
}

TEST(ErrseqTest, W4CursorBehindSeesOnlyTheLatestOfSeveralErrors) {
  Errseq e;
  uint32_t slow = e.Sample();
  uint32_t fast = e.Sample();
  e.Set(EIO);
  ASSERT_EQ(e.CheckAndAdvance(&fast), EIO);
  e.Set(ENOSPC);
  // The slow cursor missed EIO; it gets the latest error, once.
  EXPECT_EQ(e.CheckAndAdvance(&slow), ENOSPC);
  EXPECT_EQ(e.CheckAndAdvance(&slow), 0);
  EXPECT_EQ(e.CheckAndAdvance(&fast), ENOSPC);
}

TEST(ErrseqTest, W4CheckOfASeenWordDoesNotChangeIt) {
  Errseq e;
  uint32_t a = e.Sample();
  uint32_t b = e.Sample();
  e.Set(EIO);
  ASSERT_EQ(e.CheckAndAdvance(&a), EIO);
  const uint32_t word = e.raw();
  ASSERT_EQ(e.CheckAndAdvance(&b), EIO);
  EXPECT_EQ(e.raw(), word);
}

}  // namespace
}  // namespace vfs
