// The models a server serves: single artifacts (each under its file stem, version "1") or a Triton-style
// repository folder, <name>/<version>/model.kiln, several models and versions at once. Each model version
// has one kiln::Model (one mapping) and one kiln::Engine (replicas, queue, dynamic batcher).
//
// Thread safety: built once at start-up, then read-only (find() and models() from any thread); each
// Engine is itself thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "kiln/engine.h"
#include "kiln/model.h"

namespace kiln::server {

struct ServedModel {
  std::string name, version;
  std::string path;
  std::shared_ptr<const Model> model;
  std::unique_ptr<Engine> engine;
};

class ModelRepository {
 public:
  // Opens every artifact and starts its engine. Throws kiln::InvalidInputError naming the file, the
  // folder entry or the duplicate name.
  static std::unique_ptr<ModelRepository> from_artifacts(const std::vector<std::string>& paths, const EngineOptions& o);
  static std::unique_ptr<ModelRepository> from_folder(const std::string& dir, const EngineOptions& o);

  // The model `name` at `version` ("" = its highest version, numerically when the versions are numbers);
  // nullptr when there is none.
  const ServedModel* find(const std::string& name, const std::string& version = "") const;
  // Every model version, sorted by name, then version.
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }
  // The versions of `name`, ascending.
  std::vector<std::string> versions(const std::string& name) const;
  // The only model name when exactly one is served, else "".
  std::string only_name() const;

 private:
  void add(const std::string& name, const std::string& version, const std::string& path, const EngineOptions& o);
  void sort();
  std::vector<std::unique_ptr<ServedModel>> models_;
};

// Whether `a` sorts before `b` as a version: numerically when both are decimal numbers, else as text.
bool version_less(const std::string& a, const std::string& b);

}  // namespace kiln::server
