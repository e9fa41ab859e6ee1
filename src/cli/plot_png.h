// A small scatter plot written as PNG (zlib for the deflate stream), for `kiln bench --plot`: each
// configuration of a sweep as a numbered point, x = p99 latency, y = throughput, an optional vertical
// line at the latency budget. Text uses a built-in 5x7 pixel font (digits and the few letters the
// axis titles need).
#pragma once

#include <string>
#include <vector>

namespace kiln::cli {

struct PlotPoint {
  double x, y;
  int label;        // drawn next to the point
  bool highlight;   // the best row under the budget: drawn larger, in another colour
};

// Writes the plot; throws kiln::Error when the file cannot be written.
void write_scatter_png(const std::string& path, const std::vector<PlotPoint>& points, const std::string& x_title,
                       const std::string& y_title, double x_marker);

}  // namespace kiln::cli
