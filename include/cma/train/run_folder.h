// The output folder of a run, and the only code that names, writes or reads its files:
//   config.json                    the resolved config of the run that started the folder
//   log.txt                        the console log (a file sink of core/log)
//   metrics.jsonl                  one JSON record per logged step or evaluation, appended
//   eval.json                      the latest evaluation's metrics
//   adapters_epoch<N>.safetensors  adapters after epoch N; adapters_best.safetensors, best R@1
//   adapters_last.safetensors      adapters where the run ended (its last epoch, or --max-steps)
//   backbone_best.safetensors,     with --tune full: the trained CLIP (OpenAI's names) at the best
//   backbone_last.safetensors      evaluation and where the run ended; --pretrained_clip_name reads them
//   checkpoint.safetensors         everything an exact resume needs (train/checkpoint.h)
//   eval_<label>.json              an evaluation-only run (cma eval) into a folder holding a
//                                  training run: the training's own files stay as they were
// Only rank 0 writes (`writer`); other ranks may ask for names.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

namespace cma::train {

class RunFolder {
 public:
  RunFolder(std::string dir, bool writer);
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::string& dir() const { return dir_; }
  std::string config_path() const;
  std::string log_path() const;
  std::string metrics_path() const;
  std::string eval_path() const;
  std::string checkpoint_path() const;
  std::string epoch_adapters_path(int64_t epoch) const;
  std::string best_adapters_path() const;
  std::string last_adapters_path() const;
  std::string best_backbone_path() const;
  std::string last_backbone_path() const;
  bool has_checkpoint() const;

  // Creates `dir` (and its parents), or throws naming --output_dir and why it cannot be a
  // writable folder (a regular file in its path, no permission).
  static void create(const std::string& dir);
  // Creates the folder and removes temporary files a killed run left behind ("*.tmp.<pid>" of
  // atomic writes whose process is gone).
  void open();
  // open() for a run that only evaluates. When the folder holds a training run (its config.json
  // or checkpoint), the evaluation is written to eval_<label>.json and appends no record to the
  // run's metrics.jsonl; otherwise it is written as a training run's would be.
  void open_for_eval(const std::string& label);
  // A new run: removes an earlier run's results (metrics, evaluation, adapters, checkpoint) so
  // none of them can pass for this run's, then writes config.json.
  void start_new(const nlohmann::json& resolved_config);
  // A resumed run at `global_step`, `epoch` (the checkpoint's): drops, once, the records written
  // after the checkpoint (they will be logged again) and any torn last line; later records append.
  void resume_at(int64_t global_step, int64_t epoch);
  // Appends one record to metrics.jsonl and flushes it to the kernel.
  void append_record(const nlohmann::json& record);
  // Replaces eval.json (or eval_<label>.json, see open_for_eval) atomically.
  void write_eval(const nlohmann::json& result);
  // Where the evaluation's gallery goes: gallery.png (or gallery_<label>.png, as write_eval).
  std::string gallery_path() const;

 private:
  std::FILE* metrics();

  std::string dir_;
  bool writer_;
  std::string eval_label_;  // set by open_for_eval on a training run's folder
  std::FILE* metrics_ = nullptr;
};

}  // namespace cma::train
