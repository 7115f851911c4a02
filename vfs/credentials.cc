#include "vfs/credentials.h"

#include <atomic>

namespace vfs {
namespace {
thread_local const Credentials* current_credentials = nullptr;
std::atomic<uint64_t> last_credentials_serial{0};
}  // namespace

uint64_t NextCredentialsSerial() {
  return last_credentials_serial.fetch_add(1, std::memory_order_relaxed) + 1;
}

ScopedCredentials::ScopedCredentials(const Credentials& creds)
    : previous_(current_credentials) {
  current_credentials = &creds;
}

ScopedCredentials::~ScopedCredentials() { current_credentials = previous_; }

const Credentials* ScopedCredentials::Current() { return current_credentials; }

}  // namespace vfs
