#include "vfs/internal/hazard.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "vfs/internal/mutex.h"

namespace vfs::hazard {
namespace internal {
namespace {

std::atomic<Record*> g_head{nullptr};

struct Retired {
  void* object;
  void (*deleter)(void*);
};

Mutex g_retired_mu;
std::vector<Retired>& RetiredList() ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_retired_mu) {
  static auto* list = new std::vector<Retired>();  // never destroyed: usable at exit
  return *list;
}

int Membarrier(int cmd) { return static_cast<int>(::syscall(SYS_membarrier, cmd, 0, 0)); }

// Registers for expedited private membarrier once, before main.
bool SetUpAsymmetric() {
  const int supported = Membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return Membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

// A full barrier on every thread of the process that is running now.
void HeavyBarrier() {
  if (g_asymmetric) Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

bool Protected(const void* object) {
  for (Record* r = g_head.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    for (const auto& slot : r->slots) {
      if (slot.load(std::memory_order_seq_cst) == object) return true;
    }
  }
  return false;
}

// Takes the retired objects no guard protects out of the list; returns them
// and sets *left to how many stay.
std::vector<Retired> TakeUnprotected(uint64_t* left) {
  std::vector<Retired> free;
  MutexLock lock(&g_retired_mu);
  std::vector<Retired>& list = RetiredList();
  for (size_t i = 0; i < list.size();) {
    if (Protected(list[i].object)) {
      ++i;
      continue;
    }
    free.push_back(list[i]);
    list[i] = list.back();
    list.pop_back();
  }
  if (!free.empty()) g_waiting.fetch_sub(free.size(), std::memory_order_seq_cst);
  *left = list.size();
  return free;
}

// Runs the deleters outside the lock: a deleter may take other locks (an
// open file's inode lock) and may retire again.
uint64_t Reclaim() {
  uint64_t left = 0;
  for (const Retired& r : TakeUnprotected(&left)) r.deleter(r.object);
  return left;
}

// Gives the record back when its thread exits.
struct Releaser {
  Record* record = nullptr;
  ~Releaser() {
    if (record == nullptr) return;
    t_state = ThreadState{};
    record->owned.store(false, std::memory_order_release);
  }
};

}  // namespace

std::atomic<uint64_t> g_waiting{0};
bool g_asymmetric = SetUpAsymmetric();

Record* RegisterThread() {
  Record* record = nullptr;
  for (Record* r = g_head.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    bool owned = false;
    if (r->owned.compare_exchange_strong(owned, true, std::memory_order_acq_rel)) {
      record = r;
      break;
    }
  }
  if (record == nullptr) {
    record = new Record();  // never freed: a scan may be reading it
    record->owned.store(true, std::memory_order_relaxed);
    Record* head = g_head.load(std::memory_order_relaxed);
    do {
      record->next = head;
    } while (!g_head.compare_exchange_weak(head, record, std::memory_order_release,
                                           std::memory_order_relaxed));
  }
  static thread_local Releaser releaser;
  releaser.record = record;
  return record;
}

void ClearSlow(std::atomic<const void*>* slot) {
  (void)slot;  // already cleared; the scan below sees that
  Reclaim();
}

}  // namespace internal

void Retire(void* object, void (*deleter)(void*)) {
  using internal::g_retired_mu;
  if (!internal::Protected(object)) {
    deleter(object);
    return;
  }
  // A guard held it a moment ago. Queue it, so that guard's reset (which
  // checks g_waiting) deletes it; then, after a barrier on every thread
  // that makes a reset already done visible here, look again in case that
  // reset came too early to see the queue.
  {
    MutexLock lock(&g_retired_mu);
    internal::RetiredList().push_back({object, deleter});
    internal::g_waiting.fetch_add(1, std::memory_order_seq_cst);
  }
  internal::HeavyBarrier();
  internal::Reclaim();
}

uint64_t ReclaimNow() {
  internal::HeavyBarrier();
  return internal::Reclaim();
}

}  // namespace vfs::hazard
