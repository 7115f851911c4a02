// Rule X1: the caller's identity and the permission checks every call makes,
// as Linux's fs/namei.c (generic_permission, may_delete) and fs/attr.c
// (setattr_prepare, should_remove_suid) make them; chmod and chown.
#include <cerrno>

#include "vfs/internal/filesystem_internal.h"

namespace vfs {

void Filesystem::SetCredentials(Credentials creds) {
  auto kept = std::make_unique<Credentials>(std::move(creds));
  kept->serial = NextCredentialsSerial();  // a new identity, as commit_creds
  MutexLock lock(&creds_mu_);
  default_creds_.store(kept.get(), std::memory_order_release);
  // Kept until the Filesystem goes: a call may still be reading the old one.
  credentials_kept_.push_back(std::move(kept));
}

bool PermittedLocked(const Credentials& creds, const Inode& inode, int mask)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const uint32_t mode = inode.mode;
  uint32_t bits = mode & 7;
  if (creds.uid == inode.uid) {
    bits = (mode >> 6) & 7;
  } else if (creds.InGroup(inode.gid)) {
    bits = (mode >> 3) & 7;
  }
  if ((static_cast<uint32_t>(mask) & ~bits) == 0) return true;
  if (inode.is_dir()) {
    // Directories: read and search are CAP_DAC_READ_SEARCH's, everything
    // CAP_DAC_OVERRIDE's.
    if (!(mask & kMayWrite) && creds.Has(kCapDacReadSearch)) return true;
    return creds.Has(kCapDacOverride);
  }
  if (mask == kMayRead && creds.Has(kCapDacReadSearch)) return true;
  // Execute is overridden only when some execute bit is set.
  if (!(mask & kMayExec) || (mode & 0111)) return creds.Has(kCapDacOverride);
  return false;
}

Result<void> CheckPermission(const Credentials& creds, Inode& inode, int mask) {
  // What the capabilities grant whatever the mode says: no lock needed.
  if (creds.Has(kCapDacOverride) && !(mask & kMayExec)) return Ok();
  if (inode.is_dir() && creds.Has(kCapDacOverride)) return Ok();
  if (inode.is_dir() && !(mask & kMayWrite) && creds.Has(kCapDacReadSearch)) return Ok();
  MutexLock lock(&inode.mu);
  if (PermittedLocked(creds, inode, mask)) return Ok();
  return Error(EACCES);
}

bool StickyAllows(const Credentials& creds, Inode& dir, Inode& victim) {
  if (creds.Has(kCapFowner)) return true;
  {
    MutexLock lock(&dir.mu);
    if (!(dir.mode & S_ISVTX) || dir.uid == creds.uid) return true;
  }
  MutexLock lock(&victim.mu);
  return victim.uid == creds.uid;
}

bool CreateInStickyAllowed(const Credentials& creds, Inode& dir, Inode& file) {
  uint32_t dir_mode;
  uint32_t dir_uid;
  {
    MutexLock lock(&dir.mu);
    dir_mode = dir.mode;
    dir_uid = dir.uid;
  }
  if (!(dir_mode & S_ISVTX) || !(dir_mode & S_IWOTH)) return true;
  MutexLock lock(&file.mu);
  return file.uid == dir_uid || file.uid == creds.uid;
}

uint32_t PrivsToClearLocked(const Credentials& creds, const Inode& inode)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  uint32_t kill = inode.mode & S_ISUID;
  if ((inode.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) kill |= S_ISGID;
  if (kill == 0 || creds.Has(kCapFsetid)) return 0;
  return kill;
}

// chmod: the owner or CAP_FOWNER; S_ISGID kept only by a member of the
// file's group or CAP_FSETID (setattr_prepare). Rule M2 [VFS choice]: chmod
// sets DIRTY_SYNC only, so fdatasync skips it.
Result<void> Filesystem::ChmodInode(Inode& inode, uint32_t mode) {
  const Credentials& creds = caller();
  const Timespec now = Now();
  MutexLock lock(&inode.mu);
  if (!OwnerOrCapableLocked(creds, inode)) return Error(EPERM);
  uint32_t bits = mode & 07777;
  if ((bits & S_ISGID) && !creds.InGroup(inode.gid) && !creds.Has(kCapFsetid)) bits &= ~S_ISGID;
  inode.mode = inode.type | bits;
  inode.ctime = now;
  inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
  return Ok();
}

// chown as Linux's chown_common and setattr_prepare: changing the owner
// needs CAP_CHOWN (keeping it needs ownership); the group may be changed by
// the owner to a group it is in, or with CAP_CHOWN. A non-directory loses
// S_ISUID, and S_ISGID with group-execute (or when the caller may not keep
// it); ctime moves even when nothing else does.
Result<void> Filesystem::ChownInode(Inode& inode, uint32_t uid, uint32_t gid) {
  const Credentials& creds = caller();
  const Timespec now = Now();
  MutexLock lock(&inode.mu);
  const bool chown_cap = creds.Has(kCapChown);
  if (uid != kNoId && !chown_cap && !(creds.uid == inode.uid && uid == inode.uid)) {
    return Error(EPERM);
  }
  if (gid != kNoId && !chown_cap &&
      !(creds.uid == inode.uid && (gid == inode.gid || creds.InGroup(gid)))) {
    return Error(EPERM);
  }
  uint32_t mode = inode.mode;
  if (!inode.is_dir()) {
    mode &= ~S_ISUID;
    const uint32_t new_gid = gid == kNoId ? inode.gid : gid;
    if ((mode & S_ISGID) &&
        ((mode & S_IXGRP) || (!creds.InGroup(new_gid) && !creds.Has(kCapFsetid)))) {
      mode &= ~S_ISGID;
    }
  }
  // Killing the privilege bits is a mode change, which setattr_prepare
  // allows only the owner or CAP_FOWNER.
  if (mode != inode.mode && !OwnerOrCapableLocked(creds, inode)) return Error(EPERM);
  inode.mode = mode;
  if (uid != kNoId) inode.uid = uid;
  if (gid != kNoId) inode.gid = gid;
  inode.ctime = now;
  // Rule X1: owner and group are inode metadata (M2): DIRTY_SYNC.
  inode.dirty = (inode.dirty & ~kDirtyTime) | kDirtySync;
  return Ok();
}

}  // namespace vfs
