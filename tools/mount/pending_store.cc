#include "tools/mount/pending_store.h"

#include <algorithm>
#include <random>
#include <set>
#include <utility>

namespace vfs {

const char* MountCrashProfileName(MountCrashProfile profile) {
  switch (profile) {
    case MountCrashProfile::kDurable: return "durable";
    case MountCrashProfile::kStrict: return "strict";
    case MountCrashProfile::kOrdered: return "ordered";
    case MountCrashProfile::kWriteback: return "writeback";
    case MountCrashProfile::kWeakest: return "weakest";
  }
  return "?";
}

Result<MountCrashProfile> ParseMountCrashProfile(std::string_view name) {
  for (auto p : {MountCrashProfile::kDurable, MountCrashProfile::kStrict,
                 MountCrashProfile::kOrdered, MountCrashProfile::kWriteback,
                 MountCrashProfile::kWeakest}) {
    if (name == MountCrashProfileName(p)) return p;
  }
  return Error(EINVAL);
}

Result<Ticket> PendingStore::Submit(std::vector<Request> requests) {
  // Copies share the page buffers (reference counts), so this copies no data.
  std::vector<Request> copy = requests;
  // The lock is held across the Submit so tickets enter the list in order.
  MutexLock lock(&mu_);
  auto ticket = ForwardingStore::Submit(std::move(requests));
  if (!ticket.ok()) return ticket;  // nothing was accepted
  for (Request& r : copy) pending_.push_back({*ticket, std::move(r), false});
  return ticket;
}

Result<void> PendingStore::Wait(Ticket ticket) {
  auto waited = ForwardingStore::Wait(ticket);
  const bool durable_now = !has_volatile_cache();
  MutexLock lock(&mu_);
  std::erase_if(pending_, [&](const Entry& e) {
    // A failed ticket may hold unwritten requests; the store does not say
    // which, so none of them may come back in a crash.
    return e.ticket == ticket && !waited.ok();
  });
  for (Entry& e : pending_) {
    if (e.ticket <= ticket) e.completed = true;
  }
  if (durable_now) std::erase_if(pending_, [](const Entry& e) { return e.completed; });
  return waited;
}

Result<void> PendingStore::Flush() {
  // A flush makes durable what had completed when it started.
  Ticket completed_by = 0;
  {
    MutexLock lock(&mu_);
    for (const Entry& e : pending_) {
      if (e.completed) completed_by = std::max(completed_by, e.ticket);
    }
  }
  auto flushed = ForwardingStore::Flush();
  if (flushed.ok()) {
    MutexLock lock(&mu_);
    std::erase_if(pending_,
                  [&](const Entry& e) { return e.completed && e.ticket <= completed_by; });
  }
  return flushed;
}

void PendingStore::Crash() {
  {
    MutexLock lock(&mu_);
    pending_.clear();
  }
  ForwardingStore::Crash();
}

std::vector<Request> PendingStore::Pending() const {
  MutexLock lock(&mu_);
  std::vector<Request> out;
  out.reserve(pending_.size());
  for (const Entry& e : pending_) out.push_back(e.request);
  return out;
}

std::vector<Request> ChooseSurvivors(const std::vector<Request>& pending,
                                     MountCrashProfile profile, uint64_t seed) {
  if (profile == MountCrashProfile::kDurable) return {};
  if (profile == MountCrashProfile::kStrict) return pending;
  std::mt19937_64 rng(seed);
  std::vector<bool> keep(pending.size(), false);
  if (profile == MountCrashProfile::kWeakest) {
    for (size_t i = 0; i < pending.size(); ++i) keep[i] = (rng() & 1) != 0;
  } else {
    // Metadata survives as a prefix of itself in submission order.
    size_t metadata = 0;
    for (const Request& r : pending) metadata += std::holds_alternative<PutPage>(r) ? 0 : 1;
    const size_t prefix = metadata == 0 ? 0 : rng() % (metadata + 1);
    size_t seen = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (std::holds_alternative<PutPage>(pending[i])) {
        keep[i] = (rng() & 1) != 0;
      } else {
        keep[i] = seen++ < prefix;
      }
    }
    if (profile == MountCrashProfile::kOrdered) {
      // A kept record forces the pages of its inode submitted before it.
      std::set<uint64_t> forced;
      for (size_t i = pending.size(); i-- > 0;) {
        if (const auto* rec = std::get_if<PutInode>(&pending[i]); rec && keep[i]) {
          forced.insert(rec->record.ino.value());
        } else if (const auto* page = std::get_if<PutPage>(&pending[i])) {
          if (forced.count(page->ino.value())) keep[i] = true;
        }
      }
    }
  }
  std::vector<Request> out;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (keep[i]) out.push_back(pending[i]);
  }
  return out;
}

}  // namespace vfs
