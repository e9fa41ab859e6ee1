// .npy I/O: round trips for every dtype and rank, byte-exact numpy compatibility, malformed files.
#include <cstring>

#include "kiln/npy.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// Fills a tensor of any supported dtype with distinct, dtype-representable values.
Tensor patterned(DType dt, const Dims& dims) {
  Tensor t(dt, dims);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t v = (i * 37 + 11) % 101 - 50;
    switch (dt) {
      case DType::f32: t.data_as<float>()[i] = static_cast<float>(v) * 0.25f; break;
      case DType::f64: t.data_as<double>()[i] = static_cast<double>(v) / 3.0; break;
      case DType::i64: t.data_as<int64_t>()[i] = v * 1000000007LL; break;
      case DType::i32: t.data_as<int32_t>()[i] = static_cast<int32_t>(v * 40000); break;
      case DType::i8: t.data_as<int8_t>()[i] = static_cast<int8_t>(v); break;
      case DType::u8: t.data_as<uint8_t>()[i] = static_cast<uint8_t>(v + 100); break;
      case DType::boolean: t.data_as<bool>()[i] = v % 3 == 0; break;
      default: break;
    }
  }
  return t;
}

TEST(Npy, RoundTripEveryDtypeAndRank) {
  const DType dtypes[] = {DType::f32, DType::f64, DType::i64, DType::i32, DType::i8, DType::u8, DType::boolean};
  const Dims shapes[] = {{}, {5}, {2, 3}, {2, 1, 4}, {0}, {3, 0, 2}};
  for (DType dt : dtypes)
    for (const Dims& dims : shapes) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + dims_to_string(dims));
      Tensor t = patterned(dt, dims);
      const std::string bytes = serialize_npy(t);
      EXPECT_EQ(bytes.compare(0, 6, "\x93NUMPY"), 0);
      EXPECT_EQ((bytes.size() - t.nbytes()) % 64, 0u) << "data must start 64-byte aligned, as numpy writes it";
      Tensor back = parse_npy(bytes, "mem.npy");
      EXPECT_EQ(back.dtype(), dt);
      EXPECT_EQ(back.dims(), dims);
      ASSERT_EQ(back.nbytes(), t.nbytes());
      EXPECT_EQ(std::memcmp(back.data(), t.data(), t.nbytes()), 0);
    }
}

// np.save(f, np.arange(6, dtype=np.int64).reshape(2, 3)) with numpy 1.24: 128-byte header, then data.
std::string numpy_int64_2x3() {
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }";
  header += std::string(58, ' ') + "\n";  // 59 + 58 + 1 = 118 = 0x76 ('v') bytes
  std::string b = std::string("\x93NUMPY\x01\x00", 8) + "v" + std::string(1, '\0') + header;
  for (int64_t v = 0; v < 6; ++v) b.append(reinterpret_cast<const char*>(&v), 8);
  return b;
}

TEST(Npy, ByteExactWithNumpy) {
  const std::string np_bytes = numpy_int64_2x3();
  ASSERT_EQ(np_bytes.size(), 176u);  // numpy's file size for this array
  Tensor t = tensor<int64_t>({2, 3}, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(serialize_npy(t), np_bytes);
  EXPECT_TENSOR(parse_npy(np_bytes, "np.npy"), DType::i64, {2, 3}, {0, 1, 2, 3, 4, 5}, kTolExact);
  // np.save of np.array([1.5, -2], np.float32): 1-D shapes are written "(2,)"
  const std::string f32 = serialize_npy(tensor<float>({2}, {1.5f, -2}));
  EXPECT_EQ(f32.substr(10, 60), "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }   ");
  EXPECT_EQ(f32.size(), 128u + 8u);
}

TEST(Npy, ParsesFormat2AndHeaderVariants) {
  // np.lib.format.write_array(f, np.array([[1, 2]], np.int32), version=(2, 0)): u32 header length 0x74.
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }";
  header += std::string(116 - header.size() - 1, ' ') + "\n";
  std::string b = std::string("\x93NUMPY\x02\x00", 8) + std::string("\x74\x00\x00\x00", 4) + header;
  const int32_t data[2] = {1, 2};
  b.append(reinterpret_cast<const char*>(data), 8);
  ASSERT_EQ(b.size(), 136u);
  EXPECT_TENSOR(parse_npy(b, "v2.npy"), DType::i32, {1, 2}, {1, 2}, kTolExact);

  // Keys in another order, '=' byte order, Python-2 style long dims.
  std::string h = "{'shape': (3L,), 'fortran_order': False, 'descr': '=f4'}\n";
  std::string v = std::string("\x93NUMPY\x01\x00", 8) + std::string(1, static_cast<char>(h.size())) +
                  std::string(1, '\0') + h;
  const float f[3] = {1, 2, 3};
  v.append(reinterpret_cast<const char*>(f), 12);
  EXPECT_TENSOR(parse_npy(v, "odd.npy"), DType::f32, {3}, {1, 2, 3}, kTolExact);
}

