// CRC32C (Castagnoli), the checksum of every record the disk store writes
// (docs/formats.md). Uses the SSE4.2 instruction when the CPU has it and a
// table otherwise; both give the same values.
//
//   uint32_t crc = crc32c::Value(data, n);
//   crc = crc32c::Extend(crc, more, m);   // == Value(data ++ more)
//
// Thread-safety: pure functions.
#ifndef BACKENDS_DISK_CRC32C_H_
#define BACKENDS_DISK_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace vfs::crc32c {

// The CRC32C of `data ++ buf[0, n)` given `crc`, the CRC32C of `data`.
uint32_t Extend(uint32_t crc, const void* buf, size_t n);
inline uint32_t Value(const void* buf, size_t n) { return Extend(0, buf, n); }

}  // namespace vfs::crc32c

#endif  // BACKENDS_DISK_CRC32C_H_
