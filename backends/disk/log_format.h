// The on-disk format of the disk store, version kFormatVersion: the identity
// file, log headers and frames, the records inside frames, and checkpoint
// files. docs/formats.md describes it byte by byte; this file is the code of
// that description, with no I/O: encoders append to a string, decoders read
// from a byte range and say where they stopped.
//
// Thread-safety: pure functions and plain values.
#ifndef BACKENDS_DISK_LOG_FORMAT_H_
#define BACKENDS_DISK_LOG_FORMAT_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "vfs/store.h"

namespace vfs::disk {

static_assert(std::endian::native == std::endian::little,
              "the disk format is little-endian and the codec copies bytes as they are");

// Bumped whenever a byte of the format changes meaning. A store of another
// version is refused (ENOTSUP), never read. Version 2: inode records carry
// rdev and extended attributes (rules X2, X5).
inline constexpr uint32_t kFormatVersion = 2;

// ---- File names (docs/formats.md "Directory") ----
inline constexpr std::string_view kIdentityName = "VFSSTORE";
inline constexpr std::string_view kLockName = "LOCK";
inline constexpr std::string_view kLogPrefix = "log-";
inline constexpr std::string_view kCheckpointPrefix = "checkpoint-";
inline constexpr std::string_view kTempSuffix = ".tmp";
std::string LogName(uint64_t number);
std::string CheckpointName(uint64_t number);
// The number in "log-000042" or "checkpoint-000042" for `prefix`, if `name`
// is exactly such a name.
std::optional<uint64_t> ParseNumberedName(std::string_view name, std::string_view prefix);

// ---- Identity file ----
struct Identity {
  uint32_t version = kFormatVersion;
  uint64_t salt = 0;  // random per store; seeds every checksum
};
std::string EncodeIdentity(const Identity& identity);
// Fails with a message when `text` is not an identity file at all
// (EINVAL) or names another version (ENOTSUP).
struct IdentityError {
  int code;
  std::string message;
};
std::variant<Identity, IdentityError> DecodeIdentity(std::string_view text);

// ---- Log files ----
inline constexpr uint32_t kLogMagic = 0x474f4c56;  // "VLOG"
inline constexpr uint32_t kFrameMagic = 0x4d524656;  // "VFRM"
inline constexpr uint32_t kLogHeaderSize = 64;
inline constexpr uint32_t kFrameHeaderSize = 32;
inline constexpr uint32_t kFrameAlign = 8;
inline constexpr uint32_t kMaxFramePayload = 64u << 20;

struct LogHeader {
  uint64_t number = 0;
  uint64_t salt = 0;
  // Where the previous log's frames end (0 for a first log). A log is
  // created only after the previous one is durable, so the previous one must
  // hold valid frames up to exactly here.
  uint64_t prev_end = 0;
};
std::string EncodeLogHeader(const LogHeader& header);
// nullopt if the bytes are not a valid header (bad magic or checksum).
// `version` receives the header's format version when the magic matches.
std::optional<LogHeader> DecodeLogHeader(std::string_view bytes, uint32_t* version);

// Frame flags.
inline constexpr uint32_t kFrameContinues = 1;  // the batch goes on in the next frame

struct FrameHeader {
  uint64_t seq = 0;             // 1, 2, 3, ... within one log
  uint32_t payload_size = 0;
  uint32_t flags = 0;
  uint64_t flushed_through = 0;  // log offset known durable when written
};
// Bytes a frame with `payload_size` bytes of payload takes, padding included.
inline uint64_t FrameSpan(uint64_t payload_size) {
  return (kFrameHeaderSize + payload_size + kFrameAlign - 1) / kFrameAlign * kFrameAlign;
}
// Writes the header of the frame whose payload is `frame[kFrameHeaderSize,
// kFrameHeaderSize + header.payload_size)` into its first kFrameHeaderSize
// bytes, checksum included. `seed` is FrameSeed(salt, log number).
void SealFrame(char* frame, const FrameHeader& header, uint32_t seed);
uint32_t FrameSeed(uint64_t salt, uint64_t log_number);
// Reads the header at `bytes` (at least kFrameHeaderSize long). nullopt if
// the magic is wrong or the size impossible; the checksum is checked by
// FrameChecksumOk once the payload is at hand.
std::optional<FrameHeader> PeekFrameHeader(std::string_view bytes);
bool FrameChecksumOk(std::string_view frame, uint32_t seed);  // header + payload

// ---- Records (the payload of frames) ----
enum class RecordType : uint8_t {
  kSuperblock = 1,
  kPage = 2,
  kInode = 3,
  kDirent = 4,
  kDelDirent = 5,
  kTruncate = 6,
  kFreeInode = 7,
  kForgetUnmapped = 8,  // a Load: pages no record mapped are forgotten
  kGeneration = 9,      // checkpoints: the largest generation seen
};

// Where the bytes of a page are: in which file, at which offset, how many,
// with which checksum; bytes from `valid` on read as zeros (a truncation
// zeroed them).
struct PageLoc {
  uint64_t file = 0;  // FileId
  uint64_t offset = 0;
  uint32_t size = 0;
  uint32_t valid = 0;
  uint32_t crc = 0;
  friend bool operator==(const PageLoc&, const PageLoc&) = default;
};
// A file of the store: a log or a checkpoint, by number.
inline uint64_t LogFileId(uint64_t number) { return number << 1; }
inline uint64_t CheckpointFileId(uint64_t number) { return (number << 1) | 1; }

// A page record as read back: the page's location instead of its bytes.
struct PageRecord {
  InodeId ino;
  PageIndex index;
  uint64_t generation = 0;
  PageLoc loc;
  bool mapped = false;  // checkpoints only
  bool inline_data = false;  // as decoded: the bytes follow the record (log frames only)
};
struct ForgetUnmapped {};
struct GenerationRecord {
  uint64_t generation = 0;
};
using Record = std::variant<PutSuperblock, PageRecord, PutInode, PutDirent, DelDirent, Truncate,
                            FreeInode, ForgetUnmapped, GenerationRecord>;

// Appends the encoding of `request` to `out`. For a PutPage, returns the
// offset in `out` of the page bytes and their checksum in `*crc`.
uint64_t EncodeRequest(const Request& request, std::string* out, uint32_t* crc);
void EncodeForgetUnmapped(std::string* out);
// A page record of a checkpoint: its location instead of its bytes.
void EncodeCheckpointPage(InodeId ino, PageIndex index, uint64_t generation, bool mapped,
                          const PageLoc& loc, std::string* out);
void EncodeGeneration(uint64_t generation, std::string* out);

// Decodes the records of `payload`, a frame's payload or a checkpoint's
// metadata, calling f(Record) for each. Page bytes found inline (log frames)
// are at `base + offset in payload` of file `file`. Returns false, and the
// offset in `payload` of the bad record in `*bad_at`, if a record is
// malformed (which a valid checksum should have ruled out), or if f returns
// bool and answers false for it (f refuses it: record_check.h).
template <typename F>
bool DecodeRecords(std::string_view payload, uint64_t file, uint64_t base, uint64_t* bad_at, F f);

// ---- Checkpoint files ----
inline constexpr uint32_t kCheckpointMagic = 0x54504b56;  // "VKPT"
inline constexpr uint32_t kCheckpointHeaderSize = 4096;   // data pages start aligned
inline constexpr uint32_t kCheckpointFooterSize = 48;
struct CheckpointFooter {
  uint64_t number = 0;
  uint64_t meta_offset = 0;
  uint64_t meta_size = 0;
  uint32_t meta_crc = 0;
};
std::string EncodeCheckpointHeader(uint64_t number, uint64_t salt);
std::optional<uint64_t> DecodeCheckpointHeader(std::string_view bytes, uint64_t salt,
                                               uint32_t* version);
std::string EncodeCheckpointFooter(const CheckpointFooter& footer, uint64_t salt);
std::optional<CheckpointFooter> DecodeCheckpointFooter(std::string_view bytes, uint64_t salt);

// ---- Byte helpers ----
inline void PutFixed32(std::string* out, uint32_t v) { out->append(reinterpret_cast<char*>(&v), 4); }
inline void PutFixed64(std::string* out, uint64_t v) { out->append(reinterpret_cast<char*>(&v), 8); }
inline uint32_t GetFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t GetFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
// The offset of the first byte of `bytes` at or after `from` that is not
// zero, or bytes.size(). Compares whole blocks with memcmp, so the tail of a
// zero-filled log (megabytes) is scanned at memory speed.
size_t FirstNonZero(std::string_view bytes, size_t from);

// A cursor over a byte range that fails softly past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ >= bytes_.size(); }
  uint8_t U8() { return Take(1) ? static_cast<uint8_t>(bytes_[pos_ - 1]) : 0; }
  uint32_t U32() { return Take(4) ? GetFixed32(bytes_.data() + pos_ - 4) : 0; }
  uint64_t U64() { return Take(8) ? GetFixed64(bytes_.data() + pos_ - 8) : 0; }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string_view Bytes(size_t n) {
    return Take(n) ? bytes_.substr(pos_ - n, n) : std::string_view();
  }

