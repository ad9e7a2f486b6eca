// StreamPolicy's state as JSON: what a session stores in its space's record, so that a restarted
// proxy, or another process sharing the store, continues the session with the same stubs, pins,
// compactions and counters.
#include <nlohmann/json.hpp>

#include "stream/stream_policy.h"
#include "util/hash.h"

namespace vmllm {
namespace {

using nlohmann::json;

constexpr int kStateVersion = 1;

json StatsToJson(const StreamStats& s) {
  return json{{"requests", s.requests},       {"turns", s.turns},
              {"evictions", s.evictions},     {"faults", s.faults},
              {"recall_faults", s.recall_faults}, {"reissue_faults", s.reissue_faults},
              {"unpins", s.unpins},           {"schema_stubs", s.schema_stubs},
              {"releases", s.releases},       {"compactions", s.compactions},
              {"deferred_by_cache", s.deferred_by_cache}, {"bytes_in", s.bytes_in},
              {"bytes_out", s.bytes_out},     {"pressure", s.pressure}};
}

StreamStats StatsFromJson(const json& j) {
  StreamStats s;
  s.requests = j.at("requests").get<uint64_t>();
  s.turns = j.at("turns").get<uint64_t>();
  s.evictions = j.at("evictions").get<uint64_t>();
  s.faults = j.at("faults").get<uint64_t>();
  s.recall_faults = j.at("recall_faults").get<uint64_t>();
  s.reissue_faults = j.at("reissue_faults").get<uint64_t>();
  s.unpins = j.at("unpins").get<uint64_t>();
  s.schema_stubs = j.at("schema_stubs").get<uint64_t>();
  s.releases = j.at("releases").get<uint64_t>();
  s.compactions = j.at("compactions").get<uint64_t>();
  s.deferred_by_cache = j.at("deferred_by_cache").get<uint64_t>();
  s.bytes_in = j.at("bytes_in").get<uint64_t>();
  s.bytes_out = j.at("bytes_out").get<uint64_t>();
  s.pressure = j.at("pressure").get<std::string>();
  return s;
}

// {"tools": {name: [page, active turn]}, "offered": [names]}.
json SchemasToJson(const SchemaState& s) {
  json tools = json::object();
  for (const auto& [name, tool] : s.tools) tools[name] = json::array({tool.page, tool.active});
  return json{{"tools", std::move(tools)}, {"offered", s.offered}};
}

SchemaState SchemasFromJson(const json& j) {
  SchemaState s;
  for (const auto& [name, tool] : j.at("tools").items()) {
    s.tools[name] = SchemaState::Tool{tool.at(0).get<std::string>(), tool.at(1).get<long>()};
  }
  s.offered = j.at("offered").get<std::set<std::string>>();
  return s;
}

}  // namespace

uint64_t StreamPolicy::DecisionFingerprint() const {
  // The sets only grow, or trade entries in moves that a counter records (a release, a
  // recall, an unpin), so sizes and counters change with every decision.
  std::string key;
  for (uint64_t n : {uint64_t{meta_.size()}, uint64_t{stubbed_.size()}, uint64_t{restored_.size()},
                     uint64_t{released_.size()}, uint64_t{pinned_.size()}, uint64_t{seen_.size()},
                     uint64_t{compactions_.size()}, stats_.faults, stats_.unpins,
                     stats_.releases, stats_.evictions, stats_.deferred_by_cache,
                     uint64_t{first_request_}, uint64_t(monitor_.level())}) {
    key += std::to_string(n) + ',';
  }
  for (const std::string& tool : prev_stubbed_tools_) key += tool + '\x1f';
  key += '\x1e';
  for (const auto& [name, tool] : schemas_.tools) {
    key += name + '\x1f' + tool.page + '\x1f' + std::to_string(tool.active) + '\x1f';
  }
  for (const std::string& tool : schemas_.offered) key += tool + '\x1f';
  return Fnv1a64(key);
}

std::string StreamPolicy::SaveState() const {
  json pages = json::object();
  for (const auto& [id, m] : meta_) {
    json page = {m.tool, m.key, m.bytes, m.lines};
    auto call = page_call_key_.find(id);
    if (call != page_call_key_.end()) page.push_back(call->second);
    pages[id] = std::move(page);
  }
  json compactions = json::array();
  for (const Compaction& c : compactions_) compactions.push_back({c.from, c.to, c.summary});
  json state = {{"v", kStateVersion},
                {"stats", StatsToJson(stats_)},
                {"pages", std::move(pages)},
                {"stubbed", stubbed_},
                {"restored", restored_},
                {"released", released_},
                {"pinned", pinned_},
                {"seen", seen_},
                {"compactions", std::move(compactions)},
                {"stubbed_tools", prev_stubbed_tools_},
                {"schemas", SchemasToJson(schemas_)},
                {"first_request", first_request_},
                {"fault_monitor", monitor_.Save()}};
  // Replacement characters for any invalid UTF-8 a client's ids carried, never an exception.
  return state.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status StreamPolicy::LoadState(std::string_view text) {
  try {
    const json state = json::parse(text);
    if (state.at("v").get<int>() != kStateVersion) {
      return Status::InvalidArgument("stream state version " + state.at("v").dump() +
                                     "; this vmllm reads version " +
                                     std::to_string(kStateVersion));
    }
    std::unordered_map<std::string, StreamPageMeta> meta;
    std::unordered_map<std::string, std::string> call_keys;
    for (const auto& [id, page] : state.at("pages").items()) {
      meta[id] = StreamPageMeta{page.at(0).get<std::string>(), page.at(1).get<std::string>(),
                                page.at(2).get<size_t>(), page.at(3).get<size_t>()};
      if (page.size() > 4) call_keys[id] = page.at(4).get<std::string>();
    }
    std::vector<Compaction> compactions;
    for (const json& c : state.at("compactions")) {
      compactions.push_back({c.at(0).get<long>(), c.at(1).get<long>(), c.at(2).get<std::string>()});
    }
    // Parsed in full before anything is replaced: a bad state leaves the policy as it was.
    StreamStats stats = StatsFromJson(state.at("stats"));
    auto stubbed = state.at("stubbed").get<std::set<std::string>>();
    auto restored = state.at("restored").get<std::set<std::string>>();
    auto released = state.at("released").get<std::set<std::string>>();
    auto pinned = state.at("pinned").get<std::map<std::string, std::string>>();
    auto seen = state.at("seen").get<std::set<std::string>>();
    auto stubbed_tools = state.at("stubbed_tools").get<std::set<std::string>>();
    const bool first_request = state.at("first_request").get<bool>();
    // A state saved before the schema rules has none: its tools count as newly seen.
    SchemaState schemas;
    if (state.contains("schemas")) schemas = SchemasFromJson(state.at("schemas"));
    // Absent from states saved before the fault monitor existed: it starts calm.
    const auto monitor = state.contains("fault_monitor")
                             ? state.at("fault_monitor").get<std::vector<long>>()
                             : std::vector<long>{};
    stats_ = std::move(stats);
    stats_.pages = meta.size();
    stats_.pinned_keys = CountKeyPins(pinned);
    meta_ = std::move(meta);
    page_call_key_ = std::move(call_keys);
    stubbed_ = std::move(stubbed);
    restored_ = std::move(restored);
    released_ = std::move(released);
    pinned_ = std::move(pinned);
    seen_ = std::move(seen);
    compactions_ = std::move(compactions);
    prev_stubbed_tools_ = std::move(stubbed_tools);
    schemas_ = std::move(schemas);
    first_request_ = first_request;
    monitor_.Restore(monitor);
    new_pages_.clear();
    return Status();
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("not a saved stream state: ") + e.what());
  }
}

}  // namespace vmllm
