// Linear layers whose result for one item never depends on the other items of the batch.
//
// A single GEMM over [items * tokens, D] rows may round a row differently depending on where it
// sits (OpenBLAS does), so an item's embedding could change in the last bit with its neighbours,
// and the reference's retrieval metric counts exact ties. While an ItemGemmScope is alive on this
// thread, item_linear multiplies each item (the first dimension) by its own GEMM of one fixed
// shape, so identical items get identical bits in any batch (on the CPU without autograd, each
// item's product runs on the selected library, model/cpu_gemm.h). Evaluation embeds under it.
// Outside the scope (training) item_linear is cpu_linear: one GEMM over all rows.
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

// Inside an ItemGemmScope, each run of `n` consecutive first-dimension entries is one item: the
// frames of one video, which always travel together, share one product of n times the rows (a
// product per frame re-reads the whole weight matrix for 50 rows). Restores the previous size.
class ItemGroupScope {
 public:
  explicit ItemGroupScope(int64_t n);
  ~ItemGroupScope();
  ItemGroupScope(const ItemGroupScope&) = delete;
  ItemGroupScope& operator=(const ItemGroupScope&) = delete;

 private:
  int64_t previous_;
};

// x [I, T, Din] or [I, Din], w [Dout, Din], b [Dout] or undefined -> [I, T, Dout] or [I, Dout].
torch::Tensor item_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

}  // namespace cma::model
