// The disk store (disk_store.h). Format and recovery rules: docs/formats.md.
//
// Life of a request: Submit() queues it in memory; the thread that Wait()s
// first becomes the writer and writes the frames of every queued ticket up
// to the largest one any waiter asked for (one pwrite for the group), then
// applies them to the in-memory index. Flush() is a group commit: a caller
// waits for the next fdatasync of the log that starts after its frames were
// written; the first caller of a forming round leads it and syncs for all
// who have appended by then, and up to max_concurrent_syncs rounds run at
// once, each on its own descriptor of the log. With background_work, a
// thread of the store compacts and zero-fills the log ahead of the writer,
// so neither lands in a caller's Wait or Flush.
//
// Locks: mu_ guards everything below it; it is a leaf (the VFS calls the
// store with its own locks released or as leaves above this one). I/O runs
// without mu_ held; the roles "writer" (writing_: the log between
// written_end_ and zeroed_end_), "extender" (extending_: the log past
// zeroed_end_), "syncer" (syncing_: rounds whose fdatasync runs) and
// "compactor" (compacting_) are taken under mu_ and keep the byte ranges
// each touches apart. A compaction takes writer and extender and blocks new
// rounds (syncs_blocked_) while it switches logs.
#include "backends/disk/disk_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "backends/disk/crc32c.h"
#include "backends/disk/host_file.h"
#include "backends/disk/log_format.h"
#include "backends/disk/record_check.h"
#include "backends/disk/store_state.h"

