// FuseUring: the mount's FUSE requests over io_uring instead of read(2) and
// writev(2) on /dev/fuse (Linux 6.14 and later, when the fuse module's
// `enable_uring` parameter is on; docs/mount.md, "FUSE over io_uring").
//
// The kernel keeps one request queue per possible CPU and puts a request on
// the queue of the CPU its caller runs on. Each queue here is served by
// threads pinned to that CPU, each owning one ring entry (a header buffer
// and a payload buffer registered with the kernel). So a caller's request is
// served on its own CPU: no cross-CPU wake-up, which is most of a round trip
// on a small machine (docs/benchmarks.md), and one system call per request
// (commit the reply and fetch the next) instead of two.
//
// Each request is rebuilt into the /dev/fuse layout and given to libfuse
// (fuse_session_process_buf), so the same handlers serve both paths. The
// handler's reply reaches the session's writev hook on the same thread,
// which hands it to TakeReply; the thread then commits it. Forgets,
// interrupts and notifications stay on /dev/fuse, as the kernel sends and
// takes them there.
//
//   // In the writev hook, after the INIT reply that asked for it:
//   auto ring = FuseUring::Start(session, fuse_fd, payload_bytes, 2, &why);
//   ...
//   // In the writev hook, for every reply:
//   if (FuseUring::TakeReply(iov, count, &written)) return written;
//   ...
//   ring->Stop();   // before fuse_session_destroy
//
// The kernel's write-back cache is not supported with it: a write-back the
// server starts (an inode invalidation with dirty pages, as lseek's
// SEEK_DATA and `vfs ctl sync` need) was seen to wait for ever for its
// WRITE, which the kernel queued on a CPU's ring and handed to no free
// entry (docs/mount.md).
//
// Thread-safety: Start and Stop from one thread; TakeReply from any
// thread; the counters from any thread.
#ifndef TOOLS_MOUNT_FUSE_URING_H_
#define TOOLS_MOUNT_FUSE_URING_H_

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

struct fuse_session;

namespace vfs {

// FUSE_OVER_IO_URING in the INIT request's and reply's 64-bit flags (the
// kernel's uapi, protocol 7.42): in flags2, bit 41 - 32.
inline constexpr uint32_t kFuseOverIoUringFlags2 = uint32_t{1} << (41 - 32);

class FuseUring {
 public:
  // Whether this build has io_uring (liburing) at all.
  static bool Built();

  // Registers `threads_per_queue` entries, each with its own thread and
  // ring, on every CPU queue of the session's connection (`fuse_fd`: the
  // session's /dev/fuse descriptor), after the kernel has taken an INIT
  // reply with FUSE_OVER_IO_URING. `payload_bytes` is each entry's payload
  // buffer: at least the connection's largest request or reply
  // (max_write, max_pages pages, 8 KiB). Returns null with `*why` set if
  // no thread could be started (if some could, they stay and the rest is
  // reported on stderr); a registration the kernel refuses is
  // reported on stderr by the thread, and requests keep flowing through
  // /dev/fuse (the kernel uses the rings only once every queue has one).
  static std::unique_ptr<FuseUring> Start(fuse_session* session, int fuse_fd, size_t payload_bytes,
                                          unsigned threads_per_queue, std::string* why);
  // Stops and joins every thread. Call after the kernel unmounted, or at
  // least stopped sending requests, and before the session is destroyed.
  ~FuseUring();
  void Stop();

  // For the session's writev hook: if the calling thread is serving a ring
  // request and `iov` is its reply (the out header's `unique` is the
  // request's), copies the reply into the ring entry, sets `*written` to its
  // length (or -1 with errno EINVAL if it does not fit) and returns true.
  // Otherwise returns false: the message goes to /dev/fuse.
  static bool TakeReply(const iovec* iov, int count, ssize_t* written);

  // Requests served through the rings, and entries registered.
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  unsigned threads() const;

 private:
  struct Queue;
  struct Worker;
  FuseUring() = default;
  bool AddWorker(Queue* queue, std::string* why);
  void Serve(Worker* worker);

  fuse_session* session_ = nullptr;
  int fuse_fd_ = -1;
  size_t payload_bytes_ = 0;
  int stop_fd_ = -1;  // an eventfd every ring polls; written by Stop
  std::unique_ptr<Queue[]> queues_;
  unsigned queue_count_ = 0;
  std::atomic<uint64_t> requests_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace vfs

#endif  // TOOLS_MOUNT_FUSE_URING_H_
