#include "artifact/artifact.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "kiln/error.h"
#include "kiln/version.h"
#include "util/file.h"

namespace kiln::artifact {
namespace {

uint32_t crc32_of(const void* data, uint64_t size) {
  // zlib's crc32 takes uInt lengths: feed large sections in chunks.
  uLong crc = crc32(0L, Z_NULL, 0);
  const Bytef* p = static_cast<const Bytef*>(data);
  while (size > 0) {
    uInt chunk = static_cast<uInt>(std::min<uint64_t>(size, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

template <typename T> void put(std::string& buf, size_t at, T v) { std::memcpy(buf.data() + at, &v, sizeof v); }
template <typename T> T get(const uint8_t* p, size_t at) {
  T v;
  std::memcpy(&v, p + at, sizeof v);
  return v;
}

struct Section {
  std::string name;
  const std::string* bytes;
};

}  // namespace

size_t write_artifact(const std::string& path, const nlohmann::json& meta, const planner::Plan& plan,
                      const std::string& weights) {
  return write_artifact(path, meta, std::vector<const planner::Plan*>{&plan}, weights);
}

size_t write_artifact(const std::string& path, const nlohmann::json& meta, const std::vector<const planner::Plan*>& plans,
                      const std::string& weights, const std::map<std::string, std::string>& extra_sections) {
  KILN_CHECK(!plans.empty() && plans.size() < 32, "1 to 31 plans");
  const std::string meta_bytes = meta.dump(1);
  std::vector<std::string> plan_bytes;
  for (const planner::Plan* p : plans) plan_bytes.push_back(plan_to_json(*p).dump());
  std::vector<Section> sections = {{"META", &meta_bytes}};
  for (size_t k = 0; k < plans.size(); ++k) sections.push_back({k ? "PLAN" + std::to_string(k) : "PLAN", &plan_bytes[k]});
  sections.push_back({"WEIGHTS", &weights});
  for (const auto& [name, bytes] : extra_sections) {
    KILN_CHECK(name.size() <= 8 && name.rfind("PLAN", 0) != 0 && name != "META" && name != "WEIGHTS", name);
    sections.push_back({name, &bytes});
  }

  const uint64_t table_end = kHeaderBytes + sections.size() * kSectionEntryBytes;
  uint64_t offset = planner::align_up(table_end);
  std::vector<uint64_t> offsets;
  for (const Section& s : sections) {
    offsets.push_back(offset);
    offset = planner::align_up(offset + s.bytes->size());
  }
  // Header and section table in one small buffer; sections are written from where they are, with
  // zero padding between them, so a 400 MB model is never copied into one more buffer.
  std::string head(planner::align_up(table_end), '\0');
  std::memcpy(head.data(), kMagic, sizeof kMagic);
  put<uint32_t>(head, 8, kArtifactFormatVersion);
  put<uint32_t>(head, 12, static_cast<uint32_t>(sections.size()));
  std::string compiler = std::string("kiln ") + version();
  std::memcpy(head.data() + 16, compiler.data(), std::min<size_t>(compiler.size(), 31));
  put<uint64_t>(head, 48, offset);
  for (size_t i = 0; i < sections.size(); ++i) {
    const size_t e = kHeaderBytes + i * kSectionEntryBytes;
    std::memcpy(head.data() + e, sections[i].name.data(), sections[i].name.size());
    put<uint64_t>(head, e + 8, offsets[i]);
    put<uint64_t>(head, e + 16, sections[i].bytes->size());
    put<uint32_t>(head, e + 24, crc32_of(sections[i].bytes->data(), sections[i].bytes->size()));
  }
  put<uint32_t>(head, 56, crc32_of(head.data() + kHeaderBytes, sections.size() * kSectionEntryBytes));
  put<uint32_t>(head, 60, crc32_of(head.data(), 60));

  static const char kZeros[planner::kAlignment] = {};
  std::vector<std::string_view> pieces = {head};
  for (size_t i = 0; i < sections.size(); ++i) {
    pieces.emplace_back(*sections[i].bytes);
    const uint64_t end = offsets[i] + sections[i].bytes->size();
    const uint64_t next = i + 1 < sections.size() ? offsets[i + 1] : offset;
    pieces.emplace_back(kZeros, next - end);
  }
  write_file_atomic(path, pieces, "artifact");
  return offset;
}

MappedArtifact::MappedArtifact(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("cannot open artifact '", path, "': ", std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail("cannot read artifact '", path, "': not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ < kHeaderBytes) {
    ::close(fd);
    fail("artifact '", path, "' is truncated or not a Kiln artifact: ", size_, " bytes, smaller than the ",
         kHeaderBytes, "-byte header");
  }
  map_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    fail("cannot map artifact '", path, "': ", std::strerror(errno));
  }
  try {
    const uint8_t* p = static_cast<const uint8_t*>(map_);
    if (std::memcmp(p, kMagic, sizeof kMagic) != 0)
      fail("'", path, "' is not a Kiln artifact (bad magic at offset 0)");
    version_ = get<uint32_t>(p, 8);
    // The version is checked before the checksums so a newer file gets the message that helps.
    if (version_ > kArtifactFormatVersion)
      fail("artifact '", path, "' has format version ", version_, ", newer than this kiln supports (",
           kArtifactFormatVersion, "); upgrade kiln or recompile the model");
    if (version_ < kArtifactFormatVersion)
      fail("artifact '", path, "' has old format version ", version_, " (this kiln reads ", kArtifactFormatVersion,
           "); recompile the model");
    if (get<uint32_t>(p, 60) != crc32_of(p, 60)) fail("artifact '", path, "' is damaged: header checksum mismatch");
    const uint64_t declared = get<uint64_t>(p, 48);
    if (declared != size_)
      fail("artifact '", path, "' is ", declared > size_ ? "truncated" : "damaged", ": header says ", declared,
           " bytes, file has ", size_);
    const uint32_t count = get<uint32_t>(p, 12);
    if (count == 0 || count > 64 || kHeaderBytes + count * kSectionEntryBytes > size_)
      fail("artifact '", path, "' is damaged: bad section count ", count);
    if (get<uint32_t>(p, 56) != crc32_of(p + kHeaderBytes, count * kSectionEntryBytes))
      fail("artifact '", path, "' is damaged: section table checksum mismatch");
    compiler_ = std::string(reinterpret_cast<const char*>(p + 16), strnlen(reinterpret_cast<const char*>(p + 16), 32));

    std::string meta_text;
    std::map<size_t, std::string> plan_texts;  // bucket -> JSON
    for (uint32_t i = 0; i < count; ++i) {
      const size_t e = kHeaderBytes + i * kSectionEntryBytes;
      std::string name(reinterpret_cast<const char*>(p + e), strnlen(reinterpret_cast<const char*>(p + e), 8));
      const uint64_t off = get<uint64_t>(p, e + 8), sz = get<uint64_t>(p, e + 16);
      if (off > size_ || sz > size_ - off)
        fail("artifact '", path, "' is damaged: section ", name, " [", off, ", +", sz, ") lies outside the file");
      if (get<uint32_t>(p, e + 24) != crc32_of(p + off, sz))
        fail("artifact '", path, "' is damaged: section ", name, " at offset ", off, " fails its checksum");
      sections_[name] = {off, sz};
      if (name == "META") meta_text.assign(reinterpret_cast<const char*>(p + off), sz);
      else if (name.rfind("PLAN", 0) == 0) {
        size_t k = 0;
        if (name.size() > 4) {
          try {
            k = std::stoul(name.substr(4));
          } catch (const std::exception&) {
            fail("artifact '", path, "' is damaged: unknown section ", name);
          }
          if (k == 0 || k > 31) fail("artifact '", path, "' is damaged: unknown section ", name);
        }
        plan_texts[k].assign(reinterpret_cast<const char*>(p + off), sz);
      }
      else if (name == "WEIGHTS") {
        weights_ = p + off;
        weights_size_ = sz;
      }
    }
    if (meta_text.empty() || !plan_texts.count(0) || !weights_)
      fail("artifact '", path, "' is damaged: a META, PLAN or WEIGHTS section is missing");
    if (plan_texts.rbegin()->first != plan_texts.size() - 1)
      fail("artifact '", path, "' is damaged: its PLAN sections are not numbered 0 to ", plan_texts.size() - 1);
    try {
      meta_ = nlohmann::json::parse(meta_text);
      for (const auto& [k, text] : plan_texts) plans_.push_back(plan_from_json(nlohmann::json::parse(text)));
    } catch (const nlohmann::json::exception& e) {
      fail("artifact '", path, "' is damaged: bad metadata: ", e.what());
    } catch (const Error& e) {
      fail("artifact '", path, "' is damaged: bad plan: ", e.what());
    }
    for (const planner::Plan& plan : plans_)
      for (const planner::PlanTensor& t : plan.tensors)
        if (t.kind == planner::TensorKind::constant && (t.offset > weights_size_ || t.bytes > weights_size_ - t.offset))
          fail("artifact '", path, "' is damaged: weight '", t.name, "' lies outside the WEIGHTS section");
  } catch (...) {
    munmap(map_, size_);
    map_ = nullptr;
    throw;
  }
}

std::string MappedArtifact::section(const std::string& name) const {
  auto it = sections_.find(name);
  if (it == sections_.end()) return {};
  return std::string(static_cast<const char*>(map_) + it->second.first, it->second.second);
}

MappedArtifact::~MappedArtifact() {
  if (map_) munmap(map_, size_);
}

}  // namespace kiln::artifact