namespace vfs {
namespace {

using disk::HostFile;
using disk::PageLoc;
using disk::Record;
using disk::StoreState;

// A batch's frames are cut at about this much payload, and written to the
// host in pieces of about kWriteChunk, so a huge fsync never needs its
// whole size in memory twice.
constexpr uint64_t kFrameTarget = 1u << 20;
constexpr uint64_t kWriteChunk = 4u << 20;
constexpr uint64_t kMinExtend = 64u << 10;
constexpr uint64_t kCheckpointWriteBack = 1u << 20;
// Each commit's frames end on a boundary of this many bytes, the block size
// of the hosts' filesystems (PadToBlock).
constexpr uint64_t kCommitAlign = 4096;
// A replaced log kept for the next one (CreateLog); like every name ending in
// ".tmp", removed by the next open.
constexpr std::string_view kRecycleName = "recycled-log.tmp";
// A superblock record: its type byte and the page size.
constexpr uint64_t kSuperblockRecordSize = 5;

// std::mutex with the thread-safety annotations, and a condition variable
// that waits on it.
class ABSL_LOCKABLE CvMutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Blocks until notified; mu_ is released meanwhile and held again after.
  void Wait(std::condition_variable& cv) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    cv.wait(lock);
    lock.release();
  }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE CvLock {
 public:
  explicit CvLock(CvMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~CvLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  CvLock(const CvLock&) = delete;
  CvLock& operator=(const CvLock&) = delete;

 private:
  CvMutex* const mu_;
};

// An error with the line that explains it.
struct Failure {
  int code = 0;
  std::string message;
  bool ok() const { return code == 0; }
};
Failure Fail(int code, std::string message) { return Failure{code, std::move(message)}; }
Failure HostFailure(int code, const std::string& file, std::string_view what) {
  return Fail(code, absl::StrCat(file, ": ", std::string(what), ": ", std::strerror(code)));
}

// ---- Recovery (docs/formats.md "Recovery") ----

// What reading the directory found: the state and where writing goes on.
struct Recovered {
  StoreState state;
  uint64_t checkpoint = 0;   // number of the checkpoint the state starts from
  uint64_t active_log = 0;   // the log that takes new frames (0: create one)
  uint64_t log_end = 0;      // end of its last complete batch
  uint64_t next_seq = 1;
  uint64_t older_log_bytes = 0;  // frames of the logs before it since the checkpoint
  bool tail_dirty = false;   // bytes after log_end that are not zeros
  uint64_t file_size = 0;    // of the active log
  std::vector<std::string> garbage;  // files to remove once open succeeded
  absl::flat_hash_map<uint64_t, std::shared_ptr<HostFile>> files;
};

class Recovery {
 public:
  Recovery(const disk::Host* host, uint64_t salt) : host_(host), salt_(salt) {}

  Failure Run(Recovered* out) {
    std::vector<uint64_t> checkpoints, logs;
    if (Failure f = List(&checkpoints, &logs, &out->garbage); !f.ok()) return f;
    std::sort(checkpoints.begin(), checkpoints.end());
    std::sort(logs.begin(), logs.end());
    // The newest checkpoint is the base: it was renamed into place only once
    // complete and durable, and the files it replaces may already be gone.
    if (!checkpoints.empty()) {
      out->checkpoint = checkpoints.back();
      for (uint64_t n : checkpoints) {
        if (n != out->checkpoint) out->garbage.push_back(disk::CheckpointName(n));
      }
      if (Failure f = ReadCheckpoint(out->checkpoint, out); !f.ok()) return f;
    }
    const uint64_t first = std::max<uint64_t>(out->checkpoint, 1);
    std::vector<uint64_t> sequence;
    for (uint64_t n : logs) {
      if (n < first) {
        out->garbage.push_back(disk::LogName(n));  // replaced by the checkpoint
      } else {
        sequence.push_back(n);
      }
    }
    // A compaction creates log N, durable with its directory entry, before
    // it writes checkpoint-N: a checkpoint without its log lost what that
    // log held (issue 17, finding 4).
    if (out->checkpoint != 0 && (sequence.empty() || sequence[0] != out->checkpoint)) {
      return Fail(EIO, absl::StrCat(disk::LogName(out->checkpoint), ": missing, but ",
                                    disk::CheckpointName(out->checkpoint),
                                    " exists (written after that log was durable)"));
    }
    for (size_t i = 0; i < sequence.size(); ++i) {
      if (sequence[i] != first + i) {
        return Fail(EIO, absl::StrCat(disk::LogName(first + i), ": missing, but ",
                                      disk::LogName(sequence[i]), " exists"));
      }
    }
    // Headers. A log whose header never reached the disk can only be the
    // last one, created by a compaction (or the first open) that died before
    // making it durable; it holds nothing, and is all zeros or shorter than
    // a header. Any other bad header is damage: refused, never rewritten
    // (issue 17, finding 2).
    std::vector<std::pair<std::shared_ptr<HostFile>, disk::LogHeader>> chain;
    for (size_t i = 0; i < sequence.size(); ++i) {
      const std::string name = disk::LogName(sequence[i]);
      std::shared_ptr<HostFile> file;
      if (int err = HostFile::Open(host_, name, O_RDWR, &file); err != 0) {
        return HostFailure(err, name, "open");
      }
      char bytes[disk::kLogHeaderSize];
      size_t got = 0;
      if (int err = file->Read(0, sizeof bytes, bytes, &got); err != 0) {
        return HostFailure(err, name, "read");
      }
      uint32_t version = 0;
      auto header = disk::DecodeLogHeader(std::string_view(bytes, got), &version);
      if (header && version != disk::kFormatVersion) {
        return Fail(ENOTSUP, absl::StrCat(name, ": format version ", version,
                                          "; this build reads only version ",
                                          disk::kFormatVersion));
      }
      if (!header || header->number != sequence[i] || header->salt != salt_) {
        const bool may_be_unused = i + 1 == sequence.size() &&
                                   (sequence[i] > out->checkpoint || out->checkpoint == 0);
        bool never_written = false;
        if (may_be_unused) {
          if (Failure f = NeverWritten(*file, &never_written); !f.ok()) return f;
        }
        if (never_written) {
          out->garbage.push_back(name);
          break;
        }
        if (header && header->salt != salt_) {
          return Fail(EIO, absl::StrCat(name, ": log header at offset 0 names salt ",
                                        absl::Hex(header->salt, absl::kZeroPad16),
                                        ", not this store's ",
                                        absl::Hex(salt_, absl::kZeroPad16), " (", std::string(disk::kIdentityName),
                                        "): a log of another store, or a damaged ",
                                        std::string(disk::kIdentityName)));
        }
        if (header) {
          return Fail(EIO, absl::StrCat(name, ": log header at offset 0 names log ",
                                        header->number));
        }
        return Fail(EIO, absl::StrCat(name, ": bad log header at offset 0 (",
                                      got < disk::kLogHeaderSize ? "truncated" :
                                      disk::GetFixed32(bytes) != disk::kLogMagic ? "bad magic" :
                                      "bad checksum", ")"));
      }
      chain.emplace_back(std::move(file), *header);
    }
    for (size_t i = 0; i < chain.size(); ++i) {
      const bool last = i + 1 == chain.size();
      const uint64_t limit = last ? UINT64_MAX : chain[i + 1].second.prev_end;
      uint64_t end = 0;
      if (Failure f = ReadLog(*chain[i].first, chain[i].second, limit, last, out, &end); !f.ok()) {
        return f;
      }
      out->files[disk::LogFileId(chain[i].second.number)] = chain[i].first;
      if (last) {
        out->active_log = chain[i].second.number;
        out->log_end = end;
      } else {
        out->older_log_bytes += end;
      }
    }
    return Failure{};
  }

 private:
  // Whether `file` is what a log creation that died before its fdatasync
  // leaves: shorter than a header, or nothing but zeros.
  Failure NeverWritten(const HostFile& file, bool* never) {
    uint64_t size = 0;
    if (int err = file.Size(&size); err != 0) return HostFailure(err, file.name(), "fstat");
    std::string chunk;
    for (uint64_t at = 0; at < size; at += chunk.size()) {
      chunk.resize(std::min<uint64_t>(1 << 20, size - at));
      if (int err = file.ReadExactly(at, chunk.size(), chunk.data()); err != 0) {
        return HostFailure(err, file.name(), "read");
      }
      if (disk::FirstNonZero(chunk, 0) != chunk.size()) {
        *never = size < disk::kLogHeaderSize && at == 0;
        return Failure{};
      }
    }
    *never = true;
    return Failure{};
  }

  Failure List(std::vector<uint64_t>* checkpoints, std::vector<uint64_t>* logs,
               std::vector<std::string>* garbage) {
    DIR* d = ::opendir(host_->dir.c_str());
    if (d == nullptr) return HostFailure(errno, host_->dir, "opendir");
    while (dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (auto n = disk::ParseNumberedName(name, disk::kCheckpointPrefix)) {
        checkpoints->push_back(*n);
      } else if (auto n = disk::ParseNumberedName(name, disk::kLogPrefix)) {
        logs->push_back(*n);
      } else if (name.size() > disk::kTempSuffix.size() &&
                 name.substr(name.size() - disk::kTempSuffix.size()) == disk::kTempSuffix) {
        garbage->emplace_back(name);  // a write-temp-then-rename that died
      }
    }
    ::closedir(d);
    return Failure{};
  }

  Failure ReadCheckpoint(uint64_t number, Recovered* out) {
    const std::string name = disk::CheckpointName(number);
    std::shared_ptr<HostFile> file;
    if (int err = HostFile::Open(host_, name, O_RDONLY, &file); err != 0) {
      return HostFailure(err, name, "open");
    }
    uint64_t size = 0;
    if (int err = file->Size(&size); err != 0) return HostFailure(err, name, "fstat");
    if (size < disk::kCheckpointHeaderSize + disk::kCheckpointFooterSize) {
      return Fail(EIO, absl::StrCat(name, ": truncated checkpoint (", size, " bytes) at offset 0"));
    }
    std::string header(disk::kCheckpointHeaderSize, '\0');
    if (int err = file->ReadExactly(0, header.size(), header.data()); err != 0) {
      return HostFailure(err, name, "read");
    }
    uint32_t version = 0;
    auto header_number = disk::DecodeCheckpointHeader(header, salt_, &version);
    if (version != 0 && version != disk::kFormatVersion) {
      return Fail(ENOTSUP, absl::StrCat(name, ": format version ", version,
                                        "; this build reads only version ", disk::kFormatVersion));
    }
    if (!header_number || *header_number != number) {
      return Fail(EIO, absl::StrCat(name, ": bad checkpoint header at offset 0"));
    }
    const uint64_t footer_at = size - disk::kCheckpointFooterSize;
    std::string footer_bytes(disk::kCheckpointFooterSize, '\0');
    if (int err = file->ReadExactly(footer_at, footer_bytes.size(), footer_bytes.data()); err != 0) {
      return HostFailure(err, name, "read");
    }
    auto footer = disk::DecodeCheckpointFooter(footer_bytes, salt_);
    // No sum that can wrap: the metadata lies between the header and the footer.
    if (!footer || footer->number != number || footer->meta_offset < disk::kCheckpointHeaderSize ||
        footer->meta_offset > footer_at || footer->meta_size != footer_at - footer->meta_offset) {
      return Fail(EIO, absl::StrCat(name, ": bad checkpoint footer at offset ", footer_at));
    }
    std::string meta(footer->meta_size, '\0');
    if (int err = file->ReadExactly(footer->meta_offset, meta.size(), meta.data()); err != 0) {
      return HostFailure(err, name, "read");
    }
    if (crc32c::Value(meta.data(), meta.size()) != footer->meta_crc) {
      return Fail(EIO, absl::StrCat(name, ": bad checksum of the metadata at offset ",
                                    footer->meta_offset));
    }
    const uint64_t id = disk::CheckpointFileId(number);
    uint64_t bad_at = 0;
    std::string why;
    const bool decoded =
        disk::DecodeRecords(meta, id, footer->meta_offset, &bad_at, [&](Record record) {
          why = Check(record, /*checkpoint=*/true, id);
          if (why.empty()) {
            if (auto* page = std::get_if<disk::PageRecord>(&record)) {
              // Between the header and the metadata, with no sum that can wrap.
              if (page->loc.offset < disk::kCheckpointHeaderSize ||
                  page->loc.offset > footer->meta_offset ||
                  page->loc.size > footer->meta_offset - page->loc.offset) {
                why = absl::StrCat("page bytes at offset ", page->loc.offset,
                                   " outside the data area");
              }
            }
          }
          if (!why.empty()) return false;
          out->state.Restore(record);
          return true;
        });
    if (!decoded) {
      return Fail(EIO, absl::StrCat(name, ": ", why.empty() ? "malformed record" : why,
                                    " at offset ", footer->meta_offset + bad_at));
    }
    out->files[id] = std::move(file);
    return Failure{};
  }

  // Replays the frames of one log from its header up to `limit` (the end
  // the next log's header records) or, for the last log, up to the first
  // frame that is not valid: a torn tail. A bad frame is corruption when it
  // lies before the end of the previous log or before what a later valid
  // frame says was already durable.
  Failure ReadLog(const HostFile& file, const disk::LogHeader& header, uint64_t limit, bool last,
                  Recovered* out, uint64_t* end) {
    const std::string& name = file.name();
    const uint32_t seed = disk::FrameSeed(salt_, header.number);
    const uint64_t id = disk::LogFileId(header.number);
    uint64_t size = 0;
    if (int err = file.Size(&size); err != 0) return HostFailure(err, name, "fstat");
    uint64_t at = disk::kLogHeaderSize;
    uint64_t unit_start = at;  // where the batch being read began
    uint64_t seq = 1;
    uint64_t unit_seq = 1;     // the sequence number of its first frame
    std::vector<Record> unit;  // a batch is applied only when its last frame is read
    std::string frame;
    std::string why;
    for (;;) {
      if (at >= limit) break;
      if (size - std::min(size, at) < disk::kFrameHeaderSize) {
        why = "end of file inside a frame header";
        break;
      }
      frame.resize(disk::kFrameHeaderSize);
      if (int err = file.ReadExactly(at, frame.size(), frame.data()); err != 0) {
        return HostFailure(err, name, "read");
      }
      auto fh = disk::PeekFrameHeader(frame);
      if (!fh) {
        why = "no valid frame header";
        break;
      }
      const uint64_t span = disk::FrameSpan(fh->payload_size);
      if (at + disk::kFrameHeaderSize + fh->payload_size > size) {
        why = "end of file inside a frame";
        break;
      }
      frame.resize(disk::kFrameHeaderSize + fh->payload_size);
      if (int err = file.ReadExactly(at + disk::kFrameHeaderSize, fh->payload_size,
                                     frame.data() + disk::kFrameHeaderSize);
          err != 0) {
        return HostFailure(err, name, "read");
      }
      if (!disk::FrameChecksumOk(frame, seed)) {
        why = "bad frame checksum";
        break;
      }
      if (fh->seq != seq) {
        why = absl::StrCat("frame sequence ", fh->seq, " where ", seq, " was due");
        break;
      }
      uint64_t bad_at = 0;
      std::string bad;
      const std::string_view payload(frame.data() + disk::kFrameHeaderSize, fh->payload_size);
      const bool decoded = disk::DecodeRecords(
          payload, id, at + disk::kFrameHeaderSize, &bad_at, [&](Record record) {
            bad = Check(record, /*checkpoint=*/false, id);
            if (!bad.empty()) return false;
            if (auto* page = std::get_if<disk::PageRecord>(&record)) {
              // Inline (Check made sure), so inside the frame just read.
              const char* data = frame.data() + (page->loc.offset - at);
              if (crc32c::Value(data, page->loc.size) != page->loc.crc) {
                bad = "bad page checksum";
                return false;
              }
            }
            unit.push_back(std::move(record));
            return true;
          });
      if (!decoded) {
        // The frame's checksum was right, so its writer wrote this: not a
        // torn write but a bug or a forgery. Never guess.
        return Fail(EIO, absl::StrCat(name, ": ", bad.empty() ? "malformed record" : bad,
                                      " at offset ", at + disk::kFrameHeaderSize + bad_at));
      }
      at += span;
      ++seq;
      if (!(fh->flags & disk::kFrameContinues)) {
        for (const Record& r : unit) out->state.Apply(r);
        unit.clear();
        unit_start = at;
        unit_seq = seq;
      }
    }
    if (!last) {
      // The next log was created only after this one was durable.
      if (at != limit || unit_start != limit) {
        return Fail(EIO, absl::StrCat(name, ": ", why.empty() ? "incomplete batch" : why,
                                      " at offset ", std::min(at, unit_start),
                                      ", before the end (", limit, ") the next log records"));
      }
      *end = limit;
      return Failure{};
    }
    // The last log: a torn tail, unless a later frame proves that what is
    // here had been made durable.
    uint64_t durable_after = 0;
    bool nonzero = false;
    if (Failure f = ScanTail(file, seed, at, size, seq, &durable_after, &nonzero); !f.ok()) return f;
    if (durable_after > at) {
      return Fail(EIO, absl::StrCat(name, ": ", why, " at offset ", at,
                                    " inside data a later frame records as durable (through offset ",
                                    durable_after, ")"));
    }
    *end = unit_start;
    out->next_seq = unit_seq;
    out->tail_dirty = nonzero || unit_start != at;
    out->file_size = size;
    return Failure{};
  }

  // Looks past a bad frame at `at` for valid frames of this log; returns the
  // largest flushed_through they carry, and whether any byte there is not
  // zero.
  Failure ScanTail(const HostFile& file, uint32_t seed, uint64_t at, uint64_t size, uint64_t seq,
                   uint64_t* durable_after, bool* nonzero) {
    constexpr size_t kChunk = 1 << 20;
    std::string chunk;
    std::string frame;
    for (uint64_t base = at; base < size; base += kChunk) {
      chunk.resize(std::min<uint64_t>(kChunk + disk::kFrameHeaderSize, size - base));
      size_t got = 0;
      if (int err = file.Read(base, chunk.size(), chunk.data(), &got); err != 0) {
        return HostFailure(err, file.name(), "read");
      }
      chunk.resize(got);
      const size_t own = std::min<size_t>(got, kChunk);
      const std::string_view bytes(chunk);
      if (disk::FirstNonZero(bytes.substr(0, own), 0) != own) *nonzero = true;
      // Frames start with their magic at an aligned offset: find each
      // occurrence of its four bytes (a search at memory speed over zeros
      // and page data alike) and look only at the aligned ones.
      char magic[4];
      std::memcpy(magic, &disk::kFrameMagic, sizeof magic);
      const std::string_view searched = bytes.substr(0, own);
      for (size_t i = base == at ? disk::kFrameAlign : 0; i < own;) {
        i = searched.find(std::string_view(magic, sizeof magic), i);
        if (i == std::string_view::npos) break;
        if (i % disk::kFrameAlign != 0) {
          i = (i / disk::kFrameAlign + 1) * disk::kFrameAlign;  // the next aligned offset
          continue;
        }
        const size_t candidate = i;
        i += disk::kFrameAlign;
        // The bound first: a tail may end inside a frame header (a tail
        // ending inside the magic's four bytes was found by the
        // store-loader fuzzer).
        if (candidate + disk::kFrameHeaderSize > chunk.size()) continue;
        auto fh = disk::PeekFrameHeader(bytes.substr(candidate));
        const uint64_t offset = base + candidate;
        if (!fh || fh->seq < seq || offset + disk::kFrameHeaderSize + fh->payload_size > size) {
          continue;
        }
        frame.resize(disk::kFrameHeaderSize + fh->payload_size);
        if (file.ReadExactly(offset, frame.size(), frame.data()) != 0) continue;
        if (disk::FrameChecksumOk(frame, seed)) {
          *durable_after = std::max(*durable_after, fh->flushed_through);
        }
      }
    }
    return Failure{};
  }

  // Empty if `record` may be applied (record_check.h); a superblock that
  // passes sets the page size the records after it are checked against.
  std::string Check(const Record& record, bool checkpoint, uint64_t file) {
    disk::RecordContext context;
    context.page_size = page_size_;
    context.checkpoint = checkpoint;
    context.file = file;
    std::string why = disk::CheckRecord(record, context);
    if (why.empty()) {
      if (const auto* sb = std::get_if<PutSuperblock>(&record)) page_size_ = sb->page_size;
    }
    return why;
  }

  const disk::Host* host_;
  const uint64_t salt_;
  uint32_t page_size_ = 0;  // from the first superblock record read
};

// ---- The store ----

class DiskStore final : public Store {
 public:
  DiskStore(std::string dir, DiskStoreOptions options, disk::Identity identity)
      : options_(std::move(options)), identity_(identity) {
    host_.dir = std::move(dir);
    host_.inject = options_.inject_host_error;
    host_.counters = options_.counters;
  }

  ~DiskStore() override {
    {
      CvLock lock(&mu_);
      stop_ = true;
      worker_cv_.notify_one();
    }
    if (worker_.joinable()) worker_.join();
    CvLock lock(&mu_);
    while (BusyLocked()) mu_.Wait(roles_cv_);
    CloseLocked();
  }

  // Starts the thread of background_work.
  void StartWorker() {
    if (options_.background_work) worker_ = std::thread([this] { WorkerLoop(); });
  }

  // Takes the directory lock and reads the directory.
  Failure Open() {
    CvLock lock(&mu_);
    return OpenLocked();
  }

  void LogError(const std::string& message) const {
    const std::string line = absl::StrCat("vfs disk store ", host_.dir, ": ", message);
    if (options_.error_log) {
      options_.error_log(line);
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }

  Result<DurableImage> Load() override {
    {
      CvLock lock(&mu_);
      if (claimed_) return Error(EBUSY);
      if (!open_) {
        // After Crash(): read the directory again, as a new process would.
        if (Failure f = OpenLocked(); !f.ok()) {
          LogError(f.message);
          return Error(f.code);
        }
      }
      claimed_ = true;
    }
    // Everything queued completes first, then a marker that forgets the pages
    // no record mapped (as the memory store does at Load), then one flush, so
    // the image returned is durable.
    Result<void> done = WaitFor(last_ticket());
    if (done.ok()) {
      Ticket marker = 0;
      {
        CvLock lock(&mu_);
        if (state_.HasUnmapped()) marker = EnqueueLocked({}, /*forget_unmapped=*/true);
      }
      if (marker != 0) done = WaitFor(marker);
    }
    if (done.ok()) done = Flush();
    CvLock lock(&mu_);
    if (!done.ok() || !open_) {
      claimed_ = false;
      return Error(done.ok() ? EIO : done.error());
    }
    DurableImage image;
    image.page_size = state_.page_size;
    image.generation = state_.generation;
    image.inodes = state_.inodes;
    image.entries = state_.entries;
    std::vector<std::tuple<InodeId, PageIndex, PageLoc>> eager;
    for (const auto& [ino, slots] : state_.pages) {
      auto& out = image.pages[ino];
      // The page holding the end of a file goes out with its bytes, so the
      // mount zeroes what lies past the size in it; the rest are read on
      // demand with ReadPage.
      std::optional<PageIndex> boundary;
      auto record = state_.inodes.find(ino);
      if (record != state_.inodes.end() && state_.page_size != 0 &&
          record->second.size % state_.page_size != 0) {
        boundary = PageIndex(record->second.size / state_.page_size);
      }
      for (const auto& [index, slot] : slots) {
        if (!slot.mapped) continue;
        if (boundary && index == *boundary) eager.emplace_back(ino, index, slot.loc);
        out.emplace_hint(out.end(), index, PageRef());
      }
    }
    for (const auto& [ino, index, loc] : eager) {
      auto read = ReadLocLocked(loc);  // unlocks; the image is ours alone
      if (!read.ok()) {
        claimed_ = false;
        return Error(read.error());
      }
      image.pages[ino][index] = *std::move(read);
    }
    return image;
  }

  void Release() override {
    CvLock lock(&mu_);
    claimed_ = false;
  }

  Result<Ticket> Submit(std::vector<Request> requests) override {
    CvLock lock(&mu_);
    if (!open_) return Error(EIO);  // powered off by Crash() until the next Load
    ++stats_.submits;
    stats_.requests += requests.size();
    for (const Request& r : requests) {
      if (std::holds_alternative<PutPage>(r)) ++stats_.page_writes;
      stats_.bytes += PayloadBytes(r);
    }
    return EnqueueLocked(std::move(requests), false);
  }

  Result<void> Wait(Ticket ticket) override { return WaitFor(ticket); }

  // Group commit. A caller's frames end at `target` in the current log; it
  // joins a sync already running that started after they were written, or
  // else the forming round, whose leader starts one fdatasync covering
  // everything written by then once a slot is free. Every member of a round
  // gets that round's answer: a failed fdatasync is an error for each caller
  // it covered (rule W1: the caller cannot tell which frames were lost).
  Result<void> Flush() override {
    std::shared_ptr<SyncRound> round;
    {
      CvLock lock(&mu_);
      if (!open_) return Error(EIO);
      const uint64_t target = written_end_;
      if (durable_end_ >= target && !rewrite_needed_) return Ok();
      if (!rewrite_needed_) {
        // A running sync covers us only if it started after our frames
        // were written (its sync_to is at or past them); after a failure
        // none does: the retained bytes must be written again first.
        for (const auto& r : syncing_) {
          if (r->log > log_number_ || (r->log == log_number_ && r->sync_to >= target)) {
            round = r;
            break;
          }
        }
      }
      if (round == nullptr) {
        if (forming_ == nullptr) forming_ = std::make_shared<SyncRound>();
        round = forming_;
      }
      ++round->members;
      if (options_.counters) options_.counters->commit_joins.fetch_add(1, std::memory_order_relaxed);
      bool waited_for_writer = false;
      while (!round->done) {
        if (round == forming_ && CanStartSyncLocked() && WorthStartingLocked(*round)) {
          // A batch being written now (other callers' frames, one pwrite
          // away) is worth the wait: this round then covers them too,
          // instead of leaving them to a round of their own.
          if (writing_ && !waited_for_writer) {
            waited_for_writer = true;
            mu_.Wait(write_cv_);
            continue;
          }
          if (LeadRoundLocked(round)) {
            mu_.Unlock();  // compaction in this caller (background_work off)
            Compact();
            mu_.Lock();
          }
          break;
        }
        if (!open_) return Error(EIO);
        mu_.Wait(round->cv);
      }
    }
    if (round->err != 0) return Error(round->err);
    return Ok();
  }

  Result<PageRef> ReadPage(InodeId ino, PageIndex index) override {
    CvLock lock(&mu_);
    if (!open_) return Error(EIO);
    auto p = state_.pages.find(ino);
    if (p == state_.pages.end()) return PageRef();
    auto slot = p->second.find(index);
    if (slot == p->second.end()) return PageRef();
    // A copy: ReadLocLocked unlocks mu_, and the slot may move meanwhile (a
    // btree node splits when a batch adds pages).
    const PageLoc loc = slot->second.loc;
    return ReadLocLocked(loc);
  }

  void Crash() override {
    CvLock lock(&mu_);
    while (BusyLocked()) mu_.Wait(roles_cv_);
    in_flight_.clear();
    if (open_ && log_ != nullptr) {
      // A power cut: what the last successful fdatasync did not cover is
      // gone. Cutting the log there is the harshest outcome the host allows.
      if (int err = log_->Truncate(durable_end_); err != 0) {
        LogError(absl::StrCat(log_->name(), ": ftruncate while simulating a crash: ",
                              std::strerror(err)));
      }
    }
    CloseLocked();
    claimed_ = false;
  }

  bool has_volatile_cache() const override { return true; }

  StoreStats Stats() const override {
    CvLock lock(&mu_);
    StoreStats stats = stats_;
    stats.held_bytes = state_.page_bytes;
    return stats;
  }

 private:
  struct InFlight {
    Ticket ticket;
    std::vector<Request> requests;
    bool forget_unmapped = false;
  };
  // Bytes written to the log and not yet covered by an fdatasync.
  struct Chunk {
    uint64_t offset;
    std::string bytes;
  };

  // One group commit: an fdatasync of log `log` covering its frames below
  // `sync_to`, and the callers waiting for it.
  struct SyncRound {
    uint64_t log = 0;
    uint64_t sync_to = 0;
    int members = 0;
    bool done = false;
    int err = 0;
    // Its members wait here; for the forming round, also for a free slot.
    std::condition_variable cv;
  };

  bool CanStartSyncLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !syncs_blocked_ && syncing_.size() < std::max<uint32_t>(options_.max_concurrent_syncs, 1);
  }

  // Beside rounds already running, a round starts only once it has as many
  // callers as each of them. Where the host runs fdatasyncs of one file one
  // after another anyway (a fast device: the later one waits for the
  // earlier one's writeback and flush), starting at once would only split
  // the callers into smaller rounds; where it serves them side by side (a
  // slow virtual disk), a round this large still overlaps the running one.
  // With none running a round starts at once, and each round that ends
  // wakes the forming one to look again, so a round never waits for more
  // than the ones running.
  bool WorthStartingLocked(const SyncRound& round) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& running : syncing_) {
      if (round.members < running->members) return false;
    }
    return true;
  }

