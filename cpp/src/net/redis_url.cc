// ParseRedisUrl: "redis://" and "unix://" URLs into RedisOptions, with messages that say which
// part is wrong (the password is never echoed back).
#include <cctype>
#include <cstdlib>
#include <string>

#include "vmllm/redis_options.h"

namespace vmllm {
namespace {

Status Bad(std::string_view url_for_message, const std::string& what) {
  return Status::InvalidArgument("bad Redis URL '" + std::string(url_for_message) + "': " + what);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool ParseInt(std::string_view s, long min, long max, long* out) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  long v = std::strtol(std::string(s).c_str(), nullptr, 10);
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

bool ParseSeconds(std::string_view s, double* out) {
  std::string text(s);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v > 0) || v > 3600) return false;
  *out = v;
  return true;
}

}  // namespace

Result<RedisOptions> ParseRedisUrl(std::string_view url) {
  RedisOptions o;
  // Shown in messages with any password masked.
  std::string shown(url.substr(0, 300));
  size_t at_shown = shown.find('@');
  size_t scheme_end_shown = shown.find("://");
  if (at_shown != std::string::npos && scheme_end_shown != std::string::npos &&
      at_shown > scheme_end_shown) {
    shown = shown.substr(0, scheme_end_shown + 3) + "***" + shown.substr(at_shown);
  }

  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Bad(shown, "expected redis://host:port/db or unix:///path.sock");
  }
  std::string_view scheme = url.substr(0, scheme_end);
  std::string_view rest = url.substr(scheme_end + 3);
  if (scheme == "rediss") return Bad(shown, "TLS (rediss://) is not supported");
  if (scheme != "redis" && scheme != "unix") {
    return Bad(shown, "the scheme must be redis:// or unix://, not " + std::string(scheme) + "://");
  }
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // Userinfo ends at the last '@' so that a password may contain '@' when percent-encoded or not.
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = userinfo, password;
    if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      password = userinfo.substr(colon + 1);
    } else {
      password = userinfo;  // "redis://secret@host": a password alone, as redis-py reads it.
      user = {};
    }
    if (!PercentDecode(user, &o.user) || !PercentDecode(password, &o.password)) {
      return Bad(shown, "bad percent-encoding in the user or password");
    }
    if (o.password.empty() && !o.user.empty()) return Bad(shown, "a user needs a password");
  }
  if (scheme == "unix") {
    if (rest.empty() || rest[0] != '/') {
      return Bad(shown, "expected an absolute socket path, as in unix:///run/redis.sock");
    }
    o.unix_socket = std::string(rest);
  } else {
    std::string_view hostport = rest, db;
    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
      hostport = rest.substr(0, slash);
      db = rest.substr(slash + 1);
    }
    std::string_view host = hostport, port;
    if (!hostport.empty() && hostport[0] == '[') {
      size_t close = hostport.find(']');
      if (close == std::string_view::npos) return Bad(shown, "unclosed '[' in the host");
      host = hostport.substr(1, close - 1);
      std::string_view after = hostport.substr(close + 1);
      if (!after.empty()) {
        if (after[0] != ':') return Bad(shown, "expected ':' after the host");
        port = after.substr(1);
        if (port.empty()) return Bad(shown, "empty port");
      }
    } else if (size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      if (port.empty()) return Bad(shown, "empty port");
    }
    if (!host.empty()) o.host = std::string(host);
    long value = 0;
    if (!port.empty()) {
      if (!ParseInt(port, 1, 65535, &value)) return Bad(shown, "the port must be 1-65535");
      o.port = static_cast<int>(value);
    }
    if (!db.empty()) {
      if (!ParseInt(db, 0, 1 << 20, &value)) {
        return Bad(shown, "the database must be a number, as in redis://host:6379/0");
      }
      o.db = static_cast<int>(value);
    }
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return Bad(shown, "query parameter '" + std::string(pair) + "' has no value");
    }
    std::string_view name = pair.substr(0, eq), value = pair.substr(eq + 1);
    long number = 0;
    bool ok = true;
    if (name == "db") {
      ok = ParseInt(value, 0, 1 << 20, &number);
      o.db = static_cast<int>(number);
    } else if (name == "timeout") {
      ok = ParseSeconds(value, &o.command_timeout_seconds);
    } else if (name == "connect_timeout") {
      ok = ParseSeconds(value, &o.connect_timeout_seconds);
    } else if (name == "backoff") {
      ok = ParseSeconds(value, &o.retry_backoff_seconds);
    } else {
      return Bad(shown, "unknown query parameter '" + std::string(name) +
                            "' (known: db, timeout, connect_timeout, backoff)");
    }
    if (!ok) return Bad(shown, "bad value for '" + std::string(name) + "'");
  }
  return o;
}

}  // namespace vmllm
