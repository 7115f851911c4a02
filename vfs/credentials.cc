#include "vfs/credentials.h"

#include <atomic>

namespace vfs {
namespace {
std::atomic<uint64_t> last_credentials_serial{0};
}  // namespace

constinit thread_local const Credentials* ScopedCredentials::current_ = nullptr;

uint64_t NextCredentialsSerial() {
  return last_credentials_serial.fetch_add(1, std::memory_order_relaxed) + 1;
}

ScopedCredentials::ScopedCredentials(const Credentials& creds) : previous_(current_) {
  current_ = &creds;
}

ScopedCredentials::~ScopedCredentials() { current_ = previous_; }

}  // namespace vfs