  // Runs `round` (the forming one) as its leader: one fdatasync covering
  // every frame written so far, on a descriptor of the log no other sync is
  // using. Each descriptor has its own write-back error cursor (W2-W4), so
  // an error one of them reports is never consumed by a sync running beside
  // it on another: every sync whose range held the failed page sees it.
  // Returns whether a compaction is due and must run in this caller.
  bool LeadRoundLocked(const std::shared_ptr<SyncRound>& round) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    forming_.reset();
    round->log = log_number_;
    round->sync_to = written_end_;
    syncing_.push_back(round);
    std::shared_ptr<HostFile> file;
    if (!idle_sync_files_.empty()) {
      file = std::move(idle_sync_files_.back());
      idle_sync_files_.pop_back();
    }
    const std::string name = log_->name();
    std::vector<std::shared_ptr<const Chunk>> rewrite;
    // After a failed fdatasync the host may have marked our pages clean
    // without writing them (W5.4), so a retry writes the bytes again first.
    if (rewrite_needed_) rewrite.assign(retained_.begin(), retained_.end());
    const uint64_t failures_before = sync_failures_;
    mu_.Unlock();
    int err = 0;
    if (file == nullptr) err = HostFile::Open(&host_, name, O_RDWR, &file);
    for (const auto& chunk : rewrite) {
      if (err == 0) err = file->Write(chunk->offset, chunk->bytes.data(), chunk->bytes.size());
    }
    if (err == 0) err = SyncLog(*file);
    if (options_.counters) options_.counters->commit_syncs.fetch_add(1, std::memory_order_relaxed);
    mu_.Lock();
    syncing_.erase(std::find(syncing_.begin(), syncing_.end(), round));
    // Another fdatasync of the log that failed while ours ran (a concurrent
    // round, a zero-fill) may have been the one to see an error of our
    // pages: ours then counts as failed too. Never a success we cannot prove.
    if (err == 0 && sync_failures_ != failures_before) err = last_sync_error_;
    bool compact = false;
    if (err == 0) {
      if (round->log == log_number_) {
        durable_end_ = std::max(durable_end_, round->sync_to);
        while (!retained_.empty() &&
               retained_.front()->offset + retained_.front()->bytes.size() <= durable_end_) {
          retained_bytes_ -= retained_.front()->bytes.size();
          retained_.pop_front();
        }
        // Everything retained was written again and synced, unless another
        // fdatasync failed meanwhile.
        if (sync_failures_ == failures_before) rewrite_needed_ = false;
      }
      ++stats_.flushes;
      compact = ShouldCompactLocked();
    } else {
      NoteSyncFailureLocked(err);
    }
    if (file != nullptr && round->log == log_number_ && open_) idle_sync_files_.push_back(file);
    round->err = err;
    round->done = true;
    if (options_.counters) {
      options_.counters->commit_callers.fetch_add(round->members, std::memory_order_relaxed);
    }
    // Its members, and one member of the forming round, which may now start.
    round->cv.notify_all();
    if (forming_ != nullptr) forming_->cv.notify_one();
    roles_cv_.notify_all();
    if (err != 0) {
      LogError(absl::StrCat(name, ": fdatasync: ", std::strerror(err)));
    }
    if (compact && options_.background_work) {
      compact_wanted_ = true;
      worker_cv_.notify_one();
      return false;
    }
    return compact;
  }

  // After a failed fdatasync the host may have dropped any unflushed page
  // of the log: the next flush writes the retained bytes again.
  void NoteSyncFailureLocked(int err) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    rewrite_needed_ = true;
    ++sync_failures_;
    last_sync_error_ = err;
  }

  Ticket last_ticket() {
    CvLock lock(&mu_);
    return last_ticket_;
  }

  Ticket EnqueueLocked(std::vector<Request> requests, bool forget_unmapped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const Ticket ticket = ++last_ticket_;
    in_flight_.push_back({ticket, std::move(requests), forget_unmapped});
    return ticket;
  }

  bool BusyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return writing_ || extending_ || !syncing_.empty() || compacting_;
  }

  // background_work: compactions and zero-filling, one at a time.
  void WorkerLoop() {
    CvLock lock(&mu_);
    while (!stop_) {
      if (open_ && compact_wanted_ && !compacting_) {
        compact_wanted_ = false;
        mu_.Unlock();
        Compact();
        mu_.Lock();
        continue;
      }
      if (NeedExtendLocked()) {
        ExtendAheadLocked();
        continue;
      }
      mu_.Wait(worker_cv_);
    }
  }

  // ---- Opening and closing ----

  Failure OpenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string lock_path = host_.PathOf(std::string(disk::kLockName));
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) return HostFailure(errno, std::string(disk::kLockName), "open");
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(lock_fd);
      if (err == EWOULDBLOCK) {
        return Fail(EBUSY, "is open in another process or another store object (LOCK is held)");
      }
      return HostFailure(err, std::string(disk::kLockName), "flock");
    }
    Recovered found;
    Recovery recovery(&host_, identity_.salt);
    Failure f = recovery.Run(&found);
    if (f.ok()) f = Install(std::move(found));
    if (!f.ok()) {
      files_.clear();
      log_.reset();
      ::close(lock_fd);
      return f;
    }
    lock_fd_ = lock_fd;
    open_ = true;
    return Failure{};
  }

  // Makes the recovered state the store's, after tidying the directory:
  // leftovers removed, a torn tail cut, a log created if there is none.
  Failure Install(Recovered found) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bool dir_changed = false;
    for (const std::string& name : found.garbage) {
      if (::unlink(host_.PathOf(name).c_str()) == 0) dir_changed = true;
    }
    files_ = std::move(found.files);
    state_ = std::move(found.state);
    checkpoint_ = found.checkpoint;
    older_log_bytes_ = found.older_log_bytes;
    if (found.active_log == 0) {
      // A new store, or a checkpoint whose log was never made durable.
      const uint64_t number = std::max<uint64_t>(found.checkpoint, 1);
      std::shared_ptr<HostFile> log;
      uint64_t unused = 0;
      if (Failure f = CreateLog(number, 0, nullptr, &log, &unused); !f.ok()) return f;
      dir_changed = false;  // CreateLog synced the directory
      found.active_log = number;
      found.log_end = disk::kLogHeaderSize;
      found.file_size = disk::kLogHeaderSize;
      files_[disk::LogFileId(number)] = log;
    }
    log_ = files_.at(disk::LogFileId(found.active_log));
    log_number_ = found.active_log;
    frame_seed_ = disk::FrameSeed(identity_.salt, log_number_);
    next_seq_ = found.next_seq;
    written_end_ = found.log_end;
    zeroed_end_ = found.file_size;
    if (found.tail_dirty) {
      // A torn tail: cut it, so no stale frame past it can ever line up
      // with the frames written next.
      if (int err = log_->Truncate(written_end_); err != 0) {
        return HostFailure(err, log_->name(), "ftruncate of a torn tail");
      }
      zeroed_end_ = written_end_;
    }
    // What recovery read may sit only in the host's cache (a process crash
    // keeps it there): make it durable before anything builds on it.
    if (int err = SyncLog(*log_); err != 0) return HostFailure(err, log_->name(), "fdatasync");
    if (dir_changed) {
      if (int err = host_.SyncDir(); err != 0) return HostFailure(err, ".", "fsync");
    }
    durable_end_ = written_end_;
    retained_.clear();
    retained_bytes_ = 0;
    rewrite_needed_ = false;
    poisoned_ = false;
    compact_retry_at_ = 0;
    return Failure{};
  }

  void CloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    files_.clear();
    log_.reset();
    idle_sync_files_.clear();
    recycle_.reset();  // its file is removed by the next open
    compact_wanted_ = false;
    extend_backoff_ = false;
    // Callers waiting for a round that will never start answer EIO.
    if (forming_ != nullptr) forming_->cv.notify_all();
    forming_.reset();
    write_cv_.notify_all();
    retained_.clear();
    retained_bytes_ = 0;
    rewrite_needed_ = false;
    state_ = StoreState();
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
    lock_fd_ = -1;
    open_ = false;
  }

  // Creates log `number`, its header durable and its name in the directory
  // before any frame goes into it. `*usable_end` is where the file's
  // allocated and written bytes end, which frames may overwrite without
  // changing its size: the header's end for a new file, the whole file for
  // a recycled one.
  //
  // A recycled file is the last log a compaction replaced: its header is
  // rewritten under the temporary name, made durable, and only then renamed
  // to log-<number>, so a crash leaves either a temporary file (removed at
  // the next open) or a log whose header is valid. Past the header it holds
  // frames of the old log, which never pass this log's frame checksum: the
  // seed differs (FrameSeed of another number), and a CRC32C seeded
  // differently differs for the same bytes. Recovery reads them as a torn
  // tail (docs/formats.md "Recycled logs").
  Failure CreateLog(uint64_t number, uint64_t prev_end, std::shared_ptr<HostFile> recycled,
                    std::shared_ptr<HostFile>* out, uint64_t* usable_end) {
    const std::string name = disk::LogName(number);
    disk::LogHeader header;
    header.number = number;
    header.salt = identity_.salt;
    header.prev_end = prev_end;
    const std::string bytes = disk::EncodeLogHeader(header);
    if (recycled != nullptr) {
      const std::string temp = host_.PathOf(std::string(kRecycleName));
      int err = recycled->Write(0, bytes.data(), bytes.size());
      if (err == 0) err = SyncLog(*recycled);
      if (err == 0 && ::rename(temp.c_str(), host_.PathOf(name).c_str()) != 0) err = errno;
      if (err == 0) err = host_.SyncDir();
      std::shared_ptr<HostFile> file;
      uint64_t size = 0;
      if (err == 0) err = HostFile::Open(&host_, name, O_RDWR, &file);
      if (err == 0) err = file->Size(&size);
      if (err == 0) {
        if (options_.counters) options_.counters->recycled_logs.fetch_add(1, std::memory_order_relaxed);
        *out = std::move(file);
        *usable_end = size;
        return Failure{};
      }
      // A fresh file instead. log-<number> may exist with a valid header:
      // the creation below truncates it and writes the header again.
      ::unlink(temp.c_str());
    }
    std::shared_ptr<HostFile> file;
    if (int err = HostFile::Open(&host_, name, O_RDWR | O_CREAT | O_TRUNC, &file); err != 0) {
      return HostFailure(err, name, "create");
    }
    int err = file->Write(0, bytes.data(), bytes.size());
    if (err == 0) err = SyncLog(*file);
    if (err == 0) err = host_.SyncDir();
    if (err != 0) {
      ::unlink(host_.PathOf(name).c_str());
      return HostFailure(err, name, "create");
    }
    *out = std::move(file);
    *usable_end = disk::kLogHeaderSize;
    return Failure{};
  }

  int SyncLog(const HostFile& file, DiskHostOp op = DiskHostOp::kSync) {
    const int err = file.Datasync(op);
    if (options_.counters) options_.counters->log_syncs.fetch_add(1, std::memory_order_relaxed);
    return err;
  }

  // ---- Writing ----

  // Completes every ticket up to `ticket` (Store::Wait).
  Result<void> WaitFor(Ticket ticket) {
    bool flush_now = false;
    {
      CvLock lock(&mu_);
      max_wanted_ = std::max(max_wanted_, ticket);
      for (;;) {
        if (writing_) {
          mu_.Wait(write_cv_);
          continue;
        }
        if (in_flight_.empty() || in_flight_.front().ticket > ticket) break;
        WriteBatchLocked();
      }
      flush_now = open_ && retained_bytes_ > options_.max_unflushed_bytes && syncing_.empty() &&
                  forming_ == nullptr;
      auto failed = failed_.find(ticket);
      if (failed != failed_.end()) return Error(failed->second);
    }
    // Bytes kept for a rewrite are bounded: past the limit the store flushes
    // on its own (a real disk's cache does too). Its error, if any, is kept
    // for the next Flush to retry and report.
    if (flush_now) (void)Flush();
    return Ok();
  }

  // Takes the writer role and writes the queued tickets up to the largest
  // any waiter wants, as one batch (one unit of atomicity in the log).
  void WriteBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    std::vector<InFlight> batch;
    while (!in_flight_.empty() && in_flight_.front().ticket <= max_wanted_) {
      batch.push_back(std::move(in_flight_.front()));
      in_flight_.pop_front();
    }
    Written written;
    int err = poisoned_ || !open_ ? EIO : 0;
    if (err == 0) {
      Position at{log_,        log_number_,  frame_seed_,     next_seq_,
                  written_end_, durable_end_, options_.align_commits ? state_.page_size : 0};
      mu_.Unlock();  // the writer role keeps the log past written_end_ ours
      err = WriteBatch(batch, at, &written);
      mu_.Lock();
    }
    if (err == 0) {
      size_t next_loc = 0;
      const uint64_t live_before = state_.page_bytes;
      for (const InFlight& f : batch) {
        if (f.forget_unmapped) state_.Apply(disk::ForgetUnmapped{});
        for (const Request& r : f.requests) {
          state_.Apply(ToRecord(r, written.locs, &next_loc));
        }
      }
      // Freed files and truncations give live data back. The threshold a
      // "not yet" answer of ShouldCompactLocked set comes down with it, so a
      // log of mostly deleted data is compacted without waiting for it to
      // grow to the size the old live data implied.
      if (state_.page_bytes < live_before && compact_retry_at_ != 0) {
        const uint64_t freed = uint64_t{options_.compaction_ratio} * (live_before - state_.page_bytes);
        compact_retry_at_ -= std::min(compact_retry_at_, freed);
      }
      next_seq_ = written.next_seq;
      written_end_ = written.end;
      for (auto& chunk : written.chunks) {
        retained_bytes_ += chunk->bytes.size();
        retained_.push_back(std::move(chunk));
      }
    } else {
      // Rule W1 starts here: every ticket of the batch answers the errno,
      // and none of its requests is applied or will be found by recovery.
      for (const InFlight& f : batch) failed_[f.ticket] = err;
      if (written.truncate_failed) poisoned_ = true;
    }
    writing_ = false;
    write_cv_.notify_all();
    roles_cv_.notify_all();
    if (NeedExtendLocked()) worker_cv_.notify_one();
  }

  struct Position {
    std::shared_ptr<HostFile> log;
    uint64_t number;
    uint32_t seed;
    uint64_t seq;
    uint64_t offset;
    uint64_t flushed_through;
    uint32_t page_size;  // for padding (align_commits); 0: no padding
  };
  struct Written {
    std::vector<PageLoc> locs;  // of the batch's PutPage requests, in order
    std::vector<std::shared_ptr<const Chunk>> chunks;
    uint64_t end = 0;
    uint64_t next_seq = 0;
    bool truncate_failed = false;
  };

  static Record ToRecord(const Request& r, const std::vector<PageLoc>& locs, size_t* next_loc) {
    if (const auto* page = std::get_if<PutPage>(&r)) {
      disk::PageRecord out;
      out.ino = page->ino;
      out.index = page->index;
      out.generation = page->generation;
      out.loc = locs[(*next_loc)++];
      return out;
    }
    return std::visit(
        [](const auto& v) -> Record {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, PutPage>) {
            return Record();  // handled above
          } else {
            return v;
          }
        },
        r);
  }

  // Encodes `batch` into frames and writes them at `at.offset`. Runs without
  // mu_: only the writer touches the log between written_end_ and
  // zeroed_end_, and only the holder of the extender role past zeroed_end_.
  int WriteBatch(const std::vector<InFlight>& batch, const Position& at, Written* out) {
    const uint64_t log_id = disk::LogFileId(at.number);
    uint64_t seq = at.seq;
    uint64_t chunk_offset = at.offset;  // file offset of buf[0]
    uint64_t zeroed_end = ZeroedEnd();
    std::string buf;
    size_t frame_start = 0;
    auto open_frame = [&] {
      frame_start = buf.size();
      buf.append(disk::kFrameHeaderSize, '\0');
    };
    auto close_frame = [&](bool last) {
      const uint64_t payload = buf.size() - frame_start - disk::kFrameHeaderSize;
      disk::FrameHeader header;
      header.seq = seq++;
      header.payload_size = static_cast<uint32_t>(payload);
      header.flags = last ? 0 : disk::kFrameContinues;
      header.flushed_through = at.flushed_through;
      buf.append(disk::FrameSpan(payload) - disk::kFrameHeaderSize - payload, '\0');
      disk::SealFrame(buf.data() + frame_start, header, at.seed);
    };
    int err = 0;
    auto write_chunk = [&] {
      const uint64_t end = chunk_offset + buf.size();
      if (end > zeroed_end) err = ExtendInWriter(*at.log, at.number, end, &zeroed_end);
      if (err == 0) err = at.log->Write(chunk_offset, buf.data(), buf.size());
      if (options_.counters) {
        options_.counters->log_writes.fetch_add(1, std::memory_order_relaxed);
        options_.counters->log_bytes.fetch_add(buf.size(), std::memory_order_relaxed);
      }
      if (err != 0) return;
      auto chunk = std::make_shared<Chunk>();
      chunk->offset = chunk_offset;
      chunk->bytes = std::move(buf);
      chunk_offset = end;
      out->chunks.push_back(std::move(chunk));
      buf = std::string();
    };
    open_frame();
    for (const InFlight& f : batch) {
      if (f.forget_unmapped) disk::EncodeForgetUnmapped(&buf);
      for (const Request& r : f.requests) {
        if (buf.size() - frame_start >= kFrameTarget) {
          close_frame(false);
          if (buf.size() >= kWriteChunk) {
            write_chunk();
            if (err != 0) break;
          }
          open_frame();
        }
        uint32_t crc = 0;
        const uint64_t data_at = disk::EncodeRequest(r, &buf, &crc);
        if (const auto* page = std::get_if<PutPage>(&r)) {
          const uint32_t size = page->data ? page->data->size() : 0;
          out->locs.push_back(PageLoc{log_id, chunk_offset + data_at, size, size, crc});
        }
      }
      if (err != 0) break;
    }
    if (err == 0) {
      PadToBlock(chunk_offset + frame_start, at.page_size, &buf, frame_start);
      close_frame(true);
      write_chunk();
    }
    if (err != 0) {
      // Nothing of a failed batch may be found by recovery: cut the log back
      // to where the batch began. Should that fail too, the store stops
      // writing until it is opened again (recovery drops the incomplete
      // batch: its last frame never made it).
      if (!CutLog(*at.log, at.number, at.offset)) out->truncate_failed = true;
      LogError(absl::StrCat(at.log->name(), ": writing frames at offset ", at.offset, ": ",
                            std::strerror(err)));
      out->chunks.clear();
      return err;
    }
    out->end = chunk_offset;
    out->next_seq = seq;
    return 0;
  }

  // align_commits: makes the batch's last frame, which starts at file offset `frame_at`
  // and whose payload so far is buf[frame_start + header, end), end on a
  // kCommitAlign boundary, by appending superblock records that repeat the
  // store's page size: records every reader already applies as no-ops
  // (docs/formats.md "Frames"). Two commits then never share a device
  // block: a later fdatasync never rewrites a block holding frames an
  // earlier one made durable (so a torn write cannot reach them), and
  // concurrent fdatasyncs never wait for each other's writeback of a shared
  // page. Without a superblock yet (page_size 0) nothing is added.
  static void PadToBlock(uint64_t frame_at, uint32_t page_size, std::string* buf,
                         size_t frame_start) {
    if (page_size == 0) return;
    const uint64_t payload = buf->size() - frame_start - disk::kFrameHeaderSize;
    const uint64_t end = frame_at + disk::FrameSpan(payload);
    const uint64_t aligned = (end + kCommitAlign - 1) / kCommitAlign * kCommitAlign;
    if (aligned == end) return;
    // The payload may grow to `room` and the span stay at `aligned`: a span
    // rounds up to kFrameAlign, so any payload in (room - 8, room] does.
    const uint64_t room = aligned - frame_at - disk::kFrameHeaderSize;
    const uint64_t count = (room - payload) / kSuperblockRecordSize;
    uint32_t unused = 0;
    for (uint64_t i = 0; i < count; ++i) disk::EncodeRequest(PutSuperblock{page_size}, buf, &unused);
  }

  uint64_t ZeroedEnd() {
    CvLock lock(&mu_);
    return zeroed_end_;
  }

  // The size of the next zero-filled step: doubling up to log_extend_bytes,
  // so a small store stays small.
  // After a compaction the new log starts at the step the old one reached.
  uint64_t ExtendStep(uint64_t zeroed_end) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return std::clamp<uint64_t>(std::max(zeroed_end, extend_hint_), kMinExtend,
                                std::max<uint64_t>(options_.log_extend_bytes, kMinExtend));
  }

  // Whether the worker should add a step now: less than half a step of
  // zeros is left ahead of the writes.
  bool NeedExtendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!options_.background_work || !open_ || extending_ || poisoned_ || extend_backoff_ ||
        log_ == nullptr) {
      return false;
    }
    return zeroed_end_ - std::min(zeroed_end_, written_end_) < ExtendStep(zeroed_end_) / 2;
  }

  // The writer needs the log zero-filled up to `end` and the worker has not
  // got there: it waits for a step the worker is adding, then adds what is
  // still missing itself.
  int ExtendInWriter(const HostFile& log, uint64_t number, uint64_t end, uint64_t* zeroed_end) {
    uint64_t from = 0;
    {
      CvLock lock(&mu_);
      while (extending_) mu_.Wait(roles_cv_);
      if (log_number_ != number) return EIO;  // cannot happen: the writer role blocks a switch
      *zeroed_end = zeroed_end_;
      if (end <= zeroed_end_) return 0;
      extending_ = true;
      from = zeroed_end_;
    }
    if (options_.counters) options_.counters->extends_in_caller.fetch_add(1, std::memory_order_relaxed);
    uint64_t to = 0;
    bool sync_failed = false;
    int err = ExtendLog(log, from, end, &to, &sync_failed);
    CvLock lock(&mu_);
    extending_ = false;
    if (err == 0) {
      zeroed_end_ = *zeroed_end = to;
      extend_backoff_ = false;
    }
    if (sync_failed) NoteSyncFailureLocked(err);
    roles_cv_.notify_all();
    return err;
  }

  // The worker's step: zero-fills the next step of the active log ahead of
  // the writes, so that the callers' writes find it done.
  void ExtendAheadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    extending_ = true;
    const std::shared_ptr<HostFile> log = log_;
    const uint64_t number = log_number_;
    const uint64_t from = zeroed_end_;
    const uint64_t end = from + ExtendStep(from);
    mu_.Unlock();
    uint64_t to = 0;
    bool sync_failed = false;
    const int err = ExtendLog(*log, from, end, &to, &sync_failed);
    mu_.Lock();
    extending_ = false;
    if (log_number_ == number && open_) {
      if (err == 0) {
        zeroed_end_ = to;
      } else {
        // The writer tries again itself when it needs the space, and its
        // caller gets the error; the worker waits for that to succeed.
        extend_backoff_ = true;
      }
      if (sync_failed) NoteSyncFailureLocked(err);
    }
    roles_cv_.notify_all();
  }

  // Cuts the log back to `offset` (a failed batch), as the extender: no
  // zero-fill runs meanwhile. False if the cut failed.
  bool CutLog(const HostFile& log, uint64_t number, uint64_t offset) {
    {
      CvLock lock(&mu_);
      while (extending_) mu_.Wait(roles_cv_);
      extending_ = true;
    }
    const bool cut = log.Truncate(offset) == 0;
    CvLock lock(&mu_);
    extending_ = false;
    if (cut && log_number_ == number) zeroed_end_ = std::min(zeroed_end_, offset);
    roles_cv_.notify_all();
    return cut;
  }

  // Grows the log with zeros from `from` to cover `end` (at least one step),
  // then fdatasyncs it, so that the frames written there later are
  // overwrites: their fdatasync then writes data only, no file size and no
  // allocation. The caller holds the extender role.
  int ExtendLog(const HostFile& log, uint64_t from, uint64_t end, uint64_t* to, bool* sync_failed) {
    uint64_t target = std::max(end, from + ExtendStep(from));
    // Written back piece by piece as it goes: a caller's fdatasync of the
    // log running meanwhile writes every dirty page of the file, and should
    // find at most one piece of zeros there, not the whole step.
    static const std::string zeros(256u << 10, '\0');
    for (uint64_t at = from; at < target;) {
      const uint64_t n = std::min<uint64_t>(zeros.size(), target - at);
      int err = log.Write(at, zeros.data(), n, DiskHostOp::kExtend);
      if (err == 0) err = log.WriteBack(at, n, DiskHostOp::kExtend);
      if (err != 0) {
        const uint64_t needed = (end + 4095) / 4096 * 4096;
        if ((err != ENOSPC && err != EDQUOT) || target <= needed) return err;
        // A nearly full disk: give back the extra and ask for what this
        // batch needs only.
        if (int cut = log.Truncate(from); cut != 0) return err;
        target = needed;
        at = from;
        continue;
      }
      at += n;
    }
    if (int err = SyncLog(log, DiskHostOp::kExtend); err != 0) {
      *sync_failed = true;
      return err;
    }
    if (options_.counters) options_.counters->extends.fetch_add(1, std::memory_order_relaxed);
    *to = target;
    return 0;
  }

  // ---- Reading ----

  Result<PageRef> ReadLocLocked(const PageLoc loc) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto file = files_.find(loc.file);
    if (file == files_.end()) {
      LogError(absl::StrCat("page location names file id ", loc.file, ", which is not open"));
      return Error(EIO);
    }
    std::shared_ptr<HostFile> host_file = file->second;
    PageRef page = PageBuffer::Allocate(loc.size);
    int err = 0;
    // The file stays open while we hold it, even if a compaction drops it.
    mu_.Unlock();
    err = host_file->ReadExactly(loc.offset, loc.size, page->data());
    if (options_.counters) options_.counters->page_reads.fetch_add(1, std::memory_order_relaxed);
    mu_.Lock();
    if (err != 0) {
      LogError(absl::StrCat(host_file->name(), ": reading a page at offset ", loc.offset, ": ",
                            std::strerror(err)));
      return Error(err);
    }
    if (crc32c::Value(page->data(), loc.size) != loc.crc) {
      // Never returned as data.
      LogError(absl::StrCat(host_file->name(), ": bad page checksum at offset ", loc.offset));
      return Error(EIO);
    }
    if (loc.valid < loc.size) std::memset(page->data() + loc.valid, 0, loc.size - loc.valid);
    return page;
  }

  // ---- Compaction (docs/formats.md "Compaction") ----

  bool ShouldCompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (options_.compaction_ratio == 0 || compacting_ || !open_) return false;
    const uint64_t log_bytes = older_log_bytes_ + written_end_;
    if (log_bytes < options_.compaction_min_log_bytes || log_bytes < compact_retry_at_) return false;
    // LiveBytes() walks every inode: once it says "not yet", it is asked
    // again only when the logs reach the size that answer implies.
    const uint64_t threshold = options_.compaction_ratio * state_.LiveBytes();
    if (log_bytes > threshold) return true;
    compact_retry_at_ = threshold;
    return false;
  }

  void Compact() {
    StoreState snapshot;
    absl::flat_hash_map<uint64_t, std::shared_ptr<HostFile>> sources;
    uint64_t old_checkpoint = 0, old_log = 0, next = 0;
    std::vector<std::shared_ptr<const Chunk>> rewrite;
    std::shared_ptr<HostFile> log;
    bool need_sync = false;
    {
      CvLock lock(&mu_);
      if (compacting_ || !open_) return;
      compacting_ = true;
      // Every role: no frame is written, no sync starts and no zeros are
      // added while the logs switch, so the old log's end is fixed and can
      // be made durable.
      syncs_blocked_ = true;
      while (writing_ || !syncing_.empty() || extending_) mu_.Wait(roles_cv_);
      writing_ = extending_ = true;
      need_sync = durable_end_ < written_end_ || rewrite_needed_;
      if (rewrite_needed_) rewrite.assign(retained_.begin(), retained_.end());
      // A descriptor a group commit used: its write-back error cursor has
      // seen the errors those commits answered already.
      log = idle_sync_files_.empty() ? log_ : idle_sync_files_.back();
      old_log = log_number_;
      old_checkpoint = checkpoint_;
      next = log_number_ + 1;
    }
    auto give_up = [&](const Failure& f) {
      LogError(absl::StrCat("compaction stopped: ", f.message));
      CvLock lock(&mu_);
      if (syncs_blocked_) ReleaseSwitchRolesLocked();  // stopped before the switch
      compacting_ = false;
      // Try again once the logs have grown by another minimum.
      compact_retry_at_ = older_log_bytes_ + written_end_ +
                          std::max<uint64_t>(options_.compaction_min_log_bytes, 1 << 20);
      roles_cv_.notify_all();
    };
    // 1. The old log durable to its end: the new log's header records that
    // end, and recovery requires every frame before it.
    int err = 0;
    for (const auto& chunk : rewrite) {
      if (err == 0) err = log->Write(chunk->offset, chunk->bytes.data(), chunk->bytes.size());
    }
    if (need_sync && err == 0) err = SyncLog(*log);
    if (err != 0) {
      {
        CvLock lock(&mu_);
        NoteSyncFailureLocked(err);
      }
      return give_up(HostFailure(err, log->name(), "fdatasync"));
    }
    uint64_t old_end = 0;
    {
      CvLock lock(&mu_);
      durable_end_ = written_end_;
      rewrite_needed_ = false;
      retained_.clear();
      retained_bytes_ = 0;
      old_end = written_end_;
    }
    // 2. The new log, durable and in the directory, then the switch.
    std::shared_ptr<HostFile> new_log;
    uint64_t new_log_end = 0;
    std::shared_ptr<HostFile> recycled;
    {
      CvLock lock(&mu_);
      // Only when nothing else holds the old file (a page read in flight
      // keeps a reference) and the seeds differ.
      if (recycle_ != nullptr && recycle_.use_count() == 1 &&
          disk::FrameSeed(identity_.salt, recycle_number_) != disk::FrameSeed(identity_.salt, next)) {
        recycled = std::move(recycle_);
      }
      recycle_.reset();
    }
    if (Failure f = CreateLog(next, old_end, std::move(recycled), &new_log, &new_log_end); !f.ok()) {
      return give_up(f);
    }
    {
      CvLock lock(&mu_);
      snapshot = state_;
      sources = files_;
      older_log_bytes_ += written_end_;
      files_[disk::LogFileId(next)] = new_log;
      log_ = new_log;
      log_number_ = next;
      frame_seed_ = disk::FrameSeed(identity_.salt, next);
      next_seq_ = 1;
      extend_hint_ = ExtendStep(zeroed_end_);
      written_end_ = durable_end_ = disk::kLogHeaderSize;
      zeroed_end_ = std::max<uint64_t>(new_log_end, disk::kLogHeaderSize);
      idle_sync_files_.clear();  // descriptors of the old log
      extend_backoff_ = false;
      ReleaseSwitchRolesLocked();
    }
    if (!Step(DiskCompactionStep::kLogSwitched)) return Abandon();
    // 3. checkpoint-<next>.tmp: the snapshot, the state at the end of the
    // old log, with its pages copied out of the old files.
    std::vector<PageLoc> new_locs;
    const std::string name = disk::CheckpointName(next);
    const std::string temp = name + std::string(disk::kTempSuffix);
    if (Failure f = WriteCheckpoint(next, snapshot, sources, temp, &new_locs); !f.ok()) {
      ::unlink(host_.PathOf(temp).c_str());
      return give_up(f);
    }
    if (!Step(DiskCompactionStep::kCheckpointWritten)) return Abandon();
    // 4. Installed by rename; durable once the directory is.
    err = host_.Inject(DiskHostOp::kRename, temp);
    if (err == 0 && ::rename(host_.PathOf(temp).c_str(), host_.PathOf(name).c_str()) != 0) {
      err = errno;
    }
    if (err != 0) {
      ::unlink(host_.PathOf(temp).c_str());
      return give_up(HostFailure(err, temp, "rename"));
    }
    if (int e = host_.SyncDir(); e != 0) {
      // The rename may or may not survive a power cut; both are complete
      // states. Keep the old files until a later compaction succeeds.
      return give_up(HostFailure(e, ".", "fsync after installing " + name));
    }
    std::shared_ptr<HostFile> checkpoint;
    if (int e = HostFile::Open(&host_, name, O_RDONLY, &checkpoint); e != 0) {
      return give_up(HostFailure(e, name, "open"));
    }
    {
      // Pages not rewritten since the snapshot now live in the checkpoint.
      CvLock lock(&mu_);
      const uint64_t id = disk::CheckpointFileId(next);
      size_t i = 0;
      for (const auto& [ino, slots] : snapshot.pages) {
        auto live = state_.pages.find(ino);
        for (const auto& [index, slot] : slots) {
          const PageLoc& moved = new_locs[i++];
          if (live == state_.pages.end()) continue;
          auto now = live->second.find(index);
          if (now == live->second.end() || now->second.loc.file != slot.loc.file ||
              now->second.loc.offset != slot.loc.offset) {
            continue;
          }
          const uint32_t valid = now->second.loc.valid;  // a truncation since may have cut it
          now->second.loc = moved;
          now->second.loc.valid = std::min(valid, moved.valid);
        }
      }
      for (auto it = files_.begin(); it != files_.end();) {
        auto cur = it++;
        if (cur->first != disk::LogFileId(next)) files_.erase(cur);
      }
      files_[id] = checkpoint;
      checkpoint_ = next;
      older_log_bytes_ = 0;
    }
    if (!Step(DiskCompactionStep::kCheckpointInstalled)) return Abandon();
    // 5. The files the checkpoint replaces. The last old log, whose blocks
    // are all allocated and written, is kept under a temporary name for the
    // next compaction to write its new log into (CreateLog): no zero-fill.
    for (uint64_t n = std::max<uint64_t>(old_checkpoint, 1); n <= old_log; ++n) {
      auto source = sources.find(disk::LogFileId(n));
      if (n == old_log && source != sources.end() &&
          ::rename(host_.PathOf(disk::LogName(n)).c_str(),
                   host_.PathOf(std::string(kRecycleName)).c_str()) == 0) {
        CvLock lock(&mu_);
        recycle_ = source->second;
        recycle_number_ = n;
        continue;
      }
      ::unlink(host_.PathOf(disk::LogName(n)).c_str());
    }
    if (old_checkpoint != 0) ::unlink(host_.PathOf(disk::CheckpointName(old_checkpoint)).c_str());
    // Not needed for correctness (recovery removes them again), only to free
    // the space for sure.
    (void)host_.SyncDir();
    if (options_.counters) options_.counters->compactions.fetch_add(1, std::memory_order_relaxed);
    (void)Step(DiskCompactionStep::kOldFilesRemoved);
    CvLock lock(&mu_);
    compacting_ = false;
    compact_retry_at_ = 0;
    roles_cv_.notify_all();
  }

  // Gives back the roles a compaction took to switch logs.
  void ReleaseSwitchRolesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = extending_ = false;
    syncs_blocked_ = false;
    write_cv_.notify_all();
    if (forming_ != nullptr) forming_->cv.notify_one();  // rounds may start again
    roles_cv_.notify_all();
    worker_cv_.notify_one();  // the new log wants its first zeros
  }

  bool Step(DiskCompactionStep step) {
    return !options_.compaction_hook || options_.compaction_hook(step);
  }

  // The test hook stopped the compaction: the files stay as they are, and
  // the next attempt waits as after a failure.
  void Abandon() {
    CvLock lock(&mu_);
    compacting_ = false;
    compact_retry_at_ = older_log_bytes_ + written_end_ +
                        std::max<uint64_t>(options_.compaction_min_log_bytes, 1 << 20);
    roles_cv_.notify_all();
  }

  Failure WriteCheckpoint(uint64_t number, const StoreState& snapshot,
                          const absl::flat_hash_map<uint64_t, std::shared_ptr<HostFile>>& sources,
                          const std::string& temp, std::vector<PageLoc>* new_locs) {
    std::shared_ptr<HostFile> file;
    if (int err = HostFile::Open(&host_, temp, O_RDWR | O_CREAT | O_TRUNC, &file); err != 0) {
      return HostFailure(err, temp, "create");
    }
    const uint64_t id = disk::CheckpointFileId(number);
    std::string buf = disk::EncodeCheckpointHeader(number, identity_.salt);
    uint64_t buf_at = 0;  // file offset of buf[0]
    // Each piece is written back as soon as it is written, 1 MiB at a time:
    // a device cache flush the callers' fdatasyncs issue meanwhile then
    // waits for at most that much of the checkpoint, where one fdatasync at
    // the end would queue the whole checkpoint (tens of MiB) ahead of them.
    auto flush_buf = [&]() -> int {
      int err = file->Write(buf_at, buf.data(), buf.size());
      for (uint64_t at = 0; err == 0 && at < buf.size(); at += kCheckpointWriteBack) {
        err = file->WriteBack(buf_at + at, std::min<uint64_t>(kCheckpointWriteBack, buf.size() - at),
                              DiskHostOp::kSync);
      }
      buf_at += buf.size();
      buf.clear();
      return err;
    };
    std::string meta;
    if (snapshot.page_size != 0) {
      uint32_t unused = 0;
      disk::EncodeRequest(PutSuperblock{snapshot.page_size}, &meta, &unused);
    }
    disk::EncodeGeneration(snapshot.generation, &meta);
    for (const auto& [ino, record] : snapshot.inodes) {
      uint32_t unused = 0;
      disk::EncodeRequest(PutInode{record, false}, &meta, &unused);
    }
    for (const auto& [dir, names] : snapshot.entries) {
      for (const auto& [name, ino] : names) {
        uint32_t unused = 0;
        disk::EncodeRequest(PutDirent{dir, name, ino}, &meta, &unused);
      }
    }
    for (const auto& [ino, slots] : snapshot.pages) {
      for (const auto& [index, slot] : slots) {
        auto source = sources.find(slot.loc.file);
        if (source == sources.end()) {
          return Fail(EIO, absl::StrCat("page of inode ", ino.value(), " names file id ",
                                        slot.loc.file, ", which is not open"));
        }
        const size_t at = buf.size();
        buf.resize(at + slot.loc.size);
        if (int err = source->second->ReadExactly(slot.loc.offset, slot.loc.size, buf.data() + at);
            err != 0) {
          return HostFailure(err, source->second->name(), "read");
        }
        // A page that went bad stops the compaction: copying it would make
        // the corruption look valid.
        if (crc32c::Value(buf.data() + at, slot.loc.size) != slot.loc.crc) {
          return Fail(EIO, absl::StrCat(source->second->name(), ": bad page checksum at offset ",
                                        slot.loc.offset));
        }
        PageLoc moved = slot.loc;
        moved.file = id;
        moved.offset = buf_at + at;
        new_locs->push_back(moved);
        disk::EncodeCheckpointPage(ino, index, slot.generation, slot.mapped, moved, &meta);
        if (buf.size() >= kWriteChunk) {
          if (int err = flush_buf(); err != 0) return HostFailure(err, temp, "write");
        }
      }
    }
    disk::CheckpointFooter footer;
    footer.number = number;
    footer.meta_offset = buf_at + buf.size();
    footer.meta_size = meta.size();
    footer.meta_crc = crc32c::Value(meta.data(), meta.size());
    buf += meta;
    buf += disk::EncodeCheckpointFooter(footer, identity_.salt);
    if (int err = flush_buf(); err != 0) return HostFailure(err, temp, "write");
    if (int err = file->Datasync(); err != 0) return HostFailure(err, temp, "fdatasync");
    return Failure{};
  }

  disk::Host host_;
  const DiskStoreOptions options_;
  const disk::Identity identity_;

  mutable CvMutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int lock_fd_ ABSL_GUARDED_BY(mu_) = -1;
  bool claimed_ ABSL_GUARDED_BY(mu_) = false;
  StoreState state_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::shared_ptr<HostFile>> files_ ABSL_GUARDED_BY(mu_);
  uint64_t checkpoint_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t older_log_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t compact_retry_at_ ABSL_GUARDED_BY(mu_) = 0;
  // The active log and the writer's position in it.
  std::shared_ptr<HostFile> log_ ABSL_GUARDED_BY(mu_);
  uint64_t log_number_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t frame_seed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t written_end_ ABSL_GUARDED_BY(mu_) = 0;  // completed frames end here
  uint64_t durable_end_ ABSL_GUARDED_BY(mu_) = 0;  // the last fdatasync covered this
  uint64_t zeroed_end_ ABSL_GUARDED_BY(mu_) = 0;   // the file's size; zeros past written_end_
  std::deque<std::shared_ptr<const Chunk>> retained_ ABSL_GUARDED_BY(mu_);
  uint64_t retained_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool rewrite_needed_ ABSL_GUARDED_BY(mu_) = false;  // an fdatasync failed
  uint64_t sync_failures_ ABSL_GUARDED_BY(mu_) = 0;
  bool poisoned_ ABSL_GUARDED_BY(mu_) = false;        // a failed batch could not be cut away
  // Tickets.
  Ticket last_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  Ticket max_wanted_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Ticket, int> failed_ ABSL_GUARDED_BY(mu_);
  // Group commit: the rounds whose fdatasync runs, the one forming, and
  // descriptors of the active log for them.
  std::vector<std::shared_ptr<SyncRound>> syncing_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<SyncRound> forming_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<HostFile>> idle_sync_files_ ABSL_GUARDED_BY(mu_);
  int last_sync_error_ ABSL_GUARDED_BY(mu_) = EIO;
  // Roles.
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool extending_ ABSL_GUARDED_BY(mu_) = false;      // adds zeros past zeroed_end_
  bool syncs_blocked_ ABSL_GUARDED_BY(mu_) = false;  // a compaction switches logs
  bool compacting_ ABSL_GUARDED_BY(mu_) = false;
  // The worker (background_work).
  bool compact_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool extend_backoff_ ABSL_GUARDED_BY(mu_) = false;  // its last step failed
  uint64_t extend_hint_ ABSL_GUARDED_BY(mu_) = 0;     // the last log's step
  // The last log the latest compaction replaced, renamed to kRecycleName.
  std::shared_ptr<HostFile> recycle_ ABSL_GUARDED_BY(mu_);
  uint64_t recycle_number_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable write_cv_;   // a batch completed, the writer role is free
  std::condition_variable roles_cv_;   // any role released
  std::condition_variable worker_cv_;  // work for the worker
  std::thread worker_;
  StoreStats stats_ ABSL_GUARDED_BY(mu_);
};

