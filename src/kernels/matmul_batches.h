// Batch iteration for MatMul with numpy broadcasting of the batch dims, shared by every tier.
#pragma once

#include "kernels/broadcast.h"
#include "ops/matmul_rules.h"

namespace kiln::kernels {

class MatMulBatches {
 public:
  MatMulBatches(const Dims& a, const Dims& b)
      : shape_(ops::matmul_shape(a, b)),
        bc_(with_unit(shape_.batch), {with_unit(shape_.a_batch), with_unit(shape_.b_batch)}) {}
  const ops::MatMulShape& shape() const { return shape_; }
  int64_t count() const { return num_elements(shape_.batch); }
  // For output batch i: the batch index into A and into B (each as a flat matrix index).
  void operand_batches(int64_t i, int64_t& a, int64_t& b) const {
    int64_t off[2];
    bc_.offsets(i, off);
    a = off[0];
    b = off[1];
  }
  // True when B is one matrix shared by every batch (a weight), so A's batches fold into rows.
  bool b_shared() const { return num_elements(shape_.b_batch) == 1; }

 private:
  // A trailing unit axis makes every batch index its own "row" for the Broadcaster.
  static Dims with_unit(Dims d) {
    d.push_back(1);
    return d;
  }
  ops::MatMulShape shape_;
  Broadcaster bc_;
};

}  // namespace kiln::kernels
