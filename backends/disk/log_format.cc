// The encoders and decoders of docs/formats.md. Every checksum is CRC32C
// seeded with the store's salt (and, for frames, the log's number), so bytes
// from another store, or from an earlier life of a recycled file, never pass
// as this store's records.
#include "backends/disk/log_format.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "backends/disk/crc32c.h"

namespace vfs::disk {
namespace {

uint32_t SaltSeed(uint64_t salt) {
  return crc32c::Value(&salt, sizeof salt);
}

std::string Numbered(std::string_view prefix, uint64_t number) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06" PRIu64, number);
  return std::string(prefix) + digits;
}

}  // namespace

std::string LogName(uint64_t number) { return Numbered(kLogPrefix, number); }
std::string CheckpointName(uint64_t number) { return Numbered(kCheckpointPrefix, number); }

std::optional<uint64_t> ParseNumberedName(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = name.substr(prefix.size());
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t number = 0;
  if (!absl::SimpleAtoi(std::string(digits), &number) || number == 0) return std::nullopt;
  return number;
}

// ---- Identity ----
// Text, so that `cat VFSSTORE` tells a person what the directory is:
//   vfs disk store
//   format-version: 2
//   salt: 0123456789abcdef

std::string EncodeIdentity(const Identity& identity) {
  char salt[32];
  std::snprintf(salt, sizeof salt, "%016" PRIx64, identity.salt);
  return absl::StrCat("vfs disk store\nformat-version: ", identity.version, "\nsalt: ", salt, "\n");
}

std::variant<Identity, IdentityError> DecodeIdentity(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.empty() || lines[0] != "vfs disk store") {
    return IdentityError{EINVAL, "is not a vfs disk store (bad identity file)"};
  }
  Identity identity;
  bool have_version = false, have_salt = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) continue;
    if (line.substr(0, 16) == "format-version: ") {
      have_version = absl::SimpleAtoi(std::string(line.substr(16)), &identity.version);
    } else if (line.substr(0, 6) == "salt: ") {
      have_salt = absl::SimpleHexAtoi(std::string(line.substr(6)), &identity.salt);
    }
  }
  if (!have_version) return IdentityError{EINVAL, "has an identity file without a format version"};
  if (identity.version != kFormatVersion) {
    return IdentityError{ENOTSUP, absl::StrCat("holds a store of format version ", identity.version,
                                               "; this build reads only version ", kFormatVersion)};
  }
  if (!have_salt) return IdentityError{EINVAL, "has an identity file without a salt"};
  return identity;
}

// ---- Log header ----
// magic u32 | version u32 | number u64 | salt u64 | prev_end u64 | zeros |
// crc u32 at 60 (over bytes [0, 60), seeded with the salt).

std::string EncodeLogHeader(const LogHeader& header) {
  std::string out;
  PutFixed32(&out, kLogMagic);
  PutFixed32(&out, kFormatVersion);
  PutFixed64(&out, header.number);
  PutFixed64(&out, header.salt);
  PutFixed64(&out, header.prev_end);
  out.resize(kLogHeaderSize - 4, '\0');
  PutFixed32(&out, crc32c::Extend(SaltSeed(header.salt), out.data(), out.size()));
  return out;
}

std::optional<LogHeader> DecodeLogHeader(std::string_view bytes, uint32_t* version) {
  if (bytes.size() < kLogHeaderSize || GetFixed32(bytes.data()) != kLogMagic) return std::nullopt;
  *version = GetFixed32(bytes.data() + 4);
  LogHeader header;
  header.number = GetFixed64(bytes.data() + 8);
  header.salt = GetFixed64(bytes.data() + 16);
  header.prev_end = GetFixed64(bytes.data() + 24);
  const uint32_t crc = crc32c::Extend(SaltSeed(header.salt), bytes.data(), kLogHeaderSize - 4);
  if (crc != GetFixed32(bytes.data() + kLogHeaderSize - 4)) return std::nullopt;
  return header;
}

// ---- Frames ----
// magic u32 | crc u32 | seq u64 | payload_size u32 | flags u32 |
// flushed_through u64 | payload | zero padding to 8 bytes.
// The crc covers bytes [8, 32 + payload_size), seeded with FrameSeed.

uint32_t FrameSeed(uint64_t salt, uint64_t log_number) {
  const uint64_t words[2] = {salt, log_number};
  return crc32c::Value(words, sizeof words);
}