// ---- Opening a directory ----

bool ReadSmallFile(const std::string& path, std::string* out, int* err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return false;
  }
  char buf[4096];
  out->clear();
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = errno;
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > (1 << 16)) break;  // no identity file is this long
  }
  ::close(fd);
  return true;
}

int SyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// Names in `dir` other than "." and "..".
int ListNames(const std::string& dir, std::vector<std::string>* names) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno;
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") names->emplace_back(name);
  }
  ::closedir(d);
  return 0;
}

// Writes the identity file by write-temp, fsync, rename, fsync-directory:
// the directory becomes a store at the rename, whole or not at all.
Failure CreateIdentity(const std::string& dir, disk::Identity* identity) {
  uint64_t salt = 0;
  if (::getrandom(&salt, sizeof salt, 0) != sizeof salt) {
    return HostFailure(errno, "getrandom", "salt");
  }
  identity->salt = salt;
  const std::string text = disk::EncodeIdentity(*identity);
  const std::string temp = dir + "/" + std::string(disk::kIdentityName) + std::string(disk::kTempSuffix);
  const std::string final_path = dir + "/" + std::string(disk::kIdentityName);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return HostFailure(errno, temp, "create");
  int err = 0;
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    err = errno != 0 ? errno : EIO;
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err == 0 && ::rename(temp.c_str(), final_path.c_str()) != 0) err = errno;
  if (err == 0) err = SyncPath(dir);
  if (err != 0) {
    ::unlink(temp.c_str());
    return HostFailure(err, std::string(disk::kIdentityName), "create");
  }
  return Failure{};
}

