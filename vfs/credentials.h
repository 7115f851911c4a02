// Credentials: the identity a call runs with (rule X1).
//
// Every Filesystem call is checked against one identity: uid, gid,
// supplementary groups, a capability set and a umask. The identity is chosen
// in this order:
//   1. the innermost ScopedCredentials alive on the calling thread, for
//      embedders that host several users on one Filesystem (the FUSE mount
//      sets one per request from fuse_req_ctx);
//   2. else the Filesystem's default identity (Filesystem::SetCredentials);
//   3. else root with every capability and umask 0, so code that never sets
//      an identity keeps the answers it had before permission checks existed.
//
// Thread-safety: a Credentials value is immutable once published.
// ScopedCredentials is thread-local and must be destroyed on the thread that
// made it, in reverse order of construction.
//
// Example:
//   vfs::Credentials alice = vfs::Credentials::User(1000, 1000);
//   {
//     vfs::ScopedCredentials as_alice(alice);
//     fs->Open("/home/alice/notes", O_RDONLY);  // checked as uid 1000
//   }

#ifndef VFS_CREDENTIALS_H_
#define VFS_CREDENTIALS_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace vfs {

// Capability bits a Credentials may hold (the subset of capabilities(7) a
// filesystem consults).
enum Capability : uint32_t {
  kCapChown = 1u << 0,           // CAP_CHOWN
  kCapDacOverride = 1u << 1,     // CAP_DAC_OVERRIDE
  kCapDacReadSearch = 1u << 2,   // CAP_DAC_READ_SEARCH
  kCapFowner = 1u << 3,          // CAP_FOWNER
  kCapFsetid = 1u << 4,          // CAP_FSETID
  kCapMknod = 1u << 5,           // CAP_MKNOD
  kCapSysAdmin = 1u << 6,        // CAP_SYS_ADMIN
  kAllCapabilities = (1u << 7) - 1,
};

// A fresh identity serial (rule X4's opener check); never 0.
uint64_t NextCredentialsSerial();

struct Credentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;   // supplementary groups
  uint32_t capabilities = kAllCapabilities;
  uint32_t umask = 0;
  // Which identity this is, as Linux's struct cred pointer: a new
  // Credentials gets a new serial, a copy shares it, and
  // Filesystem::SetCredentials gives its copy a new one (commit_creds).
  // linkat AT_EMPTY_PATH compares it, with uid, gid and capabilities, to
  // the descriptor opener's (rule X4).
  uint64_t serial = NextCredentialsSerial();

  // Root with every capability: the default identity.
  static Credentials Root() { return Credentials{}; }
  // An unprivileged user: no capabilities, umask 022.
  static Credentials User(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {}) {
    Credentials c;
    c.uid = uid;
    c.gid = gid;
    c.groups = std::move(groups);
    c.capabilities = 0;
    c.umask = 022;
    return c;
  }

  bool Has(Capability cap) const { return (capabilities & cap) != 0; }
  // True when gid is the primary group or one of the supplementary groups.
  bool InGroup(uint32_t g) const {
    if (g == gid) return true;
    for (uint32_t s : groups) {
      if (s == g) return true;
    }
    return false;
  }
};

// Sets the identity of every Filesystem call made on this thread while it is
// alive. Nests: the innermost one wins. `creds` must outlive the guard.
class ScopedCredentials {
 public:
  explicit ScopedCredentials(const Credentials& creds);
  // A temporary would be gone before the guard: refused at compile time.
  explicit ScopedCredentials(Credentials&&) = delete;
  ~ScopedCredentials();
  ScopedCredentials(const ScopedCredentials&) = delete;
  ScopedCredentials& operator=(const ScopedCredentials&) = delete;

  // The identity set on this thread, or nullptr when none is. Inline: every
  // call of the VFS asks (Filesystem::caller).
  static const Credentials* Current() { return current_; }

 private:
  // Constant-initialized, so reading it needs no TLS init wrapper.
  static constinit thread_local const Credentials* current_;
  const Credentials* previous_;
};

}  // namespace vfs

#endif  // VFS_CREDENTIALS_H_
