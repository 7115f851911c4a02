// Mounting a store's durable image, formatting an empty store, unmounting and
// crashing. A crash can leave the durable image inconsistent in ways a
// journal would have prevented (an entry whose inode never became durable, an
// inode no entry reaches, pages past the durable size); Build repairs each,
// counts it in MountReport, and writes the repair to the store.
#include <cerrno>

#include "vfs/internal/filesystem_internal.h"

namespace vfs {
namespace {

bool ValidPageSize(uint32_t size) {
  return size >= 512 && size <= 65536 && (size & (size - 1)) == 0;
}

uint32_t Log2(uint32_t value) {
  uint32_t shift = 0;
  while ((1u << shift) < value) ++shift;
  return shift;
}

}  // namespace

Filesystem::Filesystem(std::shared_ptr<Store> store, Options options, uint32_t page_size)
    : store_(std::move(store)),
      options_(std::move(options)),
      page_size_(page_size),
      page_shift_(Log2(page_size)),
      cache_limit_pages_(options_.max_cache_bytes / page_size),
      accounts_(std::make_shared<Accounts>()) {}

Result<std::unique_ptr<Filesystem>> Filesystem::Mount(std::shared_ptr<Store> store,
                                                       Options options) {
  if (store == nullptr) return Error(EINVAL);
  if (options.page_size != 0 && !ValidPageSize(options.page_size)) return Error(EINVAL);
  if (options.max_name_length == 0 || options.max_path_length == 0 || options.max_open_fds == 0) {
    return Error(EINVAL);
  }
  auto image = store->Load();
  if (!image.ok()) return Error(image.error());
  uint32_t page_size = image->page_size;
  if (page_size == 0) {
    page_size = options.page_size != 0 ? options.page_size : 4096;
  } else if (!ValidPageSize(page_size) ||
             (options.page_size != 0 && options.page_size != page_size)) {
    store->Release();
    return Error(EINVAL);
  }
  std::unique_ptr<Filesystem> fs(new Filesystem(store, std::move(options), page_size));
  auto built = image->page_size == 0 ? fs->Format() : fs->Build(*std::move(image));
  if (!built.ok()) {
    fs->stopped_ = true;
    store->Release();
    return Error(built.error());
  }
  return fs;
}

Result<void> Filesystem::Format() {
  WriterLock lock(&ns_mu_);
  root_ = NewInode(kRootInode, S_IFDIR | 0755);
  root_->parent = root_.get();
  InodeRecord record;
  {
    MutexLock inode_lock(&root_->mu);
    root_->nlink = 2;
    root_->dirty = 0;
    root_->has_record = true;
    record.ino = kRootInode;
    record.mode = root_->mode;
    record.atime = root_->atime;
    record.mtime = root_->mtime;
    record.ctime = root_->ctime;
  }
  inodes_.emplace(kRootInode, root_);
  cwd_ = root_;
  next_ino_ = kRootInode.value() + 1;
  // The root is durable from the start, so every later mount finds it.
  auto ticket = store_->Submit({PutSuperblock{page_size_}, PutInode{record, false}});
  if (!ticket.ok()) return Error(ticket.error());
  if (auto done = store_->Wait(*ticket); !done.ok()) return done;
  return store_->Flush();
}

Result<void> Filesystem::Build(DurableImage image) {
  auto root_record = image.inodes.find(kRootInode);
  if (root_record == image.inodes.end() || !S_ISDIR(root_record->second.mode)) {
    return Error(EIO);  // not a filesystem this VFS wrote
  }
  generation_ = image.generation;
  WriterLock lock(&ns_mu_);
  absl::flat_hash_map<InodeId, std::shared_ptr<Inode>> all;
  uint64_t max_ino = kRootInode.value();
  for (const auto& [ino, record] : image.inodes) {
    auto inode = NewInode(ino, record.mode);
    MutexLock inode_lock(&inode->mu);
    inode->uid = record.uid;
    inode->gid = record.gid;
    inode->size = S_ISREG(record.mode) ? record.size : 0;
    inode->atime = record.atime;
    inode->mtime = record.mtime;
    inode->ctime = record.ctime;
    inode->dirty = 0;
    inode->has_record = true;
    if (S_ISLNK(record.mode)) {
      inode->size = record.symlink_target.size();
      // Never empty: a damaged record's link points nowhere, visibly.
      inode->set_symlink_target(record.symlink_target.empty() ? "?" : record.symlink_target);
    }
    inode->set_rdev(record.rdev);  // rule X5
    if (!record.xattrs.empty()) {  // rule X2
      Inode::XattrMap& xattrs = inode->mutable_xattrs();
      xattrs.insert(record.xattrs.begin(), record.xattrs.end());
      inode->set_xattr_pages(XattrPages(xattrs, page_size_));
    }
    all.emplace(ino, std::move(inode));
    max_ino = std::max(max_ino, ino.value());
  }
  root_ = all.at(kRootInode);
  root_->parent = root_.get();
  std::vector<Request> repairs;
  uint64_t repair_generation = 0;  // generations start at 1

  // Attach entries from the root down. A directory reached twice (a rename
  // between directories with only one of them fsynced) keeps its first
  // entry; an entry naming a missing inode is dropped.
  std::vector<Inode*> todo = {root_.get()};
  while (!todo.empty()) {
    Inode* dir = todo.back();
    todo.pop_back();
    auto entries = image.entries.find(dir->ino);
    if (entries == image.entries.end()) continue;
    for (const auto& [name, ino] : entries->second) {
      auto child = all.find(ino);
      const bool valid_name = !name.empty() && name != "." && name != ".." &&
                              name.find('/') == std::string::npos;
      if (child == all.end() || child->second == root_ || !valid_name ||
          (child->second->is_dir() && child->second->parent != nullptr)) {
        ++mount_report_.dropped_entries;
        repairs.push_back(DelDirent{dir->ino, name});
        continue;
      }
      Inode& inode = *child->second;
      dir->children.emplace(name, &inode);
      ++inode.store_links;  // the store holds this entry
      MutexLock dir_lock(&dir->mu);
      ++dir->dir_entries;
      MutexLock inode_lock(&inode.mu);
      if (inode.is_dir()) {
        inode.parent = dir;
        inode.nlink = 2;
        ++dir->nlink;
        todo.push_back(&inode);
      } else {
        ++inode.nlink;
      }
    }
  }
  {
    MutexLock root_lock(&root_->mu);
    root_->nlink += 2;
  }

  // Keep what is reachable; free the rest in the store.
  for (auto& [ino, inode] : all) {
    bool linked = false;
    {
      MutexLock inode_lock(&inode->mu);
      linked = inode->nlink > 0;
    }
    const bool reachable =
        inode == root_ || (inode->is_dir() ? inode->parent != nullptr : linked);
    if (!reachable) {
      ++mount_report_.orphans_freed;
      repairs.push_back(FreeInode{ino});
      MutexLock inode_lock(&inode->mu);
      inode->has_record = false;  // freed here: its deleter need not free it again
      continue;
    }
    inodes_.emplace(ino, inode);
  }
  // Orphans go now; their deleters keep the inode count (NewInode counted
  // every record) right.
  all.clear();

  // Pages: only those within the durable size; the tail past the size reads
  // as zeros.
  uint64_t pages_total = 0;
  for (auto& [ino, pages] : image.pages) {
    auto it = inodes_.find(ino);
    if (it == inodes_.end() || !it->second->is_reg()) continue;
    Inode& inode = *it->second;
    MutexLock inode_lock(&inode.mu);
    const uint64_t keep = (inode.size + page_size_ - 1) >> page_shift_;
    bool beyond = false;
    for (auto& [index, data] : pages) {
      if (index.value() >= keep) {
        ++mount_report_.pages_beyond_size;
        beyond = true;
        continue;
      }
      ++pages_total;
      if (!data) {
        inode.pages.MarkOnStore(index);  // a store that reads pages lazily
        continue;
      }
      CachedPage* page = inode.pages.Insert(index, data, /*stored=*/true);
      const uint32_t tail = static_cast<uint32_t>(inode.size & (page_size_ - 1));
      if (index.value() == keep - 1 && tail != 0 && !data->ZeroFrom(tail)) {
        std::memset(inode.pages.BeginWrite(page) + tail, 0, page_size_ - tail);
      }
    }
    inode.has_store_pages = !pages.empty();
    if (beyond) {
      // One generation for every such truncation, taken at the first
      // (ENOSPC past kMaxGeneration, as any truncation's).
      if (repair_generation == 0) {
        auto next = NextGeneration();
        if (!next.ok()) return Error(next.error());
        repair_generation = *next;
      }
      repairs.push_back(vfs::Truncate{ino, inode.size, repair_generation});
    }
  }
  for (const auto& [ino, inode] : inodes_) pages_total += inode->xattr_pages();  // rule X2
  accounts_->used_pages = pages_total;
  next_ino_ = max_ino + 1;
  cwd_ = root_;
  mount_report_.inodes = inodes_.size();

  if (!repairs.empty()) {
    auto ticket = store_->Submit(std::move(repairs));
    if (!ticket.ok()) return Error(ticket.error());
    if (auto done = store_->Wait(*ticket); !done.ok()) return done;
    if (auto flushed = store_->Flush(); !flushed.ok()) return flushed;
  }
  return Ok();
}

Result<void> Filesystem::Unmount() {
  if (stopped_.exchange(true)) return Error(EIO);
  // SyncAll checks nothing about stopped_; the calls racing with an unmount
  // see EIO from here on.
  auto synced = SyncAll();
  store_->Release();
  return synced;
}

void Filesystem::Crash() {
  if (stopped_.exchange(true)) return;
  store_->Crash();
}

Filesystem::~Filesystem() {
  // An unmount error has no caller to go to here; Unmount() reports it.
  if (!stopped_.load()) (void)Unmount();
}

}  // namespace vfs