Failure OpenDirectory(const std::string& dir, const DiskStoreOptions& options,
                      std::shared_ptr<DiskStore>* out) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return HostFailure(errno, dir, "stat");
    if (!options.create_if_missing) {
      return Fail(ENOENT, "does not exist (and create_if_missing is off)");
    }
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return HostFailure(errno, dir, "mkdir");
    // The new directory's own entry durable in its parent.
    const size_t slash = dir.find_last_of('/');
    const std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
    if (int err = SyncPath(parent); err != 0) return HostFailure(err, parent, "fsync");
  } else if (!S_ISDIR(st.st_mode)) {
    return Fail(ENOTDIR, "is not a directory");
  }
  const std::string identity_path = dir + "/" + std::string(disk::kIdentityName);
  std::string text;
  int err = 0;
  disk::Identity identity;
  bool create = false;
  if (ReadSmallFile(identity_path, &text, &err)) {
    auto decoded = disk::DecodeIdentity(text);
    if (auto* bad = std::get_if<disk::IdentityError>(&decoded)) return Fail(bad->code, bad->message);
    identity = std::get<disk::Identity>(decoded);
  } else if (err != ENOENT) {
    return HostFailure(err, std::string(disk::kIdentityName), "read");
  } else {
    // No identity: a store only if empty (or holding what an interrupted
    // creation leaves: the lock and the identity's temporary file).
    std::vector<std::string> names;
    if (int e = ListNames(dir, &names); e != 0) return HostFailure(e, dir, "opendir");
    for (const std::string& name : names) {
      if (name != disk::kLockName &&
          name != std::string(disk::kIdentityName) + std::string(disk::kTempSuffix)) {
        return Fail(EINVAL, absl::StrCat("is not a vfs disk store: it holds '", name,
                                         "' and no ", std::string(disk::kIdentityName), " file"));
      }
    }
    if (!options.create_if_missing) {
      return Fail(ENOENT, "is empty (and create_if_missing is off)");
    }
    create = true;
  }
  if (create) {
    // Under the lock, so two processes creating at once do not both write.
    const std::string lock_path = dir + "/" + std::string(disk::kLockName);
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) return HostFailure(errno, std::string(disk::kLockName), "create");
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      ::close(lock_fd);
      if (e == EWOULDBLOCK) return Fail(EBUSY, "is being created by another process (LOCK is held)");
      return HostFailure(e, std::string(disk::kLockName), "flock");
    }
    Failure f;
    if (ReadSmallFile(identity_path, &text, &err)) {
      // Another process created it meanwhile: open what it made.
      auto decoded = disk::DecodeIdentity(text);
      if (auto* bad = std::get_if<disk::IdentityError>(&decoded)) {
        f = Fail(bad->code, bad->message);
      } else {
        identity = std::get<disk::Identity>(decoded);
      }
    } else {
      f = CreateIdentity(dir, &identity);
    }
    ::close(lock_fd);  // Open() takes it again
    if (!f.ok()) return f;
  }
  auto store = std::make_shared<DiskStore>(dir, options, identity);
  if (Failure f = store->Open(); !f.ok()) return f;
  store->StartWorker();
  *out = std::move(store);
  return Failure{};
}

}  // namespace

Result<std::shared_ptr<Store>> OpenDiskStore(const std::string& dir, DiskStoreOptions options,
                                             std::string* error_message) {
  std::shared_ptr<DiskStore> store;
  Failure f = OpenDirectory(dir, options, &store);
  if (!f.ok()) {
    const std::string line = absl::StrCat("vfs disk store ", dir, ": ", f.message);
    if (error_message != nullptr) *error_message = line;
    if (options.error_log) {
      options.error_log(line);
    } else if (error_message == nullptr) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    return Error(f.code);
  }
  if (error_message != nullptr) error_message->clear();
  return std::shared_ptr<Store>(std::move(store));
}

}  // namespace vfs