void SealFrame(char* frame, const FrameHeader& header, uint32_t seed) {
  const uint32_t magic = kFrameMagic;
  std::memcpy(frame, &magic, 4);
  std::memcpy(frame + 8, &header.seq, 8);
  std::memcpy(frame + 16, &header.payload_size, 4);
  std::memcpy(frame + 20, &header.flags, 4);
  std::memcpy(frame + 24, &header.flushed_through, 8);
  const uint32_t crc = crc32c::Extend(seed, frame + 8, kFrameHeaderSize - 8 + header.payload_size);
  std::memcpy(frame + 4, &crc, 4);
}

std::optional<FrameHeader> PeekFrameHeader(std::string_view bytes) {
  if (bytes.size() < kFrameHeaderSize || GetFixed32(bytes.data()) != kFrameMagic) {
    return std::nullopt;
  }
  FrameHeader header;
  header.seq = GetFixed64(bytes.data() + 8);
  header.payload_size = GetFixed32(bytes.data() + 16);
  header.flags = GetFixed32(bytes.data() + 20);
  header.flushed_through = GetFixed64(bytes.data() + 24);
  if (header.payload_size > kMaxFramePayload || header.seq == 0) return std::nullopt;
  return header;
}

bool FrameChecksumOk(std::string_view frame, uint32_t seed) {
  if (frame.size() < kFrameHeaderSize) return false;
  const uint32_t crc = crc32c::Extend(seed, frame.data() + 8, frame.size() - 8);
  return crc == GetFixed32(frame.data() + 4);
}

// ---- Records ----

namespace {

void PutTimespec(std::string* out, const Timespec& t) {
  PutFixed64(out, static_cast<uint64_t>(t.sec));
  PutFixed64(out, static_cast<uint64_t>(t.nsec));
}
void PutString(std::string* out, std::string_view s) {
  PutFixed32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}
void PutType(std::string* out, RecordType type) { out->push_back(static_cast<char>(type)); }

struct EncodeVisitor {
  std::string* out;
  uint32_t* crc;
  uint64_t operator()(const PutSuperblock& r) const {
    PutType(out, RecordType::kSuperblock);
    PutFixed32(out, r.page_size);
    return 0;
  }
  uint64_t operator()(const PutPage& r) const {
    const uint32_t size = r.data ? r.data->size() : 0;
    PutType(out, RecordType::kPage);
    PutFixed64(out, r.ino.value());
    PutFixed64(out, r.index.value());
    PutFixed64(out, r.generation);
    out->push_back(1);  // inline data
    out->push_back(0);  // mapped: decided by replay, not by the record
    PutFixed32(out, size);
    PutFixed32(out, size);  // valid
    *crc = size == 0 ? 0 : crc32c::Value(r.data->data(), size);
    PutFixed32(out, *crc);
    const uint64_t at = out->size();
    if (size != 0) out->append(r.data->data(), size);
    return at;
  }
  uint64_t operator()(const PutInode& r) const {
    PutType(out, RecordType::kInode);
    out->push_back(r.data_only ? 1 : 0);
    PutFixed64(out, r.record.ino.value());
    PutFixed32(out, r.record.mode);
    PutFixed32(out, r.record.uid);
    PutFixed32(out, r.record.gid);
    PutFixed64(out, r.record.size);
    PutTimespec(out, r.record.atime);
    PutTimespec(out, r.record.mtime);
    PutTimespec(out, r.record.ctime);
    PutString(out, r.record.symlink_target);
    PutFixed64(out, r.record.rdev);
    PutFixed32(out, static_cast<uint32_t>(r.record.xattrs.size()));
    for (const auto& [name, value] : r.record.xattrs) {
      PutString(out, name);
      PutString(out, value);
    }
    return 0;
  }
  uint64_t operator()(const PutDirent& r) const {
    PutType(out, RecordType::kDirent);
    PutFixed64(out, r.dir.value());
    PutFixed64(out, r.ino.value());
    PutString(out, r.name);
    return 0;
  }
  uint64_t operator()(const DelDirent& r) const {
    PutType(out, RecordType::kDelDirent);
    PutFixed64(out, r.dir.value());
    PutString(out, r.name);
    return 0;
  }
  uint64_t operator()(const Truncate& r) const {
    PutType(out, RecordType::kTruncate);
    PutFixed64(out, r.ino.value());
    PutFixed64(out, r.size);
    PutFixed64(out, r.generation);
    PutFixed64(out, r.end_page);  // version 2: a punch's end (rule X3)
    return 0;
  }
  uint64_t operator()(const FreeInode& r) const {
    PutType(out, RecordType::kFreeInode);
    PutFixed64(out, r.ino.value());
    return 0;
  }
};

}  // namespace

uint64_t EncodeRequest(const Request& request, std::string* out, uint32_t* crc) {
  return std::visit(EncodeVisitor{out, crc}, request);
}

void EncodeForgetUnmapped(std::string* out) { PutType(out, RecordType::kForgetUnmapped); }

