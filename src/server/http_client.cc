#include "server/http_client.h"

#include <httplib.h>

#include "kiln/error.h"

namespace kiln::server {

std::string http_get(const std::string& url, int timeout_ms, size_t max_bytes) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos || (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0))
    fail("'", url, "' is not an http:// or https:// URL");
  const size_t path_start = url.find('/', scheme_end + 3);
  const std::string base = url.substr(0, path_start), path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(base);
  if (!client.is_valid()) fail("'", url, "' is not a valid URL");
  client.set_connection_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
  client.set_read_timeout(timeout_ms / 1000, (timeout_ms % 1000) * 1000);
  std::string body;
  bool too_big = false;
  httplib::Result r = client.Get(path.c_str(), [&](const char* data, size_t n) {
    if (body.size() + n > max_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_big) fail("GET ", url, ": the answer is larger than ", max_bytes, " bytes");
  if (!r) fail("GET ", url, ": ", httplib::to_string(r.error()));
  if (r->status != 200) fail("GET ", url, ": HTTP status ", r->status);
  return body;
}

}  // namespace kiln::server
