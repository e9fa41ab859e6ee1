// A small HTTP(S) GET, for `kiln top` reading a server's /metrics (cpp-httplib's client).
#pragma once

#include <string>

namespace kiln::server {

// The body of GET `url` ("http://host:port/path" or https://...). Throws InvalidInputError naming the
// URL for a malformed URL, a connection failure, a non-200 status, or a body over `max_bytes`.
std::string http_get(const std::string& url, int timeout_ms = 5000, size_t max_bytes = 64 << 20);

}  // namespace kiln::server