 private:
  bool Take(size_t n) {
    if (!ok_ || bytes_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  std::string_view bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

template <typename F>
bool DecodeRecords(std::string_view payload, uint64_t file, uint64_t base, uint64_t* bad_at, F f) {
  Reader in(payload);
  while (!in.done()) {
    const size_t start = in.pos();
    const auto type = static_cast<RecordType>(in.U8());
    auto timespec = [&in] {
      Timespec t;
      t.sec = in.I64();
      t.nsec = in.I64();
      return t;
    };
    bool known = true;
    Record record;
    switch (type) {
      case RecordType::kSuperblock:
        record = PutSuperblock{in.U32()};
        break;
      case RecordType::kPage: {
        PageRecord page;
        page.ino = InodeId(in.U64());
        page.index = PageIndex(in.U64());
        page.generation = in.U64();
        const uint8_t inline_data = in.U8();
        const uint8_t mapped = in.U8();
        if (inline_data > 1 || mapped > 1) known = false;  // flags are 0 or 1
        page.inline_data = inline_data != 0;
        page.mapped = mapped != 0;
        page.loc.size = in.U32();
        page.loc.valid = in.U32();
        page.loc.crc = in.U32();
        if (inline_data) {
          page.loc.file = file;
          page.loc.offset = base + in.pos();
          in.Bytes(page.loc.size);
        } else {
          page.loc.file = in.U64();
          page.loc.offset = in.U64();
        }
        if (page.loc.valid > page.loc.size) known = false;
        record = page;
        break;
      }
      case RecordType::kInode: {
        PutInode r;
        const uint8_t data_only = in.U8();
        if (data_only > 1) known = false;
        r.data_only = data_only != 0;
        r.record.ino = InodeId(in.U64());
        r.record.mode = in.U32();
        r.record.uid = in.U32();
        r.record.gid = in.U32();
        r.record.size = in.U64();
        r.record.atime = timespec();
        r.record.mtime = timespec();
        r.record.ctime = timespec();
        const uint32_t n = in.U32();
        r.record.symlink_target = std::string(in.Bytes(n));
        // Version 2: rdev, then the extended attributes in name order.
        r.record.rdev = in.U64();
        const uint32_t count = in.U32();
        std::string_view previous;
        for (uint32_t i = 0; i < count && in.ok(); ++i) {
          const std::string_view name = in.Bytes(in.U32());
          const std::string_view value = in.Bytes(in.U32());
          // Names strictly ascending: a name twice is damage, not a choice.
          if (i > 0 && name <= previous) known = false;
          previous = name;
          if (in.ok()) r.record.xattrs.emplace(std::string(name), std::string(value));
        }
        record = std::move(r);
        break;
      }
      case RecordType::kDirent: {
        PutDirent r;
        r.dir = InodeId(in.U64());
        r.ino = InodeId(in.U64());
        const uint32_t n = in.U32();
        r.name = std::string(in.Bytes(n));
        record = std::move(r);
        break;
      }
      case RecordType::kDelDirent: {
        DelDirent r;
        r.dir = InodeId(in.U64());
        const uint32_t n = in.U32();
        r.name = std::string(in.Bytes(n));
        record = std::move(r);
        break;
      }
      case RecordType::kTruncate: {
        Truncate r;
        r.ino = InodeId(in.U64());
        r.size = in.U64();
        r.generation = in.U64();
        r.end_page = in.U64();
        record = r;
        break;
      }
      case RecordType::kFreeInode:
        record = FreeInode{InodeId(in.U64())};
        break;
      case RecordType::kForgetUnmapped:
        record = ForgetUnmapped{};
        break;
      case RecordType::kGeneration:
        record = GenerationRecord{in.U64()};
        break;
      default:
        known = false;
    }
    if (!known || !in.ok()) {
      *bad_at = start;
      return false;
    }
    if constexpr (std::is_invocable_r_v<bool, F, Record>) {
      if (!f(std::move(record))) {
        *bad_at = start;
        return false;
      }
    } else {
      f(std::move(record));
    }
  }
  return true;
}

}  // namespace vfs::disk

#endif  // BACKENDS_DISK_LOG_FORMAT_H_