TEST(Npy, BoolBytesAreNormalised) {
  std::string b = serialize_npy(tensor<bool>({3}, {true, false, true}));
  b[b.size() - 1] = 7;  // numpy never writes this, but any nonzero byte is True
  EXPECT_TENSOR(parse_npy(b, "b.npy"), DType::boolean, {3}, {1, 0, 1}, kTolExact);
  EXPECT_EQ(parse_npy(b, "b.npy").data_as<uint8_t>()[2], 1);
}

TEST(Npy, Errors) {
  const std::string good = numpy_int64_2x3();
  EXPECT_KILN_ERROR(parse_npy("PK\x03\x04 not npy", "x.npy"), {"'x.npy' is not a .npy file", "bad magic"});
  EXPECT_KILN_ERROR(parse_npy(good.substr(0, 5), "x.npy"), {"bad magic"});
  EXPECT_KILN_ERROR(parse_npy(good.substr(0, good.size() - 8), "x.npy"),
                    {"x.npy", "holds 40 data bytes", "[2,3]", "truncated or corrupt"});
  EXPECT_KILN_ERROR(parse_npy(good + "extra", "x.npy"), {"holds 53 data bytes"});
  EXPECT_KILN_ERROR(parse_npy(good.substr(0, 60), "x.npy"), {"truncated", "header of 118 bytes"});

  std::string bad = good;
  bad.replace(bad.find("<i8"), 3, "<c8");
  EXPECT_KILN_ERROR(parse_npy(bad, "x.npy"), {"dtype '<c8'", "supported"});
  bad = good;
  bad.replace(bad.find("<i8"), 3, ">i8");  // big-endian
  EXPECT_KILN_ERROR(parse_npy(bad, "x.npy"), {"dtype '>i8'"});
  bad = good;
  bad.replace(bad.find("'<i8'"), 5, "<i8  ");
  EXPECT_KILN_ERROR(parse_npy(bad, "x.npy"), {"bad descr"});

  bad = good;
  bad.replace(bad.find("False"), 5, "True ");
  EXPECT_KILN_ERROR(parse_npy(bad, "x.npy"), {"Fortran order", "ascontiguousarray"});
  bad = good;
  bad.replace(bad.find("False"), 5, "Maybe");
  EXPECT_KILN_ERROR(parse_npy(bad, "x.npy"), {"fortran_order is 'Maybe'"});

  bad = good;
  bad.replace(bad.find("(2, 3)"), 6, "(2, x)");
  EXPECT_KILN_ERROR(parse_npy(bad, "x.npy"), {"shape is '(2, x)'"});
  bad = good;
  bad.replace(bad.find("'shape'"), 7, "'shope'");
  EXPECT_KILN_ERROR(parse_npy(bad, "x.npy"), {"no 'shape' entry"});
  bad = good;
  bad[6] = 4;  // format version 4.0 does not exist
  EXPECT_KILN_ERROR(parse_npy(bad, "x.npy"), {"unsupported format version 4"});

  EXPECT_KILN_ERROR(serialize_npy(Tensor(DType::f16, {2})), {"cannot write a f16 tensor"});
  EXPECT_KILN_ERROR(read_npy("/nonexistent/dir/in.npy"), {"cannot open", "/nonexistent/dir/in.npy"});
}

TEST(Npy, FileRoundTrip) {
  TempDir dir;
  Tensor t = patterned(DType::f32, {3, 4});
  write_npy(dir.file("t.npy"), t);
  Tensor back = read_npy(dir.file("t.npy"));
  EXPECT_CLOSE(back, t, kTolExact);
}

}  // namespace
}  // namespace kiln::test
