#include "backends/fault/device_model.h"

#include <algorithm>
#include <cmath>

namespace vfs {
namespace {

// Round figures for each class of device. A flush on an SSD without power
// loss protection drains its write cache; on an HDD it waits for the
// platter; a network disk pays a round trip for everything.
const DeviceModel kPresets[] = {
    {"nvme", 15'000, 0.4, 200'000, 32},              // ~2.5 GB/s, 15 us, flush 0.2 ms
    {"sata-ssd", 60'000, 2.0, 2'000'000, 32},        // ~500 MB/s, 60 us, flush 2 ms
    {"hdd", 8'000'000, 6.7, 10'000'000, 1},          // ~150 MB/s, 8 ms seek, flush 10 ms
    {"network-disk", 500'000, 4.0, 1'000'000, 64},   // ~250 MB/s, 0.5 ms round trip
};

}  // namespace

std::optional<DeviceModel> DeviceModel::Preset(std::string_view name) {
  for (const DeviceModel& preset : kPresets) {
    if (preset.name == name) return preset;
  }
  return std::nullopt;
}

std::vector<std::string> DeviceModel::PresetNames() {
  std::vector<std::string> names;
  for (const DeviceModel& preset : kPresets) names.push_back(preset.name);
  return names;
}

DeviceClock::DeviceClock(DeviceModel model)
    : model_(std::move(model)), channel_free_at_(std::max<uint32_t>(1, model_.queue_depth), 0) {}

uint64_t DeviceClock::Submit(uint64_t bytes) {
  auto channel = std::min_element(channel_free_at_.begin(), channel_free_at_.end());
  const uint64_t start = std::max(now_, *channel);
  const uint64_t cost =
      model_.request_ns + static_cast<uint64_t>(std::llround(model_.ns_per_byte * static_cast<double>(bytes)));
  *channel = start + cost;
  return *channel;
}

void DeviceClock::WaitUntil(uint64_t completion) { now_ = std::max(now_, completion); }

void DeviceClock::Flush() {
  for (uint64_t free_at : channel_free_at_) now_ = std::max(now_, free_at);
  now_ += model_.flush_ns;
}

void DeviceClock::PowerCut() { std::fill(channel_free_at_.begin(), channel_free_at_.end(), now_); }

}  // namespace vfs
