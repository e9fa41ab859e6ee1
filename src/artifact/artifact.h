// The .kiln artifact: one file holding everything needed to run a compiled model.
//
// Layout (all integers little-endian; every section starts at a 64-byte aligned offset):
//   [0, 64)    header
//                0  char[8]  magic "KILNART\0"
//                8  u32      format version (kArtifactFormatVersion)
//               12  u32      section count
//               16  char[32] compiler version, NUL-padded ("kiln 0.1.0")
//               48  u64      total file size in bytes
//               56  u32      CRC-32 of the section table
//               60  u32      CRC-32 of header bytes [0, 60)
//   [64, ...)  section table: count x 32 bytes {char[8] name, u64 offset, u64 size, u32 crc32, u32 0}
//   sections:  "META"    JSON: inputs/outputs, options, source model, sizes, versions
//              "PLAN"    JSON: tensors (name, dtype, dims, kind, offset) and the step list
//              "PLAN1".. the plans of further sequence buckets (optional; weights shared)
//              "VOCAB"   the tokenizer's vocabulary, one token per line (optional; META "tokenizer")
//              "WEIGHTS" constant tensors at 64-byte aligned offsets, used in place after mmap
//
// The writer is deterministic: the same graph and options give byte-identical files (JSON objects
// have sorted keys, no timestamps, no absolute paths).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "util/aligned.h"

namespace kiln::artifact {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'A', 'R', 'T', '\0'};
constexpr size_t kHeaderBytes = 64;
constexpr size_t kSectionEntryBytes = 32;

// Serialises and writes atomically. Returns the file size.
size_t write_artifact(const std::string& path, const nlohmann::json& meta, const plan::Plan& plan,
                      const std::string& weights);
// Several plans (sequence buckets, `kiln compile --seq 32,64,128`) over one WEIGHTS section: sections
// PLAN, PLAN1, PLAN2, ... in bucket order.
size_t write_artifact(const std::string& path, const nlohmann::json& meta, const std::vector<const plan::Plan*>& plans,
                      const std::string& weights, const std::map<std::string, std::string>& extra_sections = {});

// A verified, memory-mapped artifact. Construction checks magic, version, sizes and every section's
// checksum, the META fields every reader uses (types), and the plans (tensor sizes against their shapes,
// weights inside WEIGHTS, activations inside the arena, steps writing only arena tensors), and throws
// kiln::Error saying which check failed and where.
class MappedArtifact {
 public:
  explicit MappedArtifact(const std::string& path);
  // The same checks on an artifact already in memory (copied into an aligned buffer the object owns);
  // `name` stands for the file in errors.
  struct FromBytes {};
  MappedArtifact(FromBytes, std::string_view bytes, const std::string& name);
  ~MappedArtifact();
  MappedArtifact(const MappedArtifact&) = delete;
  MappedArtifact& operator=(const MappedArtifact&) = delete;

  const nlohmann::json& meta() const { return meta_; }
  const plan::Plan& plan() const { return plans_[0]; }
  // Plan k (sequence bucket k); plan_count() is 1 for a single-shape artifact.
  const plan::Plan& plan(size_t k) const { return plans_.at(k); }
  size_t plan_count() const { return plans_.size(); }
  // Start of the WEIGHTS section (64-byte aligned, read-only).
  const uint8_t* weights() const { return weights_; }
  uint64_t weights_size() const { return weights_size_; }
  // An optional section by name ("VOCAB": the tokenizer's vocabulary), empty when absent.
  std::string section(const std::string& name) const;
  uint64_t file_size() const { return size_; }
  // The whole artifact as mapped (valid while this object lives, even after the file was deleted).
  std::string_view bytes() const { return {static_cast<const char*>(map_), static_cast<size_t>(size_)}; }
  uint32_t format_version() const { return version_; }
  const std::string& compiler_version() const { return compiler_; }

 private:
  void parse();  // every check, on map_ / size_

  std::string path_;
  void* map_ = nullptr;
  AlignedPtr owned_;  // FromBytes: map_ points here
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  std::string compiler_;
  nlohmann::json meta_;
  std::vector<plan::Plan> plans_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> sections_;  // name -> offset, size
  const uint8_t* weights_ = nullptr;
  uint64_t weights_size_ = 0;
};

// Plan <-> JSON (exposed for tests). plan_from_json checks every field's type, every tensor index, each
// tensor's byte size against its shape, and that steps write only input/activation tensors.
nlohmann::json plan_to_json(const plan::Plan& plan);
plan::Plan plan_from_json(const nlohmann::json& j);

// Largest activation arena an artifact may ask for (a session allocates it at load): 64 GiB.
constexpr uint64_t kMaxArenaBytes = uint64_t{1} << 36;
// Checks the META fields Kiln's readers use have the types they expect (throws kiln::Error naming the field).
void check_meta(const nlohmann::json& meta, const std::string& where);

}  // namespace kiln::artifact
