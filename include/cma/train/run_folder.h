// The output folder of a run, and the only code that names, writes or reads its files:
//   config.json                    the resolved config of the run that started the folder
//   log.txt                        the console log (a file sink of core/log)
//   metrics.jsonl                  one JSON record per logged step or evaluation, appended
//   eval.json                      the latest evaluation's metrics
//   adapters_epoch<N>.safetensors  adapters after epoch N; adapters_best.safetensors, best R@1
//   checkpoint.safetensors         everything an exact resume needs (train/checkpoint.h)
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
  bool has_checkpoint() const;

  // Creates the folder and removes temporary files a killed run left behind ("*.tmp.<pid>" of
  // atomic writes whose process is gone).
  void open();
  // A new run: removes an earlier run's results (metrics, evaluation, adapters, checkpoint) so
  // none of them can pass for this run's, then writes config.json.
  void start_new(const nlohmann::json& resolved_config);
  // A resumed run at `global_step`, `epoch` (the checkpoint's): drops, once, the records written
  // after the checkpoint (they will be logged again) and any torn last line; later records append.
  void resume_at(int64_t global_step, int64_t epoch);
  // Appends one record to metrics.jsonl and flushes it to the kernel.
  void append_record(const nlohmann::json& record);
  // Replaces eval.json atomically.
  void write_eval(const nlohmann::json& result);

 private:
  std::FILE* metrics();

  std::string dir_;
  bool writer_;
  std::FILE* metrics_ = nullptr;
};

}  // namespace cma::train
