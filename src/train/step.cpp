#include "cma/train/step.h"

#include "cma/model/head.h"

namespace cma::train {
namespace {

// All-gather whose backward sums the gathered gradient over ranks before taking this rank's rows
// (the adjoint of a gather): with a loss split over ranks, each rank's rows then receive the
// gradient of every rank's part.
class AllGatherSumGrad : public torch::autograd::Function<AllGatherSumGrad> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               dist::Communicator* comm) {
    ctx->saved_data["begin"] = static_cast<int64_t>(comm->rank()) * x.size(0);
    ctx->saved_data["rows"] = x.size(0);
    // saved_data holds IValues, which cannot hold a raw pointer; the communicator outlives the step.
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(comm);
    return comm->all_gather(x.detach().contiguous());  // [W*b, ...]
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    auto* comm = reinterpret_cast<dist::Communicator*>(ctx->saved_data["comm"].toInt());
    std::vector<torch::Tensor> g = {grad[0].contiguous()};
    comm->all_reduce_sum(g);
    const int64_t begin = ctx->saved_data["begin"].toInt(), rows = ctx->saved_data["rows"].toInt();
    return {g[0].slice(0, begin, begin + rows), torch::Tensor()};
  }
};

// Sum over `rows` of -log_softmax(logits[row])[target], targets b consecutive global indices.
torch::Tensor ce_sum(const torch::Tensor& logits, int64_t first_target) {
  const auto target = torch::arange(first_target, first_target + logits.size(0),
                                    torch::TensorOptions().dtype(torch::kLong).device(logits.device()));
  return torch::nll_loss(torch::log_softmax(logits, 1), target, {}, at::Reduction::Sum);
}

}  // namespace

StepForward contrastive_forward(model::ClipModelImpl& m, dist::Communicator& comm, const StepInputs& in,
                                LossScope scope) {
  StepForward o;
  const auto& head = m.options().head;
  const auto text = m.encode_text(in.ids);       // [b, E]
  const auto frames = m.encode_video(in.video);  // [b, F, E]
  const auto mask = comm.all_gather(in.frame_mask.contiguous());  // [B, F]
  if (scope == LossScope::Global || comm.size() == 1) {
    o.text = dist::all_gather_with_grad(comm, text);      // [B, E]
    o.frames = dist::all_gather_with_grad(comm, frames);  // [B, F, E]
    o.logits = model::retrieval_logits(o.text, o.frames, mask, m.logit_scale, head);  // [B, B]
    o.loss = model::symmetric_ce_loss(o.logits);                                       // []
    o.global_loss = o.loss.detach();
    return o;
  }
  const int64_t b = text.size(0), first = static_cast<int64_t>(comm.rank()) * b;
  o.text = AllGatherSumGrad::apply(text, &comm);      // [B, E]
  o.frames = AllGatherSumGrad::apply(frames, &comm);  // [B, F, E]
  const int64_t B = o.text.size(0);
  const auto local_mask = in.frame_mask.to(mask.device());
  o.logits = model::retrieval_logits(text, o.frames, mask, m.logit_scale, head);            // [b, B] my captions
  const auto cols = model::retrieval_logits(o.text, frames, local_mask, m.logit_scale, head);  // [B, b] my videos
  // This rank's share of 0.5 * (mean row CE + mean column CE) over the global batch.
  o.loss = 0.5 * (ce_sum(o.logits, first) + ce_sum(cols.t(), first)) / static_cast<double>(B);  // []
  std::vector<torch::Tensor> total = {o.loss.detach().clone()};
  comm.all_reduce_sum(total);
  o.global_loss = total[0];
  return o;
}

}  // namespace cma::train
