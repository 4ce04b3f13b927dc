#pragma once
// What any client can make discoveryd hold, bounded (issue 20, finding 5).
// Each bound is a discoveryd flag (app/discoveryd_flags.h) and a row of the
// table "Bounds: discoveryd and admin listeners" in docs/reliability.md.
// Refusals answer status 3 (an argument no registry could take: a too long
// address) or 8 (RESOURCE_EXHAUSTED: the registry, a name, a connection or
// the long polls are full; retrying later may work) and change nothing.
#include "discovery/protocol.h"

#include <cstddef>

namespace routing::discovery {

struct DiscoveryLimits {
  // REGISTER: an address longer than this gets 3. A DNS name is at most 253
  // bytes, so host:port fits in 260; the rest is slack.
  std::size_t max_address_bytes = 512;
  // Names with at least one instance; REGISTER of a new name past it gets 8.
  std::size_t max_names = 10'000;
  // Instances of one name; a new instance past it gets 8.
  std::size_t max_instances_per_name = 1'000;
  // Instances of all names together (what bounds the registry's memory:
  // worst case about 3.5 KiB each, names and addresses at their limits, plus
  // up to 4 KiB of placement meta and a 64-byte zone: under 8 KiB).
  std::size_t max_instances = 50'000;
  // Live instances first registered through one client connection (a refresh
  // never counts); a new one past it gets 8.
  std::size_t max_registrations_per_connection = 1'000;
  // A name's LIST answer, as a frame line: a REGISTER that would make it
  // longer gets 8, so every LIST fits a client's frame limit. discoveryd
  // lowers it to its own --max-frame-bytes if that is smaller.
  std::size_t max_list_bytes = 512 * 1024;
  // LIST long polls waiting at once, per connection and in total; one more
  // gets 8 (clients retry with backoff). A version-1 connection serves one
  // call at a time, so it holds at most one.
  std::size_t max_long_polls_per_connection = 16;
  std::size_t max_long_polls = 8'000;
  // Names in one multi-name LIST ("names", an extension beyond CONTRACT §2):
  // more get 3. Its answer is bounded by max_list_bytes like any LIST.
  std::size_t max_watch_names = default_max_watch_names;
};

}  // namespace routing::discovery
