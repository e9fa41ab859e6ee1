#include "util/file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "kiln/error.h"

namespace kiln {

std::string read_file(const std::string& path, const std::string& what) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) fail("cannot open ", what, " '", path, "': ", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("cannot read ", what, " '", path, "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open ", what, " '", path, "': ", std::strerror(errno));
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<size_t>(in.gcount()) != bytes.size()) fail("cannot read ", what, " '", path, "': short read");
  return bytes;
}

void write_file_atomic(const std::string& path, const std::string& bytes, const std::string& what) {
  write_file_atomic(path, std::vector<std::string_view>{bytes}, what);
}

void write_file_atomic(const std::string& path, const std::vector<std::string_view>& pieces, const std::string& what) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("cannot write ", what, " '", path, "': ", std::strerror(errno));
  bool ok = true;
  for (std::string_view p : pieces) ok = ok && std::fwrite(p.data(), 1, p.size(), f) == p.size();
  ok = ok && std::fflush(f) == 0;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    fail("cannot write ", what, " '", path, "': ", std::strerror(err ? err : EIO));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    fail("cannot write ", what, " '", path, "': ", std::strerror(err));
  }
}

std::string parent_dir(const std::string& path) {
  size_t p = path.find_last_of('/');
  if (p == std::string::npos) return ".";
  return p == 0 ? "/" : path.substr(0, p);
}

std::string base_name(const std::string& path) {
  size_t p = path.find_last_of('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

}  // namespace kiln
