// FUSE over io_uring: see fuse_uring.h. The kernel's side is
// fs/fuse/dev_uring.c; the structures below are its uapi (linux/fuse.h,
// protocol 7.42), which Debian 12's headers predate.
#include "tools/mount/fuse_uring.h"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"

#ifdef VFS_HAVE_URING
#include <liburing.h>
#endif

namespace vfs {
namespace {

// One entry's header buffer (struct fuse_uring_req_header): the fuse_in_header
// on fetch and the fuse_out_header on commit; the request's first argument
// (its fixed-size per-opcode struct) if it has one; and the entry's trailer.
struct UringEntryInOut {
  uint64_t flags;
  uint64_t commit_id;   // the request's unique
  uint32_t payload_sz;  // bytes in the payload buffer, either way
  uint32_t padding;
  uint64_t reserved;
};
constexpr size_t kHeaderArea = 128;
struct UringHeader {
  char in_out[kHeaderArea];
  char op_in[kHeaderArea];
  UringEntryInOut entry;
};
static_assert(sizeof(UringHeader) == 288);

// The command in the SQE's command area (struct fuse_uring_cmd_req).
struct UringCommand {
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};
constexpr uint32_t kRegister = 1;        // FUSE_IO_URING_CMD_REGISTER
constexpr uint32_t kCommitAndFetch = 2;  // FUSE_IO_URING_CMD_COMMIT_AND_FETCH

constexpr uint64_t kEntryTag = 1;
constexpr uint64_t kStopTag = 2;

// The CPUs the kernel makes queues for: its possible CPUs.
std::vector<unsigned> PossibleCpus() {
  std::vector<unsigned> cpus;
  std::ifstream in("/sys/devices/system/cpu/possible");
  std::string list;
  if (!std::getline(in, list)) list = "0-" + std::to_string(std::max(1u, std::thread::hardware_concurrency()) - 1);
  size_t at = 0;
  while (at < list.size()) {
    size_t end = list.find(',', at);
    if (end == std::string::npos) end = list.size();
    const std::string range = list.substr(at, end - at);
    const size_t dash = range.find('-');
    const unsigned lo = static_cast<unsigned>(std::stoul(range.substr(0, dash)));
    const unsigned hi = dash == std::string::npos ? lo : static_cast<unsigned>(std::stoul(range.substr(dash + 1)));
    for (unsigned c = lo; c <= hi && c < 4096; ++c) cpus.push_back(c);
    at = end + 1;
  }
  return cpus;
}

}  // namespace

struct FuseUring::Worker {
  Queue* queue = nullptr;
  std::thread thread;
  std::unique_ptr<UringHeader> header;
  std::unique_ptr<char[]> payload;
  std::vector<char> request;  // the request rebuilt in /dev/fuse layout
  iovec iov[2] = {};
  absl::Notification submitted;  // its registration has been issued
};

// Filled by Start alone; read after it (threads, Stop).
struct FuseUring::Queue {
  unsigned cpu = 0;
  std::vector<std::unique_ptr<Worker>> workers;
};

namespace {

// The request the calling thread serves, for TakeReply.
struct Serving {
  UringHeader* header = nullptr;
  char* payload = nullptr;
  size_t payload_bytes = 0;
  uint64_t unique = 0;
  bool replied = false;
};
thread_local Serving serving;

}  // namespace

bool FuseUring::Built() {
#ifdef VFS_HAVE_URING
  return true;
#else
  return false;
#endif
}

unsigned FuseUring::threads() const {
  unsigned n = 0;
  for (unsigned i = 0; i < queue_count_; ++i) n += static_cast<unsigned>(queues_[i].workers.size());
  return n;
}

std::unique_ptr<FuseUring> FuseUring::Start(fuse_session* session, int fuse_fd, size_t payload_bytes,
                                            unsigned threads_per_queue, std::string* why) {
  if (!Built()) {
    *why = "this build has no io_uring (liburing-dev was missing)";
    return nullptr;
  }
  std::unique_ptr<FuseUring> ring(new FuseUring());
  ring->session_ = session;
  ring->fuse_fd_ = fuse_fd;
  ring->payload_bytes_ = std::max<size_t>(payload_bytes, 8192);
  ring->stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (ring->stop_fd_ < 0) {
    *why = std::string("eventfd: ") + std::strerror(errno);
    return nullptr;
  }
  const std::vector<unsigned> cpus = PossibleCpus();
  ring->queue_count_ = static_cast<unsigned>(cpus.size());
  ring->queues_ = std::make_unique<Queue[]>(cpus.size());
  for (size_t i = 0; i < cpus.size(); ++i) ring->queues_[i].cpu = cpus[i];
  for (size_t i = 0; i < cpus.size(); ++i) {
    for (unsigned t = 0; t < std::max(1u, threads_per_queue); ++t) {
      if (!ring->AddWorker(&ring->queues_[i], why)) {
        // Entries already registered stay: once every queue has one the
        // kernel sends everything through the rings, and stopping their
        // threads would leave those requests unserved.
        if (ring->threads() == 0) return nullptr;
        std::fprintf(stderr, "vfs mount: %s; io_uring runs with %u threads\n", why->c_str(), ring->threads());
        return ring;
      }
    }
  }
  return ring;
}

bool FuseUring::AddWorker(Queue* queue, std::string* why) {
  auto worker = std::make_unique<Worker>();
  worker->queue = queue;
  worker->header = std::make_unique<UringHeader>();
  worker->payload = std::make_unique<char[]>(payload_bytes_);
  worker->request.reserve(sizeof(fuse_in_header) + kHeaderArea + payload_bytes_);
  worker->iov[0] = {worker->header.get(), sizeof(UringHeader)};
  worker->iov[1] = {worker->payload.get(), payload_bytes_};
  Worker* w = worker.get();
  try {
    w->thread = std::thread([this, w] { Serve(w); });
  } catch (const std::system_error& e) {
    *why = std::string("cannot start a ring thread: ") + e.what();
    return false;
  }
  queue->workers.push_back(std::move(worker));
  w->submitted.WaitForNotification();
  return true;
}

FuseUring::~FuseUring() { Stop(); }

void FuseUring::Stop() {
  stopping_.store(true);
  if (stop_fd_ >= 0) {
    const uint64_t one = 1;
    // A poll on it ends every thread's wait; nothing else reads it.
    if (::write(stop_fd_, &one, sizeof one) != sizeof one) std::perror("vfs mount: io_uring stop");
  }
  for (unsigned i = 0; i < queue_count_; ++i) {
    for (auto& w : queues_[i].workers) {
      if (w->thread.joinable()) w->thread.join();
    }
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  stop_fd_ = -1;
}

bool FuseUring::TakeReply(const iovec* iov, int count, ssize_t* written) {
  Serving& s = serving;
  if (s.header == nullptr || s.replied || count < 1 || iov[0].iov_len != sizeof(fuse_out_header)) {
    return false;
  }
  fuse_out_header out;
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.unique != s.unique) return false;  // a notification (unique 0) or another request
  size_t payload = 0;
  for (int i = 1; i < count; ++i) payload += iov[i].iov_len;
  s.replied = true;
  if (payload > s.payload_bytes) {
    // Cannot happen with the buffer the kernel checked at registration;
    // answered as an error rather than cut short.
    out.len = sizeof out;
    out.error = -EIO;
    std::memcpy(s.header->in_out, &out, sizeof out);
    s.header->entry.payload_sz = 0;
    errno = EINVAL;
    *written = -1;
    return true;
  }
  std::memcpy(s.header->in_out, &out, sizeof out);
  char* at = s.payload;
  for (int i = 1; i < count; ++i) {
    std::memcpy(at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  s.header->entry.payload_sz = static_cast<uint32_t>(payload);
  *written = static_cast<ssize_t>(sizeof out + payload);
  return true;
}

#ifdef VFS_HAVE_URING

namespace {

io_uring_sqe* Command(io_uring* ring, int fuse_fd, uint32_t op, uint16_t qid, uint64_t commit_id) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) return nullptr;
  std::memset(sqe, 0, 2 * sizeof(io_uring_sqe));  // SQE128: the command area is the second half too
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fuse_fd;
  sqe->cmd_op = op;
  sqe->user_data = kEntryTag;
  UringCommand command = {};
  command.commit_id = commit_id;
  command.qid = qid;
  std::memcpy(sqe->cmd, &command, sizeof command);
  return sqe;
}

bool InitRing(io_uring* ring) {
  // SQE128: the FUSE command sits in the second half of each entry. (With
  // SINGLE_ISSUER | DEFER_TASKRUN the write-back stall of docs/mount.md was
  // the same, so the plain setup is kept.)
  io_uring_params params = {};
  params.flags = IORING_SETUP_SQE128;
  return io_uring_queue_init_params(4, ring, &params) == 0;
}

}  // namespace

void FuseUring::Serve(Worker* w) {
  Queue* queue = w->queue;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(queue->cpu, &cpus);
  // Pinned to the queue's CPU, so the caller's wake-up of this thread and
  // this thread's of the caller stay on one CPU. An offline CPU: unpinned.
  (void)pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
  const uint16_t qid = static_cast<uint16_t>(queue->cpu);
  io_uring ring;
  if (!InitRing(&ring)) {
    std::fprintf(stderr, "vfs mount: io_uring_queue_init failed; FUSE requests stay on /dev/fuse\n");
    w->submitted.Notify();
    return;
  }
  io_uring_sqe* poll = io_uring_get_sqe(&ring);
  io_uring_prep_poll_add(poll, stop_fd_, POLLIN);
  poll->user_data = kStopTag;
  io_uring_sqe* reg = Command(&ring, fuse_fd_, kRegister, qid, 0);
  reg->addr = reinterpret_cast<uintptr_t>(w->iov);
  reg->len = 2;
  bool registered = false;
  // Registered one entry at a time: the kernel's issue of the command is
  // done when io_uring_submit returns.
  const int issued = io_uring_submit(&ring);
  w->submitted.Notify();
  if (issued < 0) {
    std::fprintf(stderr, "vfs mount: io_uring_submit: %s\n", std::strerror(-issued));
    io_uring_queue_exit(&ring);
    return;
  }
  for (;;) {
    int submitted = io_uring_submit_and_wait(&ring, 1);
    if (submitted == -EINTR) continue;
    if (submitted < 0) {
      std::fprintf(stderr, "vfs mount: io_uring_enter: %s\n", std::strerror(-submitted));
      break;
    }
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring, &cqe) != 0 || cqe == nullptr) continue;
    const uint64_t tag = cqe->user_data;
    const int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    if (tag == kStopTag) break;
    if (res < 0) {
      // ENOTCONN/ECONNABORTED: the connection is going away. Anything
      // else at the first registration: the kernel will not use rings.
      if (!registered && !stopping_.load() && res != -ENOTCONN && res != -ECONNABORTED) {
        std::fprintf(stderr, "vfs mount: the kernel refused an io_uring entry (%s); "
                     "FUSE requests stay on /dev/fuse\n", std::strerror(-res));
      }
      break;
    }
    registered = true;
    // The request, rebuilt as /dev/fuse gives it: the in header, the
    // first argument (in op_in; its size is what the header's length
    // leaves beside the payload), then the payload.
    UringHeader* h = w->header.get();
    fuse_in_header in;
    std::memcpy(&in, h->in_out, sizeof in);
    const uint32_t payload = h->entry.payload_sz;
    const uint64_t commit_id = h->entry.commit_id;
    const bool sane = in.len >= sizeof in + uint64_t{payload} && payload <= payload_bytes_ &&
                      in.len - sizeof in - payload <= kHeaderArea;
    serving = Serving{h, w->payload.get(), payload_bytes_, commit_id, false};
    if (sane) {
      const size_t first = in.len - sizeof in - payload;
      w->request.resize(in.len);
      std::memcpy(w->request.data(), &in, sizeof in);
      std::memcpy(w->request.data() + sizeof in, h->op_in, first);
      std::memcpy(w->request.data() + sizeof in + first, w->payload.get(), payload);
      fuse_buf buf = {};
      buf.size = in.len;
      buf.mem = w->request.data();
      requests_.fetch_add(1, std::memory_order_relaxed);
      fuse_session_process_buf(session_, &buf);
    }
    if (!serving.replied) {
      // Every request that comes through a ring expects an answer (forgets
      // do not come this way); without one the entry would never return.
      fuse_out_header out = {};
      out.len = sizeof out;
      out.error = sane ? -ENOSYS : -EIO;
      out.unique = commit_id;
      std::memcpy(h->in_out, &out, sizeof out);
      h->entry.payload_sz = 0;
    }
    serving = Serving{};
    if (Command(&ring, fuse_fd_, kCommitAndFetch, qid, commit_id) == nullptr) break;
  }
  // Closing the ring cancels the entry's command, if still registered.
  io_uring_queue_exit(&ring);
}

#else  // !VFS_HAVE_URING

void FuseUring::Serve(Worker* w) { w->submitted.Notify(); }

#endif

}  // namespace vfs
