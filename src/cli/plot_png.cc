#include "cli/plot_png.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>

#include "kiln/error.h"
#include "util/file.h"

namespace kiln::cli {
namespace {

constexpr int W = 900, H = 600, L = 90, R = 30, T = 30, B = 70;  // canvas and margins

struct Canvas {
  std::vector<uint8_t> px = std::vector<uint8_t>(W * H * 3, 255);
  void set(int x, int y, uint32_t rgb) {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    uint8_t* p = &px[(y * W + x) * 3];
    p[0] = rgb >> 16, p[1] = (rgb >> 8) & 255, p[2] = rgb & 255;
  }
  void rect(int x0, int y0, int x1, int y1, uint32_t rgb) {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) set(x, y, rgb);
  }
};

// 5x7 glyphs, one byte per row, bit 4 = leftmost column.
const std::map<char, std::array<uint8_t, 7>>& font() {
  static const std::map<char, std::array<uint8_t, 7>> f = {
      {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
      {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
      {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
      {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
      {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
      {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
      {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}}, {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
      {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}}, {' ', {0, 0, 0, 0, 0, 0, 0}},
      {'a', {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F}}, {'b', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E}},
      {'c', {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E}}, {'d', {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F}},
      {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}}, {'g', {0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E}},
      {'h', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}}, {'i', {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E}},
      {'l', {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'m', {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11}},
      {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}}, {'o', {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E}},
      {'p', {0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10}}, {'q', {0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01}},
      {'r', {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}}, {'s', {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E}},
      {'t', {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06}}, {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D}},
      {'y', {0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E}}, {'k', {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}},
      {'f', {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08}}, {'w', {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A}},
      {'x', {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11}}, {'#', {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}},
  };
  return f;
}

void text(Canvas& c, int x, int y, const std::string& s, uint32_t rgb, int scale = 2) {
  for (char ch : s) {
    auto it = font().find(ch);
    if (it != font().end())
      for (int r = 0; r < 7; ++r)
        for (int col = 0; col < 5; ++col)
          if (it->second[r] & (0x10 >> col)) c.rect(x + col * scale, y + r * scale, x + col * scale + scale - 1, y + r * scale + scale - 1, rgb);
    x += 6 * scale;
  }
}

// A "nice" tick step for a range: 1, 2 or 5 times a power of ten, about 6 ticks.
double tick_step(double range) {
  const double raw = range / 6, mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 100 || v == std::floor(v) ? "%.0f" : "%.1f", v);
  return buf;
}

void put_u32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 255);
}
void chunk(std::string& png, const char* type, const std::string& data) {
  put_u32(png, static_cast<uint32_t>(data.size()));
  std::string body = std::string(type, 4) + data;
  png += body;
  put_u32(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

void write_scatter_png(const std::string& path, const std::vector<PlotPoint>& points, const std::string& x_title,
                       const std::string& y_title, double x_marker) {
  Canvas c;
  double x_max = x_marker > 0 ? x_marker : 0, y_max = 0;
  for (const PlotPoint& p : points) x_max = std::max(x_max, p.x), y_max = std::max(y_max, p.y);
  x_max = x_max > 0 ? x_max * 1.1 : 1;
  y_max = y_max > 0 ? y_max * 1.1 : 1;
  auto sx = [&](double x) { return L + static_cast<int>(x / x_max * (W - L - R)); };
  auto sy = [&](double y) { return H - B - static_cast<int>(y / y_max * (H - T - B)); };
  const uint32_t axis = 0x202020, grid = 0xE0E0E0;
  for (double step = tick_step(x_max), v = 0; v <= x_max; v += step) {
    c.rect(sx(v), T, sx(v), H - B, grid);
    text(c, sx(v) - 6, H - B + 8, number(v), axis);
  }
  for (double step = tick_step(y_max), v = 0; v <= y_max; v += step) {
    c.rect(L, sy(v), W - R, sy(v), grid);
    const std::string n = number(v);
    text(c, L - 8 - 12 * static_cast<int>(n.size()), sy(v) - 7, n, axis);
  }
  c.rect(L, T, L + 1, H - B, axis);
  c.rect(L, H - B - 1, W - R, H - B, axis);
  if (x_marker > 0)
    for (int y = T; y < H - B; y += 6) c.rect(sx(x_marker), y, sx(x_marker) + 1, y + 3, 0xD03030);
  text(c, (W - 12 * static_cast<int>(x_title.size())) / 2, H - 30, x_title, axis);
  text(c, 8, 8, y_title, axis);
  for (const PlotPoint& p : points) {
    const int r = p.highlight ? 7 : 5;
    const uint32_t col = p.highlight ? 0xD03030 : 0x2060C0;
    for (int dy = -r; dy <= r; ++dy)
      for (int dx = -r; dx <= r; ++dx)
        if (dx * dx + dy * dy <= r * r) c.set(sx(p.x) + dx, sy(p.y) + dy, col);
    text(c, sx(p.x) + r + 3, sy(p.y) - r - 10, std::to_string(p.label), col);
  }
  // PNG: signature, IHDR (8-bit RGB), IDAT (filter byte 0 per row, deflated), IEND.
  std::string raw;
  raw.reserve(H * (W * 3 + 1));
  for (int y = 0; y < H; ++y) {
    raw += '\0';
    raw.append(reinterpret_cast<const char*>(&c.px[y * W * 3]), W * 3);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 6) != Z_OK)
    fail("cannot compress the plot");
  z.resize(zlen);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put_u32(ihdr, W);
  put_u32(ihdr, H);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  write_file_atomic(path, png, "plot");
}

}  // namespace kiln::cli
