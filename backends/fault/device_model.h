// DeviceModel: a storage device's timing on a virtual clock.
//
// A request costs `request_ns` plus `ns_per_byte` for its page bytes and
// runs on the first of `queue_depth` channels to come free; a flush waits for
// every request in flight and then costs `flush_ns`. Time is virtual: the
// clock moves only when a caller waits or flushes, so two runs of the same
// workload give the same times on any machine, and sync strategies can be
// compared deterministically.
//
// The presets are round figures of their device class, not measurements of
// one device: nvme, sata-ssd, hdd, network-disk (docs/crash-testing.md).
//
// Thread-safety: none; the fault store guards its model.
#ifndef BACKENDS_FAULT_DEVICE_MODEL_H_
#define BACKENDS_FAULT_DEVICE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfs {

struct DeviceModel {
  std::string name;
  uint64_t request_ns = 0;
  double ns_per_byte = 0;
  uint64_t flush_ns = 0;
  uint32_t queue_depth = 1;

  // A preset by name, or nullopt for an unknown name.
  static std::optional<DeviceModel> Preset(std::string_view name);
  static std::vector<std::string> PresetNames();
};

// The virtual clock and the channels of one device.
class DeviceClock {
 public:
  explicit DeviceClock(DeviceModel model);

  // A request of `bytes` submitted now; returns its completion time.
  uint64_t Submit(uint64_t bytes);
  // The caller waits until `completion`: the clock moves there if behind.
  void WaitUntil(uint64_t completion);
  // A flush: waits for every channel, then the flush cost.
  void Flush();
  // A power cut: the requests in flight are gone, so every channel is free
  // now. The clock does not move.
  void PowerCut();

  uint64_t now_ns() const { return now_; }
  const DeviceModel& model() const { return model_; }

 private:
  DeviceModel model_;
  uint64_t now_ = 0;
  std::vector<uint64_t> channel_free_at_;
};

}  // namespace vfs

#endif  // BACKENDS_FAULT_DEVICE_MODEL_H_
