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
#include "util/untrusted.h"

namespace kiln::artifact {
namespace {

// Fuzzing builds (tests/fuzz) accept any checksum, so the fuzzer reaches the parsers behind them.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
constexpr bool kVerifyChecksums = false;
#else
constexpr bool kVerifyChecksums = true;
#endif

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

// Largest batch or sequence length META may declare (readers size buffers from them).
constexpr int64_t kMaxMetaDim = int64_t{1} << 24;

struct Section {
  std::string name;
  const std::string* bytes;
};

}  // namespace

size_t write_artifact(const std::string& path, const nlohmann::json& meta, const plan::Plan& plan,
                      const std::string& weights) {
  return write_artifact(path, meta, std::vector<const plan::Plan*>{&plan}, weights);
}

size_t write_artifact(const std::string& path, const nlohmann::json& meta, const std::vector<const plan::Plan*>& plans,
                      const std::string& weights, const std::map<std::string, std::string>& extra_sections) {
  KILN_CHECK(!plans.empty() && plans.size() < 32, "1 to 31 plans");
  const std::string meta_bytes = meta.dump(1);
  std::vector<std::string> plan_bytes;
  for (const plan::Plan* p : plans) plan_bytes.push_back(plan_to_json(*p).dump());
  std::vector<Section> sections = {{"META", &meta_bytes}};
  for (size_t k = 0; k < plans.size(); ++k) sections.push_back({k ? "PLAN" + std::to_string(k) : "PLAN", &plan_bytes[k]});
  sections.push_back({"WEIGHTS", &weights});
  for (const auto& [name, bytes] : extra_sections) {
    KILN_CHECK(name.size() <= 8 && name.rfind("PLAN", 0) != 0 && name != "META" && name != "WEIGHTS", name);
    sections.push_back({name, &bytes});
  }

  const uint64_t table_end = kHeaderBytes + sections.size() * kSectionEntryBytes;
  uint64_t offset = plan::align_up(table_end);
  std::vector<uint64_t> offsets;
  for (const Section& s : sections) {
    offsets.push_back(offset);
    offset = plan::align_up(offset + s.bytes->size());
  }
  // Header and section table in one small buffer; sections are written from where they are, with
  // zero padding between them, so a 400 MB model is never copied into one more buffer.
  std::string head(plan::align_up(table_end), '\0');
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

  static const char kZeros[plan::kAlignment] = {};
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
    parse();
  } catch (...) {
    munmap(map_, size_);
    map_ = nullptr;
    throw;
  }
}

MappedArtifact::MappedArtifact(FromBytes, std::string_view bytes, const std::string& name) : path_(name) {
  size_ = bytes.size();
  if (size_ < kHeaderBytes)
    fail("artifact '", name, "' is truncated or not a Kiln artifact: ", size_, " bytes, smaller than the ",
         kHeaderBytes, "-byte header");
  // 64-byte aligned like a mapping, so weights can be used in place.
  owned_ = allocate_aligned(size_, "a copy of artifact '", name, "'");
  std::memcpy(owned_.get(), bytes.data(), size_);
  map_ = owned_.get();
  parse();
}

void MappedArtifact::parse() {
  const std::string& path = path_;
  {
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
    if (kVerifyChecksums && get<uint32_t>(p, 60) != crc32_of(p, 60)) fail("artifact '", path, "' is damaged: header checksum mismatch");
    const uint64_t declared = get<uint64_t>(p, 48);
    if (declared != size_)
      fail("artifact '", path, "' is ", declared > size_ ? "truncated" : "damaged", ": header says ", declared,
           " bytes, file has ", size_);
    const uint32_t count = get<uint32_t>(p, 12);
    if (count == 0 || count > 64 || kHeaderBytes + uint64_t{count} * kSectionEntryBytes > size_)
      fail("artifact '", path, "' is damaged: bad section count ", count);
    if (kVerifyChecksums && get<uint32_t>(p, 56) != crc32_of(p + kHeaderBytes, count * kSectionEntryBytes))
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
      if (kVerifyChecksums && get<uint32_t>(p, e + 24) != crc32_of(p + off, sz))
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
      meta_ = parse_json(meta_text, "META");
      check_meta(meta_, "META");
    } catch (const Error& e) {
      fail("artifact '", path, "' is damaged: bad metadata: ", e.what());
    }
    for (const auto& [k, text] : plan_texts) {
      const std::string section = k ? "PLAN" + std::to_string(k) : "PLAN";
      try {
        plans_.push_back(plan_from_json(parse_json(text, section)));
      } catch (const Error& e) {
        fail("artifact '", path, "' is damaged: bad plan: ", e.what());
      }
    }
    for (const plan::Plan& plan : plans_)
      for (const plan::PlanTensor& t : plan.tensors)
        if (t.kind == plan::TensorKind::constant && (t.offset > weights_size_ || t.bytes > weights_size_ - t.offset))
          fail("artifact '", path, "' is damaged: weight '", t.name, "' lies outside the WEIGHTS section");
  }
}

