// Element types Kiln tensors can hold. Names follow the short form used in IR dumps and artifacts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

enum class DType : uint8_t { f32, f64, f16, bf16, i64, i32, i8, u8, boolean };

// Size of one element in bytes.
size_t dtype_size(DType t);
// "f32", "i64", "bool", ...
const char* dtype_name(DType t);
// Inverse of dtype_name; throws kiln::Error on an unknown name.
DType dtype_from_name(const std::string& name);

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<int8_t>() { return DType::i8; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<bool>() { return DType::boolean; }

}  // namespace kiln
