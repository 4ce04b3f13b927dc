#include "proxy/status_page.h"

#include "common/base64.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace routing::proxy {
namespace json = boost::json;

namespace {

// The page around the figures. @NONCE@, @UPDATED@ and @FIGURES@ are filled
// in by render_status_page. The script builds the same markup as
// Renderer below from GET /status, with DOM calls only (no innerHTML), so
// strings from the JSON can only ever become text.
constexpr std::string_view page_template = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>routerd status</title>
<noscript><meta http-equiv="refresh" content="5"></noscript>
<style nonce="@NONCE@">
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1rem 2rem; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
h2 { font-size: 1.1rem; margin: 0 0 .4rem; overflow-wrap: anywhere; }
section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8rem 1rem; margin: 1rem 0; }
dl { display: flex; flex-wrap: wrap; gap: .3rem 1.6rem; margin: 0 0 .6rem; }
dl div { display: flex; gap: .4rem; }
dt { color: #666; }
dd { margin: 0; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .6rem; border-top: 1px solid #eee; font-variant-numeric: tabular-nums; }
th { color: #666; font-weight: normal; }
.ok { color: #0a7d28; }
.warn { color: #a15c00; }
.bad { color: #c0161d; font-weight: bold; }
.note { color: #666; margin: 0; }
.error { background: #fde8e8; border: 1px solid #c0161d; color: #c0161d; padding: .4rem .8rem; border-radius: 4px; }
</style>
</head>
<body>
<h1>routerd status</h1>
<p id="updated" class="note">@UPDATED@</p>
<p id="error" class="error" hidden></p>
<main id="figures">
@FIGURES@</main>
<script nonce="@NONCE@">
"use strict";
(() => {
  const figures = document.getElementById("figures");
  const updated = document.getElementById("updated");
  const error = document.getElementById("error");

  // An element with a class and children; strings become text nodes.
  function el(tag, cls, ...children) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    for (const child of children) e.append(child instanceof Node ? child : String(child));
    return e;
  }
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : 0);
  function ms(v) {
    if (v < 0) return "\u221e";  // beyond the largest histogram bucket
    return v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  }
  function duration(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + (s % 60) + "s";
    return s + "s";
  }
  function calls(map) {
    let total = 0, errors = 0;
    const detail = [];
    for (const [code, n] of Object.entries(map || {})) {
      total += num(n);
      if (code !== "0") { errors += num(n); detail.push(code + ": " + num(n)); }
    }
    return { total, errors, detail: detail.join(", ") };
  }
  const errorsText = (c) => String(c.errors) + (c.detail ? " (" + c.detail + ")" : "");
  function latency(l) {
    if (!l || !num(l.count)) return "\u2014";
    return ms(num(l.mean_ms)) + " / \u2264" + ms(num(l.p50_le_ms)) + " / \u2264" + ms(num(l.p99_le_ms)) + " ms";
  }
  function health(b) {
    if (b.resolved === false) return ["unresolved", "warn"];
    if (b.drained) return ["drained", "warn"];
    if (b.ejected) return ["ejected", "bad"];
    if (b.healthy === false) return ["failing health checks", "bad"];
    return ["healthy", "ok"];
  }
  function facts(pairs) {
    return el("dl", "", ...pairs.map(([name, value, cls]) => el("div", "", el("dt", "", name), el("dd", cls || "", value))));
  }

  function summary(s, systems) {
    const all = { total: 0, errors: 0, refused: 0, limited: 0 };
    for (const sys of systems) {
      const c = calls(sys.calls);
      all.total += c.total; all.errors += c.errors;
      all.refused += num((sys.calls || {})["8"]); all.limited += num(sys.rate_limited);
    }
    return el("section", "summary", el("h2", "", "routerd"), facts([
      ["state", s.draining ? "draining" : "serving", s.draining ? "warn" : "ok"],
      ["uptime", typeof s.uptime_seconds === "number" ? duration(s.uptime_seconds) : "\u2014"],
      ["client connections", num(s.client_connections)],
      ["systems", num(s.systems_total)],
      ["unknown names", num(s.unknown_names)],
      ["calls", all.total],
      ["errors", all.errors],
      ["refused (8)", all.refused],
      ["rate limited", all.limited],
    ]));
  }

  function backendRow(b) {
    const [label, cls] = health(b);
    let healthText = label;
    if (num(b.consecutive_failures)) healthText += " (" + num(b.consecutive_failures) + " failures in a row)";
    if (typeof b.slow_start_share === "number" && b.slow_start_share < 1) healthText += " \u00b7 slow start " + Math.round(b.slow_start_share * 100) + "%";
    let latencyText = latency(b.latency);
    if (b.adaptive) latencyText += " \u00b7 moving avg " + ms(num(b.adaptive.latency_seconds) * 1000) + " ms, limit " + num(b.adaptive.limit);
    const c = calls(b.calls);
    return el("tr", "", el("td", "", String(b.address)), el("td", cls, healthText),
              el("td", "", (typeof b.zone === "string" && b.zone !== "" ? b.zone : "\u2014") + (typeof b.weight === "number" && b.weight !== 100 ? " \u00b7 weight " + b.weight : "")), el("td", "", latencyText),
              el("td", "", c.total), el("td", c.errors ? "warn" : "", errorsText(c)), el("td", "", num(b.in_flight)),
              el("td", "", num(b.idle_connections) + " / " + num(b.active_connections)));
  }

  function system(sys) {
    const c = calls(sys.calls);
    const head = el("tr", "", ...["backend", "health", "zone", "latency mean / p50 / p99", "calls", "errors", "in flight",
                                  "connections idle / in use"].map((t) => el("th", "", t)));
    const backends = sys.backends || [];
    return el("section", "system", el("h2", "", String(sys.name)), facts([
      ["strategy", String(sys.strategy)],
      ["pool in use", num(sys.in_flight) + " of " + num(sys.pool_size) + (sys.adaptive_pool ? " (auto)" : "")],
      ["queued", num(sys.waiting) + " of " + num(sys.max_pending)],
      ["queue wait", latency(sys.queue_wait)],
      ["shed early (8)", num(sys.shed), num(sys.shed) ? "warn" : ""],
      ["open connections", num(sys.open_connections)],
      ["calls", c.total],
      ["errors", errorsText(c), c.errors ? "warn" : ""],
      ["latency", latency(sys.latency)],
      ["retries", num(sys.retries)],
      ["rate limited", num(sys.rate_limited)],
    ]), backends.length ? el("table", "", el("thead", "", head), el("tbody", "", ...backends.map(backendRow)))
                        : el("p", "note", "no backends"));
  }

  async function refresh() {
    try {
      const response = await fetch("/status", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const s = await response.json();
      const systems = Array.isArray(s.systems) ? s.systems : [];
      figures.replaceChildren(summary(s, systems), ...systems.map(system));
      updated.textContent = "updated at " + new Date().toLocaleTimeString() + " (refreshing every 2 s)";
      error.hidden = true;
    } catch (e) {
      error.textContent = "cannot fetch /status: " + e.message + " \u2014 the figures below are from " +
                          updated.textContent.replace(/^updated at /, "");
      error.hidden = false;
    } finally {
      setTimeout(refresh, 2000);
    }
  }
  refresh();
})();
</script>
</body>
</html>
)html";

void escape_into(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

const json::value* field(const json::object* object, std::string_view key) {
  if (object == nullptr) return nullptr;
  auto it = object->find(key);
  return it == object->end() ? nullptr : &it->value();
}
const json::object* object_at(const json::object* object, std::string_view key) {
  const json::value* v = field(object, key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}
double number_of(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  if (v->is_double()) return v->as_double();
  return 0;
}
double number_at(const json::object* object, std::string_view key) { return number_of(field(object, key)); }
std::uint64_t count_at(const json::object* object, std::string_view key) {
  double n = number_at(object, key);
  return n > 0 ? static_cast<std::uint64_t>(n) : 0;
}
std::string string_at(const json::object* object, std::string_view key) {
  const json::value* v = field(object, key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
bool bool_at(const json::object* object, std::string_view key, bool otherwise) {
  const json::value* v = field(object, key);
  return v && v->is_bool() ? v->as_bool() : otherwise;
}

std::string fixed(double v, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}
std::string ms(double v) {
  if (v < 0) return "\u221e";  // beyond the largest histogram bucket
  return fixed(v, v >= 100 ? 0 : v >= 10 ? 1 : 2);
}
std::string duration(double seconds) {
  auto s = static_cast<std::uint64_t>(seconds > 0 ? seconds : 0);
  auto d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
  if (d) return std::to_string(d) + "d " + std::to_string(h) + "h";
  if (h) return std::to_string(h) + "h " + std::to_string(m) + "m";
  if (m) return std::to_string(m) + "m " + std::to_string(s % 60) + "s";
  return std::to_string(s) + "s";
}

struct Calls {
  std::uint64_t total = 0, errors = 0;
  std::string detail;  // "4: 3, 14: 1": the errors by status
  std::string errors_text() const { return std::to_string(errors) + (detail.empty() ? "" : " (" + detail + ")"); }
};
Calls calls_of(const json::object* map) {
  Calls c;
  if (map == nullptr) return c;
  for (const auto& entry : *map) {
    std::string_view code = entry.key();
    double value = number_of(&entry.value());
    auto n = value > 0 ? static_cast<std::uint64_t>(value) : std::uint64_t{0};
    c.total += n;
    if (code != "0") {
      c.errors += n;
      c.detail += (c.detail.empty() ? "" : ", ") + std::string(code) + ": " + std::to_string(n);
    }
  }
  return c;
}

std::string latency_text(const json::object* l) {
  if (count_at(l, "count") == 0) return "\u2014";
  return ms(number_at(l, "mean_ms")) + " / \u2264" + ms(number_at(l, "p50_le_ms")) + " / \u2264" +
         ms(number_at(l, "p99_le_ms")) + " ms";
}

// The markup the page's script builds, built once on the server.
class Renderer {
 public:
  void summary(const json::object& status, const json::array* systems) {
    std::uint64_t total = 0, errors = 0, refused = 0, limited = 0;
    if (systems)
      for (const auto& each : *systems) {
        const json::object* sys = each.if_object();
        Calls c = calls_of(object_at(sys, "calls"));
        total += c.total;
        errors += c.errors;
        refused += count_at(object_at(sys, "calls"), "8");
        limited += count_at(sys, "rate_limited");
      }
    bool draining = bool_at(&status, "draining", false);
    open("section", "summary");
    element("h2", "", "routerd");
    out_ += "<dl>";
    fact("state", draining ? "draining" : "serving", draining ? "warn" : "ok");
    const json::value* uptime = field(&status, "uptime_seconds");
    fact("uptime", uptime && uptime->is_number() ? duration(number_at(&status, "uptime_seconds")) : "\u2014");
    fact("client connections", std::to_string(count_at(&status, "client_connections")));
    fact("systems", std::to_string(count_at(&status, "systems_total")));
    fact("unknown names", std::to_string(count_at(&status, "unknown_names")));
    fact("calls", std::to_string(total));
    fact("errors", std::to_string(errors));
    fact("refused (8)", std::to_string(refused));
    fact("rate limited", std::to_string(limited));
    out_ += "</dl></section>\n";
  }

  void system(const json::object* sys) {
    Calls c = calls_of(object_at(sys, "calls"));
    open("section", "system");
    element("h2", "", string_at(sys, "name"));
    out_ += "<dl>";
    fact("strategy", string_at(sys, "strategy"));
    fact("pool in use", std::to_string(count_at(sys, "in_flight")) + " of " + std::to_string(count_at(sys, "pool_size")) +
                            (bool_at(sys, "adaptive_pool", false) ? " (auto)" : ""));
    fact("queued", std::to_string(count_at(sys, "waiting")) + " of " + std::to_string(count_at(sys, "max_pending")));
    fact("queue wait", latency_text(object_at(sys, "queue_wait")));
    fact("shed early (8)", std::to_string(count_at(sys, "shed")), count_at(sys, "shed") ? "warn" : "");
    fact("open connections", std::to_string(count_at(sys, "open_connections")));
    fact("calls", std::to_string(c.total));
    fact("errors", c.errors_text(), c.errors ? "warn" : "");
    fact("latency", latency_text(object_at(sys, "latency")));
    fact("retries", std::to_string(count_at(sys, "retries")));
    fact("rate limited", std::to_string(count_at(sys, "rate_limited")));
    out_ += "</dl>";
    const json::value* backends = field(sys, "backends");
    if (backends && backends->is_array() && !backends->as_array().empty()) {
      out_ += "<table><thead><tr>";
      for (const char* title : {"backend", "health", "zone", "latency mean / p50 / p99", "calls", "errors", "in flight",
                                "connections idle / in use"})
        element("th", "", title);
      out_ += "</tr></thead><tbody>";
      for (const auto& b : backends->as_array()) backend(b.if_object());
      out_ += "</tbody></table>";
    } else {
      element("p", "note", "no backends");
    }
    out_ += "</section>\n";
  }

  std::string take() { return std::move(out_); }

 private:
  void backend(const json::object* b) {
    auto [label, cls] = !bool_at(b, "resolved", true) ? std::pair{"unresolved", "warn"}
                        : bool_at(b, "drained", false) ? std::pair{"drained", "warn"}
                        : bool_at(b, "ejected", false) ? std::pair{"ejected", "bad"}
                        : !bool_at(b, "healthy", true) ? std::pair{"failing health checks", "bad"}
                                                       : std::pair{"healthy", "ok"};
    std::string health = label;
    if (auto failures = count_at(b, "consecutive_failures"))
      health += " (" + std::to_string(failures) + " failures in a row)";
    const json::value* share = field(b, "slow_start_share");
    if (share && share->is_number() && number_at(b, "slow_start_share") < 1)
      health += " \u00b7 slow start " + fixed(number_at(b, "slow_start_share") * 100, 0) + "%";
    std::string latency = latency_text(object_at(b, "latency"));
    if (const json::object* adaptive = object_at(b, "adaptive"))
      latency += " \u00b7 moving avg " + ms(number_at(adaptive, "latency_seconds") * 1000) + " ms, limit " +
                 std::to_string(count_at(adaptive, "limit"));
    std::string zone = string_at(b, "zone");
    Calls c = calls_of(object_at(b, "calls"));
    out_ += "<tr>";
    element("td", "", string_at(b, "address"));
    element("td", cls, health);
    const json::value* weight = field(b, "weight");
    if (weight && weight->is_number() && number_at(b, "weight") != 100)
      zone = (zone.empty() ? "\u2014" : zone) + " \u00b7 weight " + fixed(number_at(b, "weight"), 0);
    element("td", "", zone.empty() ? "\u2014" : zone);
    element("td", "", latency);
    element("td", "", std::to_string(c.total));
    element("td", c.errors ? "warn" : "", c.errors_text());
    element("td", "", std::to_string(count_at(b, "in_flight")));
    element("td", "", std::to_string(count_at(b, "idle_connections")) + " / " +
                          std::to_string(count_at(b, "active_connections")));
    out_ += "</tr>";
  }
  void open(std::string_view tag, std::string_view cls) {
    out_ += "<";
    out_ += tag;
    if (!cls.empty()) (out_ += " class=\"") += std::string(cls) + "\"";
    out_ += ">";
  }
  void element(std::string_view tag, std::string_view cls, std::string_view text) {
    open(tag, cls);
    escape_into(out_, text);
    (out_ += "</") += std::string(tag) + ">";
  }
  void fact(std::string_view name, std::string_view value, std::string_view cls = "") {
    out_ += "<div>";
    element("dt", "", name);
    element("dd", cls, value);
    out_ += "</div>";
  }

  std::string out_;
};

std::string figures_html(std::string_view status_json) {
  boost::system::error_code ec;
  json::value status = json::parse(status_json, ec);
  if (ec || !status.is_object()) {
    std::string out = "<p class=\"error\">cannot read the status: ";
    escape_into(out, ec ? ec.message() : "not a JSON object");
    return out + "</p>\n";
  }
  const json::value* systems = field(&status.as_object(), "systems");
  const json::array* list = systems && systems->is_array() ? &systems->as_array() : nullptr;
  Renderer renderer;
  renderer.summary(status.as_object(), list);
  if (list)
    for (const auto& each : *list) renderer.system(each.if_object());
  return renderer.take();
}

std::string server_time() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%H:%M:%S", &utc);
  return buffer;
}

void replace_all(std::string& text, std::string_view marker, std::string_view with) {
  for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + with.size()))
    text.replace(at, marker.size(), with);
}

}  // namespace

std::string render_status_page(std::string_view status_json, std::string_view nonce) {
  std::string page(page_template);
  // The figures go in last: they are escaped, but no marker inside them
  // should ever be replaced.
  replace_all(page, "@NONCE@", nonce);
  replace_all(page, "@UPDATED@",
              "updated at " + server_time() + " UTC by the server (without JavaScript the page reloads every 5 s)");
  replace_all(page, "@FIGURES@", figures_html(status_json));
  return page;
}

std::string status_page_policy(std::string_view nonce) {
  std::string n(nonce);
  return "default-src 'none'; script-src 'nonce-" + n + "'; style-src 'nonce-" + n +
         "'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

HtmlPage status_page(std::string_view status_json) {
  // 128 random bits per response: a nonce an attacker could guess would let
  // an injected script run.
  static thread_local std::random_device device;
  std::array<unsigned char, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    auto word = device();
    for (std::size_t j = 0; j < 4; ++j) bytes[i + j] = static_cast<unsigned char>(word >> (8 * j));
  }
  std::string nonce = common::base64_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return {render_status_page(status_json, nonce), status_page_policy(nonce)};
}

}  // namespace routing::proxy
