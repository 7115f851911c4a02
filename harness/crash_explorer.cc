// The crash explorer. See crash_explorer.h for the model and
// docs/crash-testing.md for the profiles.
#include "harness/crash_explorer.h"

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <set>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "backends/memory/memory_store.h"
#include "vfs/inode.h"

namespace vfs {
namespace {

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A small deterministic generator for sampling.
class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return Mix(state_++, 0x5eed); }
  bool Bit() { return Next() & 1; }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t state_;
};

bool IsPage(const Request& r) { return std::holds_alternative<PutPage>(r); }
bool IsMetadata(const Request& r) { return !IsPage(r); }

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrCat("\\u00", c < 16 ? "0" : "", absl::Hex(static_cast<int>(c)));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

const char* CrashProfileName(CrashProfile profile) {
  switch (profile) {
    case CrashProfile::kStrict: return "strict";
    case CrashProfile::kOrdered: return "ordered";
    case CrashProfile::kWriteback: return "writeback";
    case CrashProfile::kWeakest: return "weakest";
  }
  return "?";
}

Result<CrashProfile> ParseCrashProfile(std::string_view name) {
  for (CrashProfile p : {CrashProfile::kStrict, CrashProfile::kOrdered, CrashProfile::kWriteback,
                         CrashProfile::kWeakest}) {
    if (name == CrashProfileName(p)) return p;
  }
  return Error(EINVAL);
}

namespace {

// Calls visit(path, entry) for every entry below `dir`, depth first, and
// visit(dir, nullptr) for `dir` itself first.
void WalkTree(Filesystem& fs, const std::string& dir,
              const std::function<void(const std::string&, const DirEntry*)>& visit) {
  visit(dir, nullptr);
  auto fd = fs.Open(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return;
  auto entries = fs.ReadDir(*fd);
  (void)fs.Close(*fd);
  if (!entries.ok()) return;
  for (const DirEntry& e : *entries) {
    if (e.name == "." || e.name == "..") continue;
    const std::string path = dir == "/" ? "/" + e.name : dir + "/" + e.name;
    if (e.type == DT_DIR) {
      WalkTree(fs, path, visit);
    } else {
      visit(path, &e);
    }
  }
}

// Lists the sync calls that would hand what is still dirty to the store:
// directories with pending entries, files with dirty data or metadata (or no
// record at all).
void ListUnsynced(Filesystem& fs, std::vector<std::string>* out) {
  WalkTree(fs, "/", [&](const std::string& path, const DirEntry* entry) {
    if (entry == nullptr) {
      if (auto pending = fs.PendingEntryCount(path); pending.ok() && *pending > 0) {
        out->push_back(absl::StrCat("fsync of the directory ", path, " (", *pending, " entry change",
                                    *pending == 1 ? "" : "s", " pending)"));
      }
      return;
    }
    auto file = fs.Open(path, O_PATH | O_NOFOLLOW);
    if (!file.ok()) return;
    auto dirty = fs.DirtySummaryOf(*file);
    (void)fs.Close(*file);
    if (!dirty.ok()) return;
    if (dirty->dirty_pages > 0 || dirty->writeback || (dirty->flags & kDirtyDatasync)) {
      // Rule X3: a hole punch not yet sent is named, as it has no dirty page.
      out->push_back(absl::StrCat("fdatasync or fsync of ", path, " (", dirty->dirty_pages,
                                  " dirty page", dirty->dirty_pages == 1 ? "" : "s",
                                  dirty->punches > 0 ? ", a fallocate(PUNCH_HOLE)" : "", ")"));
    } else if (dirty->flags != 0 || !dirty->has_record) {
      // Owner, mode, times and extended attributes (rules X1, X2) live in
      // the record only fsync writes.
      out->push_back(absl::StrCat("fsync of ", path, " (metadata)"));
    }
  });
}

}  // namespace

void WorkloadContext::Ack(std::string key, std::string value) {
  std::vector<std::string> unsynced;
  listing_ = true;
  ListUnsynced(fs_, &unsynced);
  listing_ = false;
  acks_.push_back({store_.Faults().events, std::move(key), std::move(value), std::move(unsynced)});
}

void WorkloadContext::Mark() { marks_.push_back(store_.Faults().events); }

// ---- Names ----

std::string CrashStateName::ToString() const {
  // The choice bits, four to a hex digit, first bit in the lowest.
  std::string hex;
  for (size_t i = 0; i < choice.size(); i += 4) {
    int digit = 0;
    for (size_t b = 0; b < 4 && i + b < choice.size(); ++b) digit |= choice[i + b] << b;
    hex += "0123456789abcdef"[digit];
  }
  return absl::StrCat("v1-", seed, "-", point, "-", CrashProfileName(profile), "-",
                      choice.size(), ".", hex.empty() ? "0" : hex);
}

Result<CrashStateName> CrashStateName::Parse(std::string_view text) {
  std::vector<std::string_view> parts;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), '-')) {
    parts.emplace_back(part.data(), part.size());
  }
  if (parts.size() != 5 || parts[0] != "v1") return Error(EINVAL);
  CrashStateName name;
  auto number = [](std::string_view s, uint64_t* out) {
    if (s.empty()) return false;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = v;
    return true;
  };
  if (!number(parts[1], &name.seed) || !number(parts[2], &name.point)) return Error(EINVAL);
  auto profile = ParseCrashProfile(parts[3]);
  if (!profile.ok()) return Error(EINVAL);
  name.profile = *profile;
  const size_t dot = parts[4].find('.');
  uint64_t bits = 0;
  if (dot == std::string_view::npos || !number(parts[4].substr(0, dot), &bits)) return Error(EINVAL);
  const std::string_view hex = parts[4].substr(dot + 1);
  if (hex.size() != std::max<uint64_t>(1, (bits + 3) / 4)) return Error(EINVAL);
  name.choice.assign(bits, false);
  for (size_t i = 0; i < bits; ++i) {
    const char c = hex[i / 4];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return Error(EINVAL);
    name.choice[i] = (digit >> (i % 4)) & 1;
  }
  return name;
}