void check_meta(const nlohmann::json& m, const std::string& where) {
  if (!m.is_object()) fail(where, " must be a JSON object, found ", json_kind(m));
  // What readers use: options (session, inspect, bench), inputs/outputs (inspect, text roles), source,
  // labels, seq_buckets and tokenizer (text commands), pipeline (engine).
  const nlohmann::json& o = json_field(m, "options", where);
  const std::string ow = where + " options";
  for (const char* k : {"batch", "seq"})
    if (const int64_t v = json_int(o, k, 0, ow); v < 0 || v > kMaxMetaDim) fail(ow, ": field '", k, "' is out of range: ", v);
  json_string(o, "precision", "fp32", ow);
  if (o.contains("dims") && !o["dims"].is_null()) {
    if (!o["dims"].is_object()) fail(ow, ": field 'dims' must be an object, found ", json_kind(o["dims"]));
    for (const auto& [k, v] : o["dims"].items()) as_int(v, ow + ": dims['" + k + "']");
  }
  json_string(m, "onednn_version", "?", where);
  if (m.contains("source") && !m["source"].is_null()) {
    const nlohmann::json& s = m["source"];
    for (const char* k : {"file", "producer", "sha256"}) json_string(s, k, "?", where + " source");
    json_int(s, "opset", 0, where + " source");
  }
  for (const char* list : {"inputs", "outputs"}) {
    if (!m.contains(list) || m[list].is_null()) continue;
    if (!m[list].is_array()) fail(where, ": field '", list, "' must be an array, found ", json_kind(m[list]));
    for (size_t i = 0; i < m[list].size(); ++i) {
      const std::string w = str(where, " ", list, "[", i, "]");
      const nlohmann::json& spec = m[list][i];
      json_string(spec, "name", w);
      json_string(spec, "dtype", "", w);
      json_string(spec, "role", "other", w);
      json_int(spec, "batch_axis", 0, w);
      json_int(spec, "seq_axis", 0, w);
      if (spec.contains("dims") && !spec["dims"].is_null()) {
        const nlohmann::json& dims = spec["dims"];
        if (!dims.is_array()) fail(w, ": field 'dims' must be an array, found ", json_kind(dims));
        for (size_t d = 0; d < dims.size(); ++d) as_int(dims[d], str(w, ": dims[", d, "]"));
      }
    }
  }
  if (m.contains("labels") && !m["labels"].is_null()) {
    if (!m["labels"].is_array()) fail(where, ": field 'labels' must be an array of strings, found ", json_kind(m["labels"]));
    for (size_t i = 0; i < m["labels"].size(); ++i) as_string(m["labels"][i], str(where, ": labels[", i, "]"));
  }
  if (m.contains("seq_buckets") && !m["seq_buckets"].is_null()) {
    if (!m["seq_buckets"].is_array()) fail(where, ": field 'seq_buckets' must be an array of integers, found ", json_kind(m["seq_buckets"]));
    for (size_t i = 0; i < m["seq_buckets"].size(); ++i)
      // 0: compiled without a sequence length (a model with no sequence axis).
      if (const int64_t v = as_int(m["seq_buckets"][i], str(where, ": seq_buckets[", i, "]")); v < 0 || v > kMaxMetaDim)
        fail(where, ": seq_buckets[", i, "] is out of range: ", v);
  }
  if (m.contains("tokenizer") && !m["tokenizer"].is_null()) {
    json_bool(m["tokenizer"], "lowercase", true, where + " tokenizer");
    json_string(m["tokenizer"], "type", "wordpiece", where + " tokenizer");
  }
  if (m.contains("pipeline") && !m["pipeline"].is_null())
    if (const int64_t st = json_int(m["pipeline"], "stages", 1, where + " pipeline"); st < 1 || st > 4096)
      fail(where, " pipeline: field 'stages' is out of range: ", st);
  json_int(m, "pad_id", 0, where);
  if (m.contains("batching") && !m["batching"].is_null()) {
    json_bool(m["batching"], "rows_independent", false, where + " batching");
    json_string(m["batching"], "reason", "", where + " batching");
  }
}

std::string MappedArtifact::section(const std::string& name) const {
  auto it = sections_.find(name);
  if (it == sections_.end()) return {};
  return std::string(static_cast<const char*>(map_) + it->second.first, it->second.second);
}

MappedArtifact::~MappedArtifact() {
  if (map_ && !owned_) munmap(map_, size_);
}

}  // namespace kiln::artifact
