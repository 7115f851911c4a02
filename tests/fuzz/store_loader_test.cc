// The store-loader fuzzer's driver (fuzz/store_loader.h) in the normal
// build: every saved input in fuzz/store_corpus and a few hundred
// pseudo-random ones (seed printed) must pass its oracles, and the driver
// must reach both outcomes, refused and mounted, so it tests something.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "fuzz/store_loader.h"
#include "gtest/gtest.h"

namespace vfs::fuzz {
namespace {

TEST(StoreLoaderTest, SavedInputsPassEveryOracle) {
  const std::filesystem::path dir = std::filesystem::path(VFS_SOURCE_DIR) / "fuzz/store_corpus";
  int inputs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string data = bytes.str();
    const StoreOutcome outcome =
        RunStoreInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    EXPECT_EQ(outcome.failure, "") << e.path();
    ++inputs;
  }
  EXPECT_GT(inputs, 0);
}

TEST(StoreLoaderTest, RandomInputsPassEveryOracleAndReachBothOutcomes) {
  const uint32_t seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  int refused = 0, mounted = 0;
  for (int i = 0; i < 300; ++i) {
    std::string data(rng() % 200, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    // Mostly structure, little damage: the second byte picks the page size,
    // the third the damage count (below 200: none).
    if (data.size() > 3) {
      data[0] = static_cast<char>(data[0] & ~2);  // the superblock and the root first
      data[2] = static_cast<char>(rng() % 200);
    }
    const StoreOutcome outcome =
        RunStoreInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    EXPECT_EQ(outcome.failure, "") << "seed " << seed << " input " << i;
    refused += !outcome.opened;
    mounted += outcome.mounted;
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(mounted, 0);
}

}  // namespace
}  // namespace vfs::fuzz
