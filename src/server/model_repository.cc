#include "server/model_repository.h"

#include <algorithm>
#include <filesystem>

#include "kiln/error.h"

namespace kiln::server {
namespace fs = std::filesystem;

namespace {

bool is_number(const std::string& s) {
  return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A model or version name used in URL paths and metric labels: letters, digits, '-', '_', '.'.
void check_name(const std::string& what, const std::string& s, const std::string& where) {
  const bool ok = !s.empty() && s.size() <= 128 && s != "." && s != ".." &&
                  std::all_of(s.begin(), s.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                           c == '_' || c == '.';
                  });
  if (!ok) fail(where, ": ", what, " '", s, "' must be 1-128 letters, digits, '-', '_' or '.'");
}

}  // namespace

bool version_less(const std::string& a, const std::string& b) {
  if (is_number(a) && is_number(b)) return std::stoll(a) < std::stoll(b);
  return a < b;
}

void ModelRepository::add(const std::string& name, const std::string& version, const std::string& path,
                          const EngineOptions& o) {
  check_name("model name", name, path);
  check_name("version", version, path);
  if (find(name, version)) fail(path, ": model '", name, "' version ", version, " is served twice");
  auto m = std::make_unique<ServedModel>();
  m->name = name;
  m->version = version;
  m->path = path;
  m->model = Model::open(path);
  m->engine = std::make_unique<Engine>(m->model, o);
  models_.push_back(std::move(m));
}

void ModelRepository::sort() {
  std::sort(models_.begin(), models_.end(), [](const auto& a, const auto& b) {
    return a->name != b->name ? a->name < b->name : version_less(a->version, b->version);
  });
}

std::unique_ptr<ModelRepository> ModelRepository::from_artifacts(const std::vector<std::string>& paths,
                                                                 const EngineOptions& o) {
  auto r = std::make_unique<ModelRepository>();
  for (const std::string& p : paths) r->add(fs::path(p).stem().string(), "1", p, o);
  r->sort();
  return r;
}

std::unique_ptr<ModelRepository> ModelRepository::from_folder(const std::string& dir, const EngineOptions& o) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("model repository '", dir, "' is not a folder");
  auto r = std::make_unique<ModelRepository>();
  std::vector<fs::path> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) names.push_back(e.path());
  std::sort(names.begin(), names.end());
  for (const fs::path& m : names) {
    if (!fs::is_directory(m)) continue;  // README files and the like
    bool any = false;
    for (const fs::directory_entry& v : fs::directory_iterator(m)) {
      if (!v.is_directory()) continue;
      const fs::path artifact = v.path() / "model.kiln";
      if (!fs::exists(artifact)) fail("model repository '", dir, "': ", v.path().string(), " has no model.kiln");
      r->add(m.filename().string(), v.path().filename().string(), artifact.string(), o);
      any = true;
    }
    if (!any) fail("model repository '", dir, "': ", m.string(), " has no version folder (<name>/<version>/model.kiln)");
  }
  if (r->models_.empty()) fail("model repository '", dir, "' holds no model (<name>/<version>/model.kiln)");
  r->sort();
  return r;
}

const ServedModel* ModelRepository::find(const std::string& name, const std::string& version) const {
  const ServedModel* best = nullptr;
  for (const auto& m : models_) {
    if (m->name != name) continue;
    if (!version.empty()) {
      if (m->version == version) return m.get();
    } else if (!best || version_less(best->version, m->version)) {
      best = m.get();
    }
  }
  return version.empty() ? best : nullptr;
}

std::vector<std::string> ModelRepository::versions(const std::string& name) const {
  std::vector<std::string> v;
  for (const auto& m : models_)
    if (m->name == name) v.push_back(m->version);
  return v;
}

std::string ModelRepository::only_name() const {
  if (models_.empty()) return "";
  for (const auto& m : models_)
    if (m->name != models_[0]->name) return "";
  return models_[0]->name;
}

}  // namespace kiln::server
