// MemoryImage: contents built by applying requests, copied cheaply (pages
// shared, copied on write), and a memory store seeded from one loads what a
// store that completed the same requests loads.
#include <cstring>
#include <string>
#include <vector>

#include "backends/memory/memory_store.h"
#include "gtest/gtest.h"

namespace vfs {
namespace {

constexpr uint32_t kPageSize = 4096;
constexpr InodeId kRoot{1};
constexpr InodeId kFile{2};

PageRef Filled(char byte) {
  PageRef data = PageBuffer::Allocate(kPageSize);
  std::memset(data->data(), byte, kPageSize);
  return data;
}

InodeRecord Record(InodeId ino, uint64_t size, uint32_t mode = S_IFREG | 0644) {
  InodeRecord record;
  record.ino = ino;
  record.mode = mode;
  record.size = size;
  return record;
}

char FirstByte(const PageRef& page) { return page ? page->data()[0] : '\0'; }

// A formatted image with a root holding "f", whose record maps page 0 ('a')
// and page 1 ('b'); then page 2 ('c') written without a record (unmapped).
std::vector<Request> History() {
  return {PutSuperblock{kPageSize},
          PutInode{Record(kRoot, 0, S_IFDIR | 0755)},
          PutPage{kFile, PageIndex(0), Filled('a'), 0},
          PutPage{kFile, PageIndex(1), Filled('b'), 0},
          PutInode{Record(kFile, 2 * kPageSize)},
          PutDirent{kRoot, "f", kFile},
          PutPage{kFile, PageIndex(2), Filled('c'), 0}};
}

DurableImage LoadOf(const std::shared_ptr<Store>& store) {
  auto image = store->Load();
  EXPECT_TRUE(image.ok());
  return image.ok() ? *std::move(image) : DurableImage{};
}

// The parts of a durable image a mount reads, as text.
std::string Describe(const DurableImage& image) {
  std::string out = "page size " + std::to_string(image.page_size) + " generation " +
                    std::to_string(image.generation) + "\n";
  for (const auto& [ino, record] : image.inodes) {
    out += "inode " + std::to_string(ino.value()) + " mode " + std::to_string(record.mode) +
           " size " + std::to_string(record.size) + "\n";
  }
  for (const auto& [dir, names] : image.entries) {
    for (const auto& [name, ino] : names) {
      out += "entry " + std::to_string(dir.value()) + "/" + name + " -> " + std::to_string(ino.value()) + "\n";
    }
  }
  for (const auto& [ino, pages] : image.pages) {
    for (const auto& [index, data] : pages) {
      out += "page " + std::to_string(ino.value()) + ":" + std::to_string(index.value()) + " " +
             std::string(1, FirstByte(data)) + "\n";
    }
  }
  return out;
}

TEST(MemoryImageTest, SeededStoreLoadsWhatAStoreThatCompletedTheSameRequestsLoads) {
  MemoryImage image;
  for (const Request& r : History()) image.Apply(r);
  auto replayed = NewMemoryStore();
  auto ticket = replayed->Submit(History());
  ASSERT_TRUE(ticket.ok());
  ASSERT_TRUE(replayed->Wait(*ticket).ok());
  const std::string expected = Describe(LoadOf(replayed));
  EXPECT_EQ(Describe(LoadOf(NewMemoryStore(image))), expected);
  // D5: the page written after the last record is not in either.
  EXPECT_EQ(expected.find("page 2:2"), std::string::npos) << expected;
  EXPECT_NE(expected.find("page 2:1 b"), std::string::npos) << expected;
}

TEST(MemoryImageTest, ChangesToACopyLeaveTheOriginalAlone) {
  MemoryImage original;
  for (const Request& r : History()) original.Apply(r);
  MemoryImage copy = original;
  copy.Apply(PutPage{kFile, PageIndex(0), Filled('z'), 0});
  copy.Apply(Truncate{kFile, 10, 1});
  copy.Apply(PutInode{Record(kFile, 10)});
  copy.Apply(DelDirent{kRoot, "f"});
  EXPECT_EQ(FirstByte(copy.PageAt(kFile, PageIndex(0))), 'z');
  EXPECT_FALSE(copy.PageAt(kFile, PageIndex(1)));
  EXPECT_EQ(FirstByte(original.PageAt(kFile, PageIndex(0))), 'a');
  EXPECT_EQ(FirstByte(original.PageAt(kFile, PageIndex(1))), 'b');
  const std::string loaded = Describe(LoadOf(NewMemoryStore(original)));
  EXPECT_NE(loaded.find("entry 1/f -> 2"), std::string::npos) << loaded;
  EXPECT_NE(loaded.find("size 8192"), std::string::npos) << loaded;
}

TEST(MemoryImageTest, ACopySharesPageBuffersInsteadOfCopyingThem) {
  MemoryImage original;
  for (const Request& r : History()) original.Apply(r);
  MemoryImage copy = original;
  EXPECT_EQ(copy.PageAt(kFile, PageIndex(0)).get(), original.PageAt(kFile, PageIndex(0)).get());
}

TEST(MemoryImageTest, ARecordInACopyMapsItsPagesThereOnly) {
  MemoryImage original;
  for (const Request& r : History()) original.Apply(r);
  MemoryImage copy = original;
  copy.Apply(PutInode{Record(kFile, 3 * kPageSize)});  // maps page 2 in the copy
  EXPECT_NE(Describe(LoadOf(NewMemoryStore(copy))).find("page 2:2 c"), std::string::npos);
  // Seeding a store from the original afterwards: page 2 is still unmapped.
  EXPECT_EQ(Describe(LoadOf(NewMemoryStore(original))).find("page 2:2"), std::string::npos);
  // That load forgot page 2 in the store's copy, not in the image.
  EXPECT_EQ(FirstByte(original.PageAt(kFile, PageIndex(2))), 'c');
}

TEST(MemoryImageTest, SeededStoreTakesFurtherRequestsAndCrashesToTheSeed) {
  MemoryImage image;
  for (const Request& r : History()) image.Apply(r);
  auto store = NewMemoryStore(image, {.volatile_cache = true});
  const std::string seeded = Describe(LoadOf(store));
  store->Release();
  auto ticket = store->Submit({PutDirent{kRoot, "g", kFile}});
  ASSERT_TRUE(ticket.ok());
  ASSERT_TRUE(store->Wait(*ticket).ok());
  store->Crash();  // not flushed: gone
  EXPECT_EQ(Describe(LoadOf(store)), seeded);
}

TEST(MemoryImageTest, AMovedFromImageIsEmpty) {
  MemoryImage image;
  for (const Request& r : History()) image.Apply(r);
  MemoryImage moved = std::move(image);
  EXPECT_FALSE(image.PageAt(kFile, PageIndex(0)));  // NOLINT(bugprone-use-after-move): defined
  EXPECT_EQ(LoadOf(NewMemoryStore(image)).page_size, 0u);
  EXPECT_EQ(FirstByte(moved.PageAt(kFile, PageIndex(0))), 'a');
}

}  // namespace
}  // namespace vfs