// ---- One exploration ----

namespace {
thread_local std::string current_state;
}  // namespace

const std::string& CrashExplorer::CurrentState() { return current_state; }

struct CrashExplorer::Exploration {
  explicit Exploration(const CrashExplorerOptions& options) : options(options) {}

  const CrashExplorerOptions& options;
  std::vector<RecordedRequest> recording;
  uint64_t first_point = 0;  // the first event after the mount
  uint64_t last_point = 0;
  Acks acks;
  std::vector<uint64_t> marks;
  absl::flat_hash_map<InodeId, std::string> paths;
  std::vector<std::string> unsynced_at_end;
  uint32_t page_size = 0;

  // The requests of a crash point: durable ones, and pending ones in order.
  struct Point {
    uint64_t event = 0;
    std::vector<const RecordedRequest*> durable;
    std::vector<const RecordedRequest*> pending;
    // Every pending request was submitted after every durable one, so a
    // state is the durable image with kept requests applied on top. (The
    // fault store makes requests durable in submission order, so this always
    // holds; if it did not, the state would be replayed in full.)
    bool pending_after_durable = true;
  };

  // The image of everything durable at `base_event`: the requests of
  // `base_requests`, applied in submission order. Crash points are visited
  // in order and durable sets only grow, so each point extends the last
  // one's image with the requests that became durable in between.
  mutable MemoryImage base;
  mutable std::vector<const RecordedRequest*> base_requests;
  mutable uint64_t base_event = ~uint64_t{0};
  mutable Acks acks_before;
  mutable uint64_t acks_before_event = ~uint64_t{0};

