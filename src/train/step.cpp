#include "cma/train/step.h"

#include "cma/model/head.h"

namespace cma::train {

StepForward contrastive_forward(model::ClipModelImpl& m, dist::Communicator& comm, const StepInputs& in) {
  StepForward o;
  o.text = dist::all_gather_with_grad(comm, m.encode_text(in.ids));       // [B, E]
  o.frames = dist::all_gather_with_grad(comm, m.encode_video(in.video));  // [B, F, E]
  const auto mask = comm.all_gather(in.frame_mask.contiguous());           // [B, F]
  o.logits = model::retrieval_logits(o.text, o.frames, mask, m.logit_scale, m.options().head);  // [B, B]
  o.loss = model::symmetric_ce_loss(o.logits);                             // []
  return o;
}

}  // namespace cma::train