void EncodeGeneration(uint64_t generation, std::string* out) {
  PutType(out, RecordType::kGeneration);
  PutFixed64(out, generation);
}

void EncodeCheckpointPage(InodeId ino, PageIndex index, uint64_t generation, bool mapped,
                          const PageLoc& loc, std::string* out) {
  PutType(out, RecordType::kPage);
  PutFixed64(out, ino.value());
  PutFixed64(out, index.value());
  PutFixed64(out, generation);
  out->push_back(0);  // data elsewhere: at (file, offset)
  out->push_back(mapped ? 1 : 0);
  PutFixed32(out, loc.size);
  PutFixed32(out, loc.valid);
  PutFixed32(out, loc.crc);
  PutFixed64(out, loc.file);
  PutFixed64(out, loc.offset);
}

// ---- Checkpoints ----
// Header (4096 bytes): magic u32 | version u32 | number u64 | salt u64 |
// zeros | crc u32 at 4092. Then page data, then metadata records, then the
// footer (48 bytes): magic u32 | version u32 | number u64 | meta_offset u64
// | meta_size u64 | meta_crc u32 | zeros | crc u32 at 44.

std::string EncodeCheckpointHeader(uint64_t number, uint64_t salt) {
  std::string out;
  PutFixed32(&out, kCheckpointMagic);
  PutFixed32(&out, kFormatVersion);
  PutFixed64(&out, number);
  PutFixed64(&out, salt);
  out.resize(kCheckpointHeaderSize - 4, '\0');
  PutFixed32(&out, crc32c::Extend(SaltSeed(salt), out.data(), out.size()));
  return out;
}

std::optional<uint64_t> DecodeCheckpointHeader(std::string_view bytes, uint64_t salt,
                                               uint32_t* version) {
  if (bytes.size() < kCheckpointHeaderSize || GetFixed32(bytes.data()) != kCheckpointMagic) {
    return std::nullopt;
  }
  *version = GetFixed32(bytes.data() + 4);
  const uint32_t crc = crc32c::Extend(SaltSeed(salt), bytes.data(), kCheckpointHeaderSize - 4);
  if (crc != GetFixed32(bytes.data() + kCheckpointHeaderSize - 4)) return std::nullopt;
  if (GetFixed64(bytes.data() + 16) != salt) return std::nullopt;
  return GetFixed64(bytes.data() + 8);
}

std::string EncodeCheckpointFooter(const CheckpointFooter& footer, uint64_t salt) {
  std::string out;
  PutFixed32(&out, kCheckpointMagic);
  PutFixed32(&out, kFormatVersion);
  PutFixed64(&out, footer.number);
  PutFixed64(&out, footer.meta_offset);
  PutFixed64(&out, footer.meta_size);
  PutFixed32(&out, footer.meta_crc);
  out.resize(kCheckpointFooterSize - 4, '\0');
  PutFixed32(&out, crc32c::Extend(SaltSeed(salt), out.data(), out.size()));
  return out;
}

std::optional<CheckpointFooter> DecodeCheckpointFooter(std::string_view bytes, uint64_t salt) {
  if (bytes.size() < kCheckpointFooterSize || GetFixed32(bytes.data()) != kCheckpointMagic ||
      GetFixed32(bytes.data() + 4) != kFormatVersion) {
    return std::nullopt;
  }
  const uint32_t crc = crc32c::Extend(SaltSeed(salt), bytes.data(), kCheckpointFooterSize - 4);
  if (crc != GetFixed32(bytes.data() + kCheckpointFooterSize - 4)) return std::nullopt;
  CheckpointFooter footer;
  footer.number = GetFixed64(bytes.data() + 8);
  footer.meta_offset = GetFixed64(bytes.data() + 16);
  footer.meta_size = GetFixed64(bytes.data() + 24);
  footer.meta_crc = GetFixed32(bytes.data() + 32);
  return footer;
}

size_t FirstNonZero(std::string_view bytes, size_t from) {
  static constexpr char kZeros[4096] = {};
  size_t at = std::min(from, bytes.size());
  // A nonzero byte close by first: in a tail of frames the answer is near,
  // and a block compare would read 4 KiB for it.
  for (const size_t near = std::min(bytes.size(), at + 16); at < near; ++at) {
    if (bytes[at] != 0) return at;
  }
  while (bytes.size() - at >= sizeof kZeros &&
         std::memcmp(bytes.data() + at, kZeros, sizeof kZeros) == 0) {
    at += sizeof kZeros;
  }
  // Less than a block left, or a block that holds a nonzero byte.
  while (at < bytes.size() && bytes[at] == 0) ++at;
  return at;
}

}  // namespace vfs::disk