  Result<void> Record(const Workload& workload) {
    auto memory = NewMemoryStore({.volatile_cache = options.volatile_cache});
    FaultStoreOptions fault_options;
    fault_options.record = true;
    auto faults = NewFaultStore(memory, fault_options);
    Options fs_options = options.fs_options;
    if (!fs_options.clock) {
      // Deterministic timestamps, so the workload replays the same requests.
      auto now = std::make_shared<int64_t>(1'700'000'000);
      fs_options.clock = [now] { return Timespec{++*now, 0}; };
    }
    // Sync-call and syscall crash points: the VFS reports each durability
    // call's (each call's) return.
    auto context = std::make_shared<WorkloadContext*>(nullptr);
    // A hook the caller set runs first, as it would without the explorer.
    if (options.points == CrashPoints::kSyncCalls) {
      fs_options.after_sync_call = [context, theirs = fs_options.after_sync_call] {
        if (theirs) theirs();
        if (*context != nullptr) (*context)->CallReturned();
      };
    } else if (options.points == CrashPoints::kSyscalls) {
      fs_options.after_call = [context, theirs = fs_options.after_call] {
        if (theirs) theirs();
        if (*context != nullptr) (*context)->CallReturned();
      };
    }
    auto fs = Filesystem::Mount(faults, fs_options);
    if (!fs.ok()) return Error(fs.error());
    page_size = (*fs)->page_size();
    first_point = faults->Faults().events + 1;
    WorkloadContext ctx(**fs, *faults);
    *context = &ctx;
    workload(ctx);
    *context = nullptr;
    if (ctx.begin_ != 0) first_point = ctx.begin_;
    MapPaths(**fs);
    ListUnsynced(**fs, &unsynced_at_end);
    recording = faults->Recording();
    last_point = faults->Faults().events;
    acks = ctx.acks();
    marks = ctx.marks();
    (*fs)->Crash();  // no unmount: its sync would add events past the workload
    return Ok();
  }

  CrashTrace Save() const {
    CrashTrace t;
    t.recording = recording;
    t.first_point = first_point;
    t.last_point = last_point;
    t.acks = acks;
    t.marks = marks;
    for (const auto& [ino, path] : paths) t.paths.emplace_back(ino.value(), path);
    std::sort(t.paths.begin(), t.paths.end());
    t.unsynced_at_end = unsynced_at_end;
    t.page_size = page_size;
    return t;
  }

  void Load(const CrashTrace& t) {
    recording = t.recording;
    first_point = t.first_point;
    last_point = t.last_point;
    acks = t.acks;
    marks = t.marks;
    for (const auto& [ino, path] : t.paths) paths[InodeId(ino)] = path;
    unsynced_at_end = t.unsynced_at_end;
    page_size = t.page_size;
  }

  // Every path of the tree by inode, to name files in the attribution.
  void MapPaths(Filesystem& fs) {
    WalkTree(fs, "/", [&](const std::string& path, const DirEntry* entry) {
      if (entry != nullptr) {
        paths[entry->ino] = path;
      } else if (auto st = fs.Lstat(path); st.ok()) {
        paths[st->ino] = path;
      }
    });
  }

  std::vector<uint64_t> Points() const {
    std::vector<uint64_t> points;
    if (options.points != CrashPoints::kStoreRequest) {
      for (uint64_t m : marks) {
        if (m >= first_point - 1) points.push_back(m);
      }
      return points;
    }
    for (uint64_t e = first_point; e <= last_point; ++e) points.push_back(e);
    return points;
  }

  Point At(uint64_t event) const {
    Point p;
    p.event = event;
    for (const RecordedRequest& r : recording) {
      if (r.error != 0 || r.submitted_at > event) continue;
      if (r.durable_at != 0 && r.durable_at <= event) {
        if (!p.pending.empty()) p.pending_after_durable = false;
        p.durable.push_back(&r);
      } else {
        p.pending.push_back(&r);
      }
    }
    return p;
  }

  // Brings `base` to the durable requests of `p`.
  void AdvanceBase(const Point& p) const {
    if (p.event == base_event) return;
    // p.durable is in submission order; if the image's requests are its
    // first ones, the rest are later requests and apply on top.
    const bool extends = p.durable.size() >= base_requests.size() &&
                         std::equal(base_requests.begin(), base_requests.end(), p.durable.begin());
    if (!extends) {
      base = MemoryImage();
      base_requests.clear();
    }
    for (size_t i = base_requests.size(); i < p.durable.size(); ++i) {
      base.Apply(p.durable[i]->request);
      base_requests.push_back(p.durable[i]);
    }
    base_event = p.event;
  }

  // Which sectors of a torn page are new: choice bits [first, first +
  // count). count == 0 means the whole request is kept.
  struct Sectors {
    const std::vector<bool>* choice = nullptr;
    size_t first = 0;
    size_t count = 0;
    bool torn() const { return count != 0; }
    bool written(size_t s) const { return (*choice)[first + s]; }
  };

  // Calls keep(request, sectors) for each pending request `choice` keeps, in
  // submission order.
  template <typename Keep>
  void ForEachKept(const Point& p, CrashProfile profile, const std::vector<bool>& choice, Keep keep) const {
    size_t bit = 0;
    const size_t n = sectors();
    for (const RecordedRequest* r : p.pending) {
      if (profile == CrashProfile::kStrict) {
        keep(*r, Sectors{});
      } else if (profile == CrashProfile::kWeakest && IsPage(r->request)) {
        size_t set = 0;
        for (size_t s = 0; s < n; ++s) set += choice[bit + s];
        if (set == n) keep(*r, Sectors{});
        else if (set > 0) keep(*r, Sectors{&choice, bit, n});
        bit += n;
      } else if (choice[bit++]) {
        keep(*r, Sectors{});
      }
    }
  }

  // The page a torn write leaves: the sectors written from `page`, the
  // others as `old` held them (zeros if it held nothing). Each sector is
  // copied once, from whichever side it comes.
  PageRef Torn(const PutPage& page, const PageRef& old, const Sectors& sectors_written) const {
    const uint32_t size = page.data->size();
    const uint32_t sector = size / sectors();
    PageRef torn = PageBuffer::Copy(*page.data);
    for (size_t s = 0; s < sectors_written.count; ++s) {
      if (sectors_written.written(s)) continue;
      char* to = torn->data() + s * sector;
      if (old) {
        std::memcpy(to, old->data() + s * sector, sector);
      } else {
        std::memset(to, 0, sector);
      }
    }
    return torn;
  }

  // The state as the durable image plus the kept requests, mounted.
  Result<std::unique_ptr<Filesystem>> BuildOnImage(const Point& p, CrashProfile profile,
                                                   const std::vector<bool>& choice) const {
    AdvanceBase(p);
    MemoryImage image = base;  // shares the pages; a kept write copies only its inode's
    ForEachKept(p, profile, choice, [&](const RecordedRequest& r, const Sectors& torn) {
      if (!torn.torn()) {
        image.Apply(r.request);
        return;
      }
      const PutPage& page = std::get<PutPage>(r.request);
      image.Apply(PutPage{page.ino, page.index, Torn(page, image.PageAt(page.ino, page.index), torn),
                          page.generation});
    });
    return Filesystem::Mount(NewMemoryStore(std::move(image)), options.fs_options);
  }

  uint32_t sectors() const { return std::max<uint32_t>(1, page_size / options.sector_size); }

  // Choice bits of a profile: one per pending request; for weakest, a page
  // takes one bit per sector (kept if any is set, torn if not all).
  size_t ChoiceBits(const Point& p, CrashProfile profile) const {
    if (profile == CrashProfile::kStrict) return 0;
    if (profile != CrashProfile::kWeakest) return p.pending.size();
    size_t bits = 0;
    for (const RecordedRequest* r : p.pending) bits += IsPage(r->request) ? sectors() : 1;
    return bits;
  }

  // For ordered and writeback: the pending metadata must be a prefix in
  // submission order; for ordered, a kept record of an inode forces every
  // earlier pending page of that inode.
  bool Legal(const Point& p, CrashProfile profile, const std::vector<bool>& choice) const {
    if (choice.size() != ChoiceBits(p, profile)) return false;
    if (profile == CrashProfile::kStrict || profile == CrashProfile::kWeakest) return true;
    bool prefix_open = true;
    for (size_t i = 0; i < p.pending.size(); ++i) {
      if (!IsMetadata(p.pending[i]->request)) continue;
      if (choice[i] && !prefix_open) return false;
      if (!choice[i]) prefix_open = false;
    }
    if (profile == CrashProfile::kOrdered) {
      for (size_t i = 0; i < p.pending.size(); ++i) {
        const auto* record = std::get_if<PutInode>(&p.pending[i]->request);
        if (record == nullptr || !choice[i]) continue;
        for (size_t j = 0; j < i; ++j) {
          const auto* page = std::get_if<PutPage>(&p.pending[j]->request);
          if (page != nullptr && page->ino == record->record.ino && !choice[j]) return false;
        }
      }
    }
    return true;
  }

  // Makes `choice` legal by keeping what its kept requests require.
  void Close(const Point& p, CrashProfile profile, std::vector<bool>* choice) const {
    if (profile == CrashProfile::kStrict || profile == CrashProfile::kWeakest) return;
    size_t last_meta = 0;
    bool any = false;
    for (size_t i = 0; i < p.pending.size(); ++i) {
      if (IsMetadata(p.pending[i]->request) && (*choice)[i]) {
        last_meta = i;
        any = true;
      }
    }
    if (any) {
      for (size_t i = 0; i <= last_meta; ++i) {
        if (IsMetadata(p.pending[i]->request)) (*choice)[i] = true;
      }
    }
    if (profile == CrashProfile::kOrdered) {
      for (size_t i = 0; i < p.pending.size(); ++i) {
        const auto* record = std::get_if<PutInode>(&p.pending[i]->request);
        if (record == nullptr || !(*choice)[i]) continue;
        for (size_t j = 0; j < i; ++j) {
          const auto* page = std::get_if<PutPage>(&p.pending[j]->request);
          if (page != nullptr && page->ino == record->record.ino) (*choice)[j] = true;
        }
      }
    }
  }

  // Every legal choice of the point in a fixed order if there are at most
  // `limit`, else `samples` random legal ones. Sets *exhaustive.
  std::vector<std::vector<bool>> Choices(const Point& p, CrashProfile profile, uint64_t limit,
                                         uint64_t samples, bool* exhaustive) const {
    std::vector<std::vector<bool>> out;
    const size_t bits = ChoiceBits(p, profile);
    *exhaustive = true;
    if (profile == CrashProfile::kStrict) {
      out.emplace_back();
      return out;
    }
    if (profile == CrashProfile::kWeakest || bits < 63) {
      // Count: for the prefix profiles, enumerate by prefix length.
      if (profile == CrashProfile::kWeakest) {
        if (bits < 63 && (uint64_t{1} << bits) <= limit) {
          for (uint64_t m = 0; m < (uint64_t{1} << bits); ++m) out.push_back(BitsOf(m, bits));
          return out;
        }
      } else if (auto all = EnumeratePrefix(p, profile, limit); all.has_value()) {
        return *std::move(all);
      }
    }
    *exhaustive = false;
    Prng prng(Mix(options.seed, p.event));
    for (uint64_t s = 0; s < samples; ++s) {
      std::vector<bool> choice(bits);
      if (profile == CrashProfile::kWeakest) {
        for (size_t i = 0; i < bits; ++i) choice[i] = prng.Bit();
      } else {
        // A prefix length for the metadata, then pages at random.
        size_t metadata = 0;
        for (const RecordedRequest* r : p.pending) metadata += IsMetadata(r->request);
        const uint64_t keep = prng.Below(metadata + 1);
        size_t seen = 0;
        for (size_t i = 0; i < p.pending.size(); ++i) {
          choice[i] = IsMetadata(p.pending[i]->request) ? (seen++ < keep) : prng.Bit();
        }
        Close(p, profile, &choice);
      }
      out.push_back(std::move(choice));
    }
    return out;
  }

  static std::vector<bool> BitsOf(uint64_t m, size_t bits) {
    std::vector<bool> v(bits);
    for (size_t i = 0; i < bits; ++i) v[i] = (m >> i) & 1;
    return v;
  }

  std::optional<std::vector<std::vector<bool>>> EnumeratePrefix(const Point& p, CrashProfile profile,
                                                                uint64_t limit) const {
    std::vector<size_t> metadata, pages;
    for (size_t i = 0; i < p.pending.size(); ++i) {
      (IsMetadata(p.pending[i]->request) ? metadata : pages).push_back(i);
    }
    std::vector<std::vector<bool>> out;
    for (size_t keep = 0; keep <= metadata.size(); ++keep) {
      std::vector<bool> base(p.pending.size(), false);
      for (size_t k = 0; k < keep; ++k) base[metadata[k]] = true;
      Close(p, profile, &base);  // forced pages
      std::vector<size_t> free;
      for (size_t i : pages) {
        if (!base[i]) free.push_back(i);
      }
      if (free.size() >= 63 || out.size() + (uint64_t{1} << free.size()) > limit) return std::nullopt;
      for (uint64_t m = 0; m < (uint64_t{1} << free.size()); ++m) {
        std::vector<bool> choice = base;
        for (size_t b = 0; b < free.size(); ++b) choice[free[b]] = (m >> b) & 1;
        out.push_back(std::move(choice));
      }
    }
    return out;
  }

  // The reference: every request the state keeps, durable ones included,
  // replayed into a fresh store in submission order, then mounted.
  Result<std::unique_ptr<Filesystem>> BuildByReplay(const Point& p, CrashProfile profile,
                                                    const std::vector<bool>& choice) const {
    struct Kept {
      const RecordedRequest* r;
      Sectors sectors;  // weakest pages: which sectors are new
    };
    std::vector<Kept> kept;
    for (const RecordedRequest* r : p.durable) kept.push_back({r, {}});
    ForEachKept(p, profile, choice, [&](const RecordedRequest& r, const Sectors& torn) {
      kept.push_back({&r, torn});
    });
    std::sort(kept.begin(), kept.end(), [](const Kept& a, const Kept& b) { return a.r->index < b.r->index; });

    auto store = NewMemoryStore();
    std::vector<Request> batch;
    auto submit = [&]() -> Result<void> {
      if (batch.empty()) return Ok();
      auto ticket = store->Submit(std::move(batch));
      batch.clear();
      if (!ticket.ok()) return Error(ticket.error());
      return store->Wait(*ticket);
    };
    for (const Kept& k : kept) {
      if (!k.sectors.torn()) {
        batch.push_back(k.r->request);
        continue;
      }
      // A torn page: the sectors not written keep the bytes the state had.
      if (auto done = submit(); !done.ok()) return Error(done.error());
      const PutPage& page = std::get<PutPage>(k.r->request);
      auto old = store->ReadPage(page.ino, page.index);
      if (!old.ok()) return Error(old.error());
      batch.push_back(PutPage{page.ino, page.index, Torn(page, *old, k.sectors), page.generation});
    }
    if (auto done = submit(); !done.ok()) return Error(done.error());
    return Filesystem::Mount(store, options.fs_options);
  }

  Result<std::unique_ptr<Filesystem>> Build(const Point& p, CrashProfile profile,
                                            const std::vector<bool>& choice) const {
    if (options.replay_states || !p.pending_after_durable) return BuildByReplay(p, profile, choice);
    return BuildOnImage(p, profile, choice);
  }

  std::string Check(const Point& p, CrashProfile profile, const std::vector<bool>& choice,
                    const Checker& checker) const {
    auto fs = Build(p, profile, choice);
    if (!fs.ok()) return absl::StrCat("the crash state does not mount: ", std::strerror(fs.error()));
    PrepareAcks(p);
    current_state = CrashStateName{options.seed, p.event, profile, choice}.ToString();
    std::string verdict = checker(**fs, acks_before);
    current_state.clear();
    (*fs)->Crash();  // nothing to write back: the state is thrown away
    return verdict;
  }

  // The acks before the point, gathered once for all its states.
  void PrepareAcks(const Point& p) const {
    if (p.event == acks_before_event) return;
    acks_before.clear();
    for (const Ack& a : acks) {
      if (a.event <= p.event) acks_before.push_back(a);
    }
    acks_before_event = p.event;
  }

  // The verdicts of `choices` at `p`, with up to `threads` checkers at once:
  // states are built here, one after another (the durable image is shared
  // and advanced by this thread only), and checked on worker threads.
  std::vector<std::string> CheckAll(const Point& p, CrashProfile profile,
                                    const std::vector<const std::vector<bool>*>& choices,
                                    const Checker& checker, uint32_t threads) const {
    std::vector<std::string> verdicts(choices.size());
    if (threads <= 1 || choices.size() <= 1) {
      for (size_t i = 0; i < choices.size(); ++i) verdicts[i] = Check(p, profile, *choices[i], checker);
      return verdicts;
    }
    PrepareAcks(p);
    const size_t window = size_t{threads} * 4;
    for (size_t start = 0; start < choices.size(); start += window) {
      const size_t end = std::min(choices.size(), start + window);
      std::vector<std::unique_ptr<Filesystem>> states(end - start);
      for (size_t i = start; i < end; ++i) {
        auto fs = Build(p, profile, *choices[i]);
        if (fs.ok()) {
          states[i - start] = std::move(fs).value();
        } else {
          verdicts[i] = absl::StrCat("the crash state does not mount: ", std::strerror(fs.error()));
        }
      }
      std::atomic<size_t> next{start};
      auto work = [&] {
        for (size_t i; (i = next.fetch_add(1)) < end;) {
          if (states[i - start] == nullptr) continue;
          current_state = CrashStateName{options.seed, p.event, profile, *choices[i]}.ToString();
          verdicts[i] = checker(*states[i - start], acks_before);
          current_state.clear();
          states[i - start]->Crash();
        }
      };
      std::vector<std::thread> workers;
      for (uint32_t t = 1; t < threads && t < end - start; ++t) workers.emplace_back(work);
      work();
      for (std::thread& w : workers) w.join();
    }
    return verdicts;
  }

  // Keeps lost requests one by one (with what the profile then requires)
  // while the state still fails: a 1-minimal set of lost requests.
  std::vector<bool> Shrink(const Point& p, CrashProfile profile, std::vector<bool> choice,
                           const Checker& checker) const {
    if (profile == CrashProfile::kStrict) return choice;
    for (size_t i = choice.size(); i-- > 0;) {
      if (choice[i]) continue;
      std::vector<bool> trial = choice;
      if (profile == CrashProfile::kWeakest) {
        // Keep the whole request the bit belongs to.
        auto [first, count] = SlotOf(p, i);
        for (size_t b = first; b < first + count; ++b) trial[b] = true;
      } else {
        trial[i] = true;
        Close(p, profile, &trial);
      }
      if (!Check(p, profile, trial, checker).empty()) choice = std::move(trial);
    }
    return choice;
  }

  // The bits of the pending request that bit `bit` belongs to (weakest).
  std::pair<size_t, size_t> SlotOf(const Point& p, size_t bit) const {
    size_t at = 0;
    for (const RecordedRequest* r : p.pending) {
      const size_t n = IsPage(r->request) ? sectors() : 1;
      if (bit < at + n) return {at, n};
      at += n;
    }
    return {bit, 1};
  }

  std::string PathOf(InodeId ino) const {
    auto it = paths.find(ino);
    return it == paths.end() ? absl::StrCat("inode ", ino.value()) : it->second;
  }

  // What was lost, and the call that would have made it durable in time.
  void Attribute(const Point& p, CrashProfile profile, const std::vector<bool>& choice,
                 CrashFailure* failure) const {
    size_t bit = 0;
    for (const RecordedRequest* r : p.pending) {
      bool lost = false;
      bool torn = false;
      if (profile == CrashProfile::kWeakest && IsPage(r->request)) {
        size_t set = 0;
        for (uint32_t s = 0; s < sectors(); ++s) set += choice[bit + s];
        bit += sectors();
        lost = set < sectors();
        torn = set > 0 && set < sectors();
      } else if (profile != CrashProfile::kStrict) {
        lost = !choice[bit++];
      }
      if (!lost) continue;
      const Request& q = r->request;
      std::string what = absl::StrCat("#", r->index, " ", Describe(q), torn ? " (torn)" : "");
      std::string advice;
      if (const auto* page = std::get_if<PutPage>(&q)) {
        advice = absl::StrCat("fdatasync or fsync of ", PathOf(page->ino), " after writing it");
      } else if (const auto* record = std::get_if<PutInode>(&q)) {
        advice = absl::StrCat("fsync of ", PathOf(record->record.ino));
      } else if (const auto* entry = std::get_if<PutDirent>(&q)) {
        advice = absl::StrCat("fsync of the directory ", PathOf(entry->dir), " (entry \"", entry->name, "\")");
      } else if (const auto* gone = std::get_if<DelDirent>(&q)) {
        advice = absl::StrCat("fsync of the directory ", PathOf(gone->dir), " (removal of \"", gone->name, "\")");
      } else if (const auto* cut = std::get_if<Truncate>(&q)) {
        // Rule X3: a hole punch is durable by either call, as a truncation.
        advice = absl::StrCat("fsync or fdatasync of ", PathOf(cut->ino),
                              cut->end_page != Truncate::kNoEnd ? " after fallocate(PUNCH_HOLE)" : "");
      } else {
        advice = "syncfs";
      }
      failure->lost.push_back(std::move(what));
      failure->advice.push_back(std::move(advice));
    }
  }
};

Result<CrashReport> CrashExplorer::Run(const Workload& workload, const Checker& checker) {
  auto trace = Record(workload);
  if (!trace.ok()) return Error(trace.error());
  return Explore(*trace, checker);
}

Result<CrashTrace> CrashExplorer::Record(const Workload& workload) {
  Exploration run{options_};
  if (auto recorded = run.Record(workload); !recorded.ok()) return Error(recorded.error());
  return run.Save();
}

Result<CrashReport> CrashExplorer::Explore(const CrashTrace& trace, const Checker& checker) {
  if (options_.shards == 0 || options_.shard >= options_.shards || options_.sector_size == 0) {
    return Error(EINVAL);
  }
  Exploration run{options_};
  run.Load(trace);
  if (run.page_size == 0 || run.page_size % options_.sector_size != 0) return Error(EINVAL);
  CrashReport report;
  const std::vector<uint64_t> points = run.Points();
  uint64_t state_number = 0;
  std::set<std::string> reported;
  for (size_t n = 0; n < points.size(); ++n) {
    const auto p = run.At(points[n]);
    bool exhaustive = true;
    auto choices = run.Choices(p, options_.profile, options_.exhaustive_limit, options_.samples, &exhaustive);
    ++report.points;
    (exhaustive ? report.exhaustive_points : report.sampled_points)++;
    std::vector<const std::vector<bool>*> mine;
    for (const auto& choice : choices) {
      if (state_number++ % options_.shards == options_.shard) mine.push_back(&choice);  // else another shard's
    }
    const std::vector<std::string> verdicts =
        run.CheckAll(p, options_.profile, mine, checker, options_.check_threads);
    for (size_t k = 0; k < mine.size(); ++k) {
      const std::vector<bool>& choice = *mine[k];
      ++report.states;
      if (verdicts[k].empty()) continue;
      CrashFailure failure;
      std::vector<bool> smallest =
          options_.shrink ? run.Shrink(p, options_.profile, choice, checker) : choice;
      failure.name = CrashStateName{options_.seed, p.event, options_.profile, smallest}.ToString();
      // Several states of a point often shrink to the same one: report it once.
      if (!reported.insert(failure.name).second) continue;
      failure.message = run.Check(p, options_.profile, smallest, checker);
      if (failure.message.empty()) {
        // The checker passed the state it had failed: a checker that does not
        // decide the same way twice, which the report must not hide.
        failure.message = absl::StrCat(verdicts[k], " (the checker passed this state when run again)");
      }
      run.Attribute(p, options_.profile, smallest, &failure);
      if (failure.lost.empty()) {
        // Nothing handed to the store was lost: a sync was never called. What
        // the next acknowledgement (or the end of the workload) still had
        // unsynced names it.
        const Ack* next = nullptr;
        for (const Ack& a : run.acks) {
          if (a.event >= p.event) {
            next = &a;
            break;
          }
        }
        const std::vector<std::string>& unsynced = next ? next->unsynced : run.unsynced_at_end;
        for (const std::string& call : unsynced) {
          // An xattr promise's key is the path, a NUL and the name.
          failure.lost.push_back(next ? "not handed to the store by the ack of \"" +
                                            absl::StrReplaceAll(next->key, {{std::string(1, '\0'), " xattr "}}) + "\""
                                      : "not handed to the store by the end of the workload");
          failure.advice.push_back(call);
        }
      }
      // The same cause at several points (same message, same lost requests
      // and advice) is one failure, reported at its first state.
      auto same = std::find_if(report.failures.begin(), report.failures.end(), [&](const CrashFailure& f) {
        return f.message == failure.message && f.lost == failure.lost && f.advice == failure.advice;
      });
      if (same != report.failures.end()) {
        ++same->more_states;
        continue;
      }
      report.failures.push_back(std::move(failure));
      if (report.failures.size() >= options_.max_failures) return report;
    }
    if (progress_) progress_(n + 1, points.size(), report.states, report.failures.size());
  }
  return report;
}

Result<std::string> CrashExplorer::Replay(const Workload& workload, const Checker& checker,
                                          std::string_view text) {
  auto trace = Record(workload);
  if (!trace.ok()) return Error(trace.error());
  return Replay(*trace, checker, text);
}

Result<std::string> CrashExplorer::Replay(const CrashTrace& trace, const Checker& checker,
                                          std::string_view text) {
  auto name = CrashStateName::Parse(text);
  if (!name.ok()) return Error(EINVAL);
  CrashExplorerOptions options = options_;
  options.seed = name->seed;
  options.profile = name->profile;
  Exploration run{options};
  run.Load(trace);
  if (name->point < run.first_point - 1 || name->point > run.last_point) return Error(EINVAL);
  const auto p = run.At(name->point);
  if (!run.Legal(p, name->profile, name->choice)) return Error(EINVAL);
  return run.Check(p, name->profile, name->choice, checker);
}

Result<std::vector<uint64_t>> CrashExplorer::CrashPointsOf(const Workload& workload) {
  Exploration run{options_};
  if (auto recorded = run.Record(workload); !recorded.ok()) return Error(recorded.error());
  return run.Points();
}

Result<CrashExplorer::PointStates> CrashExplorer::StatesAt(const Workload& workload, uint64_t point) {
  Exploration run{options_};
  if (auto recorded = run.Record(workload); !recorded.ok()) return Error(recorded.error());
  if (point < run.first_point - 1 || point > run.last_point) return Error(EINVAL);
  const auto p = run.At(point);
  PointStates out;
  for (const RecordedRequest* r : p.durable) out.durable.push_back(*r);
  for (const RecordedRequest* r : p.pending) out.pending.push_back(*r);
  for (auto& choice : run.Choices(p, options_.profile, options_.exhaustive_limit, options_.samples,
                                  &out.exhaustive)) {
    out.names.push_back(CrashStateName{options_.seed, point, options_.profile, choice}.ToString());
  }
  return out;
}

std::string CrashReport::ToJson() const {
  std::string out = absl::StrCat("{\"points\":", points, ",\"states\":", states,
                                 ",\"exhaustive_points\":", exhaustive_points,
                                 ",\"sampled_points\":", sampled_points, ",\"failures\":[");
  for (size_t i = 0; i < failures.size(); ++i) {
    const CrashFailure& f = failures[i];
    absl::StrAppend(&out, i ? "," : "", "{\"name\":", JsonString(f.name),
                    ",\"message\":", JsonString(f.message), ",\"more_states\":", f.more_states,
                    ",\"lost\":[");
    for (size_t j = 0; j < f.lost.size(); ++j) {
      absl::StrAppend(&out, j ? "," : "", "{\"request\":", JsonString(f.lost[j]),
                      ",\"protect_with\":", JsonString(f.advice[j]), "}");
    }
    out += "]}";
  }
  return out + "]}";
}

}  // namespace vfs
