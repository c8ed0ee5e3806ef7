// Linear layers whose result for one item never depends on the other items of the batch.
//
// A single GEMM over [items * tokens, D] rows may round a row differently depending on where it
// sits (OpenBLAS does), so an item's embedding could change in the last bit with its neighbours,
// and the reference's retrieval metric counts exact ties. While an ItemGemmScope is alive on this
// thread, item_linear multiplies each item (the first dimension) by its own GEMM of one fixed
// shape (one batched call), so identical items get identical bits in any batch. Evaluation
// embeds under it; training keeps the single fast GEMM.
#pragma once
#include <torch/types.h>

namespace cma::model {

class ItemGemmScope {
 public:
  ItemGemmScope();
  ~ItemGemmScope();
  ItemGemmScope(const ItemGemmScope&) = delete;
  ItemGemmScope& operator=(const ItemGemmScope&) = delete;

 private:
  bool previous_;
};

// x [I, T, Din] or [I, Din], w [Dout, Din], b [Dout] or undefined -> [I, T, Dout] or [I, Dout].
torch::Tensor item_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

}  // namespace cma::model
