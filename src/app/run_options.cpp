// Every option of `cma train` / `cma eval` (and the parts `info` and `prepare` share), bound
// once: flag spellings, JSON keys, help, and what a resumed run may change.
#include "cma/app/config.h"

namespace cma::app {

using train::OnResume;

void bind_model_options(ConfigBinder& b, model::ModelOptions& m) {
  b.bind("model", "pretrained_clip_name", &m.pretrained_clip_name,
         "CLIP weights: ViT-B/32 (~/.cache/clip/ViT-B-32.pt), a file, or random:<ViT-B/32|ViT-B/16|small|tiny>",
         {"--weights"});
  b.bind("model", "adapter_reduction_dims", &m.adapter.reduction_dims, "adapter bottleneck width r");
  b.bind("model", "adapter_share_dim", &m.adapter.share_dim, "up-projection columns shared by both encoders (ds)");
  b.bind("model", "adapter_non_linearity", &m.adapter.non_linearity, "quick_gelu | gelu | gelu_new | relu | swish | silu");
  b.bind("model", "adapter_dropout", &m.adapter.dropout, "dropout on the adapter bottleneck");
  b.bind("model", "adapter_init_std", &m.adapter.init_std, "std of the truncated-normal adapter init");
  b.bind_switch("model", "adapter_convert2fp16", &m.adapter.convert2fp16,
                "adapters in the backbone's half type (CUDA; on the CPU adapters stay fp32)");
  b.bind_switch("model", "q_score", &m.head.q_score, "text-conditioned frame pooling (1) or mean pooling (0)");
  b.bind("model", "q_score_temp", &m.head.q_score_temp, "temperature of q_score pooling");
  b.bind("model", "precision", &m.precision,
         "frozen backbone dtype: auto (fp16 on CUDA, fp32 on the CPU) | fp32 | bf16 | fp16 (CUDA)");
  b.bind_switch("model", "recompute", &m.recompute,
                "keep only each block's input and recompute its activations in backward (less memory, more time)")
      .on_resume(OnResume::Free);
}

void bind_frame_options(ConfigBinder& b, data::DataOptions& d) {
  b.bind_choice("data", "datatype", &d.datatype, data::datatype_names(),
                "annotation layout in --anno_path: msrvtt | msvd | vatex | didemo | activitynet | lsmdc | flickr30k "
                "| coco | caption_set (README: Data sets)");
  b.bind("data", "anno_path", &d.anno_path, "folder of the annotation files (MSR-VTT: MSRVTT_data.json and the csv files)");
  b.bind("data", "features_path", &d.features_path,
         "frames: <video_id>.mp4/ or <video_id>/ folders, or image files for flickr30k and coco");
  b.bind("data", "frames_cache", &d.frames_cache, "frame cache from `cma prepare` (instead of frame folders)")
      .on_resume(OnResume::Free);
  b.bind_switch("data", "train7k", &d.train7k, "train on MSRVTT_train.7k.csv");
  b.bind("data", "workers", &d.workers, "frame decoding threads", {"--num_thread_reader"}).on_resume(OnResume::Free);
}

void bind_run_options(ConfigBinder& b, train::RunConfig& c) {
  bind_model_options(b, c.model);

  auto& d = c.data;
  bind_frame_options(b, d);
  b.bind("data", "max_words", &d.max_words, "caption tokens including start and end");
  b.bind("data", "max_frames", &d.max_frames, "frames per video");
  b.bind("data", "slice_framepos", &d.slice_framepos, "more frames than max_frames: 0 head, 1 tail, 2 uniform");
  b.bind_choice("data", "shuffle", &d.shuffle, data::shuffle_order_names(),
                "training order: reference (torch.randperm seeded 0 + epoch, the reference's) | portable "
                "(mt19937_64 seeded --seed + epoch)");
  b.bind_choice("data", "bad_videos", &d.bad_videos, data::bad_videos_names(),
                "a video whose frames are missing or unreadable when checked before the run: skip (left out, "
                "counted) | error (stop, naming it)")
      .on_resume(OnResume::Free);
  b.bind("data", "prefetch", &d.prefetch, "batches decoded ahead").on_resume(OnResume::Free);
  b.bind("data", "tokenizer", &d.tokenizer, "clip (BPE vocabulary) | bytes (no vocabulary)");
  b.bind("data", "bpe_vocab", &d.bpe_vocab, "path of bpe_simple_vocab_16e6.txt.gz (default: the vendored copy)");

  auto& t = c.train;
  b.bind("train", "lr", &t.optim.lr, "peak learning rate of the adapters");
  b.bind("train", "clip_lr", &t.clip_lr, "learning rate of the backbone with --tune full");
  b.bind("train", "warmup_proportion", &t.optim.warmup, "fraction of training spent warming up");
  b.bind("train", "schedule", &t.optim.schedule, "warmup_cosine | warmup_constant | warmup_linear");
  b.bind("train", "weight_decay", &t.optim.weight_decay, "decoupled weight decay of non-bias tensors");
  b.bind("train", "clip_grad_norm", &t.optim.max_grad_norm, "global gradient-norm clip");
  b.bind_choice("train", "tune", &t.tune, train::tune_names(),
                "adapters (the paper) | full (CLIP4Clip) | none (zero-shot)");
  b.bind_choice("train", "loss", &t.loss, train::loss_scope_names(),
                "global (every rank scores the whole batch, the reference) | local (each rank its own rows and "
                "columns; the same update, logits memory linear in the batch)");
  b.bind("train", "epochs", &t.epochs, "passes over the training pairs").on_resume(OnResume::Schedule);
  b.bind("train", "batch_size", &t.batch_size, "global batch, split evenly over ranks");
  b.bind("train", "batch_size_val", &t.batch_size_val, "evaluation batch (results do not depend on it)")
      .on_resume(OnResume::Free);
  b.bind("train", "gradient_accumulation_steps", &t.gradient_accumulation_steps, "micro-batches per optimizer step");
  b.bind("train", "seed", &t.seed, "seed of adapter init, dropout and --shuffle portable (not of the reference order)");
  b.bind("train", "output_dir", &t.output_dir, "folder for config, logs, metrics, adapters, checkpoint")
      .on_resume(OnResume::Free);
  b.bind("train", "adapters", &t.adapters, "adapter file to start from (train) or to evaluate (eval)");
  b.bind_switch("train", "resume", &t.resume, "resume from output_dir's checkpoint (default on)",
                {"!--no-resume", "!--no_resume"})
      .on_resume(OnResume::Free);
  b.bind_switch("train", "allow_schedule_change", &t.allow_schedule_change,
                "resume although --epochs differs from the checkpoint's (stretches or shrinks the schedule)")
      .on_resume(OnResume::Free);
  b.bind("train", "log_every", &t.log_every, "optimizer steps between log lines", {"--n_display"})
      .on_resume(OnResume::Free);
  b.bind("train", "checkpoint_every", &t.checkpoint_every, "optimizer steps between checkpoints")
      .on_resume(OnResume::Free);
  b.bind("train", "max_nonfinite_steps", &t.max_nonfinite_steps, "consecutive non-finite steps before stopping")
      .on_resume(OnResume::Free);
  b.bind_switch("train", "do_train", &t.do_train, "train (1) or not (0)");
  b.bind_switch("train", "do_eval", &t.do_eval, "only evaluate (1)");
  b.bind_switch("train", "eval_each_epoch", &t.eval_each_epoch, "evaluate after every epoch").on_resume(OnResume::Free);
  b.bind("train", "max_steps", &t.max_steps, "stop after this many optimizer steps (0: no limit)")
      .on_resume(OnResume::Free);
  b.bind("train", "device", &t.device, "cpu | cuda | cuda:N");
  b.bind("train", "threads", &t.threads, "compute threads (0: all cores)").on_resume(OnResume::Free);
  b.bind("train", "cpu_gemm", &t.cpu_gemm,
         "CPU matrix products: auto (oneDNN when LibTorch has it) | onednn (one thread pool for everything) | "
         "openblas (OpenBLAS's own threads; elementwise ops on one)")
      .on_resume(OnResume::Free);
  b.bind_switch("train", "deterministic", &t.deterministic,
                "CUDA: deterministic kernels and unfused attention, so that a run and its resume repeat their bits "
                "(slower; the CPU path is deterministic either way)")
      .on_resume(OnResume::Free);

  // How ranks meet, and how results are printed, never change what is trained.
  b.bind("dist", "dist_backend", &c.dist.backend, "auto | none | gloo | nccl").on_resume(OnResume::Free);
  b.bind("dist", "master_addr", &c.dist.master_addr, "rendezvous host (MASTER_ADDR wins)").on_resume(OnResume::Free);
  b.bind("dist", "master_port", &c.dist.master_port, "rendezvous port (MASTER_PORT wins)").on_resume(OnResume::Free);
  b.bind("dist", "dist_timeout", &c.dist.timeout_seconds, "seconds before a stuck collective fails")
      .on_resume(OnResume::Free);

  b.bind("eval", "sim_chunk", &c.eval.sim_chunk, "captions per similarity chunk (bounds memory)")
      .on_resume(OnResume::Free);
  b.bind("eval", "embed_micro_batch", &c.eval.embed_micro_batch,
         "items per embedding forward (fixed for reproducibility)")
      .on_resume(OnResume::Free);
  b.bind_switch("eval", "dsl", &c.eval.dsl, "also report dual-softmax re-weighted metrics").on_resume(OnResume::Free);
  b.bind("eval", "dsl_temperature", &c.eval.dsl_temperature, "temperature of the dual softmax")
      .on_resume(OnResume::Free);
  b.bind("eval", "gallery", &c.eval.gallery,
         "draw gallery.png at each evaluation: the top 5 clips of the first N test captions")
      .on_resume(OnResume::Free);

  // The reference's flags that have one possible value here, or none at all.
  b.bind_fixed("dataset_type", "img", "frames as image folders");
  b.bind_fixed("task_type", "retrieval", "task");
  b.bind_fixed("linear_patch", "2d", "patch embedding");
  b.bind_fixed("sim_header", "meanP", "similarity header of CLIP4Clip (q_score selects the pooling)");
  b.bind_noop_switch("loose_type", "the loose-type retrieval head (the only one cma implements)");
  b.bind_ignored("local_rank", "set by torch.distributed.launch; cma reads ranks from the environment");
  b.add_config_flag();
}

void finish_run_options(ConfigBinder& b, train::RunConfig& c) {
  b.apply_config();
  c.model.validate();
  c.data.validate();
  c.train.validate();
  c.dist.validate();
  c.eval.validate();
  c.resolved = b.resolved();
  c.on_resume = b.resume_rules();
}

}  // namespace cma::app
