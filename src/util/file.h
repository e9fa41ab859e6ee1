// Small file helpers with Kiln-style errors (path and the system's reason).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln {

// Whole file as bytes; `what` names it in errors ("model file", "input file").
std::string read_file(const std::string& path, const std::string& what);
// Writes atomically: to `path`.tmp, then rename.
void write_file_atomic(const std::string& path, const std::string& bytes, const std::string& what);
// Same, for a file made of several pieces written back to back (no concatenated copy in memory).
void write_file_atomic(const std::string& path, const std::vector<std::string_view>& pieces, const std::string& what);
// "dir/model.onnx" -> "dir"; "model.onnx" -> ".".
std::string parent_dir(const std::string& path);
// "dir/model.onnx" -> "model.onnx".
std::string base_name(const std::string& path);

}  // namespace kiln
