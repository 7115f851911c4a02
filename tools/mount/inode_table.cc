#include "tools/mount/inode_table.h"

namespace vfs {

void InodeTable::BindRoot(Fd root_fd, InodeId root_ino, uint32_t generation) {
  MutexLock lock(&mu_);
  Node& root = nodes_[kRootNodeId];
  if (root.generation != 0) by_ino_.erase({root.generation, root.ino.value()});
  root.ino = root_ino;
  root.fd = root_fd;
  root.generation = generation;
  // The kernel never forgets the root: its count stays above zero.
  root.lookups = 1;
  by_ino_[{generation, root_ino.value()}] = kRootNodeId;
}

std::optional<InodeTable::Handle> InodeTable::Get(uint64_t id) const {
  MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return std::nullopt;
  return Handle{it->second.fd, it->second.generation};
}

uint64_t InodeTable::Intern(InodeId ino, Fd fd, uint32_t generation, uint64_t parent,
                            std::string_view name, std::optional<Fd>* unused) {
  MutexLock lock(&mu_);
  auto [it, inserted] = by_ino_.try_emplace({generation, ino.value()}, 0);
  if (!inserted) {
    Node& node = nodes_.at(it->second);
    ++node.lookups;
    node.parent = parent;
    node.name.assign(name);
    *unused = fd;  // the node keeps the descriptor it was made with
    return it->second;
  }
  const uint64_t id = next_id_++;
  it->second = id;
  Node& node = nodes_[id];
  node.ino = ino;
  node.fd = fd;
  node.generation = generation;
  node.lookups = 1;
  node.parent = parent;
  node.name.assign(name);
  *unused = std::nullopt;
  return id;
}

std::optional<InodeTable::Name> InodeTable::NameOf(uint64_t id) const {
  MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end() || it->second.name.empty()) return std::nullopt;
  return Name{it->second.parent, it->second.name, it->second.ino};
}

void InodeTable::Renamed(InodeId ino, uint32_t generation, uint64_t parent, std::string_view name) {
  MutexLock lock(&mu_);
  auto it = by_ino_.find({generation, ino.value()});
  if (it == by_ino_.end()) return;
  Node& node = nodes_.at(it->second);
  node.parent = parent;
  node.name.assign(name);
}

std::optional<InodeTable::Handle> InodeTable::Forget(uint64_t id, uint64_t count) {
  MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end() || id == kRootNodeId) return std::nullopt;
  Node& node = it->second;
  node.lookups = count >= node.lookups ? 0 : node.lookups - count;
  if (node.lookups > 0) return std::nullopt;
  Handle gone{node.fd, node.generation};
  auto key = by_ino_.find({node.generation, node.ino.value()});
  if (key != by_ino_.end() && key->second == id) by_ino_.erase(key);
  nodes_.erase(it);
  return gone;
}

void InodeTable::NoteName(uint64_t dir, std::string_view name) {
  MutexLock lock(&mu_);
  auto it = nodes_.find(dir);
  if (it == nodes_.end()) return;
  it->second.names.emplace(name);
}

void InodeTable::DropName(uint64_t dir, std::string_view name) {
  MutexLock lock(&mu_);
  auto it = nodes_.find(dir);
  if (it == nodes_.end()) return;
  auto found = it->second.names.find(std::string(name));
  if (found != it->second.names.end()) it->second.names.erase(found);
}

InodeTable::Snapshot InodeTable::TakeForInvalidation() {
  Snapshot out;
  MutexLock lock(&mu_);
  out.nodes.reserve(nodes_.size());
  for (auto& [id, node] : nodes_) {
    out.nodes.push_back(id);
    for (const std::string& name : node.names) out.names.emplace_back(id, name);
    node.names.clear();
  }
  return out;
}

std::vector<uint64_t> InodeTable::NodeIds() const {
  std::vector<uint64_t> ids;
  MutexLock lock(&mu_);
  ids.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) ids.push_back(id);
  return ids;
}

size_t InodeTable::size() const {
  MutexLock lock(&mu_);
  return nodes_.size();
}

}  // namespace vfs
