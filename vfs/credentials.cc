#include "vfs/credentials.h"

namespace vfs {
namespace {
thread_local const Credentials* current_credentials = nullptr;
}  // namespace

ScopedCredentials::ScopedCredentials(const Credentials& creds)
    : previous_(current_credentials) {
  current_credentials = &creds;
}

ScopedCredentials::~ScopedCredentials() { current_credentials = previous_; }

const Credentials* ScopedCredentials::Current() { return current_credentials; }

}  // namespace vfs
