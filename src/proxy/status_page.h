#pragma once
// routerd's human-readable status page (GET / on the admin listener).
//
// The server renders the figures of the STATUS JSON into the page, so it is
// complete without JavaScript (it then reloads itself through a
// <noscript><meta refresh>); its inline script re-renders the same markup
// from GET /status every 2 s. Both renderers read only the STATUS JSON, so a
// field added there later (a backend's "zone", routerd's "uptime_seconds")
// shows without touching routerd. Every string from the JSON is escaped
// (C++) or inserted as a text node (script): system names come from users.
#include "admin/admin_http.h"

#include <string>
#include <string_view>

namespace routing::proxy {

// The page for `status_json`; `nonce` marks its <style> and <script> as the
// only ones the Content-Security-Policy allows.
std::string render_status_page(std::string_view status_json, std::string_view nonce);

// The policy that goes with a page using `nonce`: nothing external, no
// inline code but the page's own, fetches only to its own origin.
std::string status_page_policy(std::string_view nonce);

// Both, with a fresh random nonce.
HtmlPage status_page(std::string_view status_json);

}  // namespace routing::proxy
