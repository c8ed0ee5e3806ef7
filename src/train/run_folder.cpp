#include "cma/train/run_folder.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "cma/core/atomic_file.h"
#include "cma/core/error.h"
#include "cma/core/log.h"

namespace cma::train {
namespace fs = std::filesystem;

namespace {

// "<name>.tmp.<pid>" as written by write_file_atomic; returns the pid, or 0 if not such a name.
long temp_owner(const std::string& name) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos || at + 5 >= name.size()) return 0;
  const std::string digits = name.substr(at + 5);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stol(digits);
}

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

}  // namespace

RunFolder::RunFolder(std::string dir, bool writer) : dir_(std::move(dir)), writer_(writer) {}

RunFolder::~RunFolder() {
  if (metrics_) std::fclose(metrics_);
}

std::string RunFolder::config_path() const { return dir_ + "/config.json"; }
std::string RunFolder::log_path() const { return dir_ + "/log.txt"; }
std::string RunFolder::metrics_path() const { return dir_ + "/metrics.jsonl"; }
std::string RunFolder::eval_path() const { return dir_ + "/eval.json"; }
std::string RunFolder::checkpoint_path() const { return dir_ + "/checkpoint.safetensors"; }
std::string RunFolder::epoch_adapters_path(int64_t epoch) const {
  return dir_ + "/adapters_epoch" + std::to_string(epoch) + ".safetensors";
}
std::string RunFolder::best_adapters_path() const { return dir_ + "/adapters_best.safetensors"; }
std::string RunFolder::last_adapters_path() const { return dir_ + "/adapters_last.safetensors"; }
std::string RunFolder::best_backbone_path() const { return dir_ + "/backbone_best.safetensors"; }
std::string RunFolder::last_backbone_path() const { return dir_ + "/backbone_last.safetensors"; }
bool RunFolder::has_checkpoint() const { return fs::exists(checkpoint_path()); }

void RunFolder::create(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    // Name the part of the path that is in the way, not only the library's "Not a directory".
    fs::path blocker;
    for (fs::path p = fs::path(dir); !p.empty() && p != p.parent_path(); p = p.parent_path()) {
      std::error_code e2;
      if (fs::exists(p, e2) && !fs::is_directory(p, e2)) blocker = p;
    }
    throw Error("--output_dir '" + dir + "' cannot be created as a folder" +
                (blocker.empty() ? (ec ? ": " + ec.message() : "") : ": " + blocker.string() + " is a file"));
  }
  require(::access(dir.c_str(), W_OK | X_OK) == 0,
          "--output_dir '" + dir + "' is not writable (" + std::strerror(errno) + "); choose another folder");
}

void RunFolder::open() {
  if (!writer_) return;
  create(dir_);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_)) {
    const long pid = temp_owner(e.path().filename().string());
    if (pid > 0 && pid != ::getpid() && !process_alive(pid)) {
      fs::remove(e.path(), ec);
      log::info("run", "removed {} left by an interrupted run", e.path().string());
    }
  }
}

void RunFolder::open_for_eval(const std::string& label) {
  open();
  if (fs::exists(config_path()) || has_checkpoint()) eval_label_ = label;
}

void RunFolder::start_new(const nlohmann::json& resolved_config) {
  if (!writer_) return;
  if (metrics_) std::fclose(metrics_), metrics_ = nullptr;
  int removed = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    const auto name = e.path().filename().string();
    const bool weights = (name.rfind("adapters_", 0) == 0 || name.rfind("backbone_", 0) == 0) &&
                         e.path().extension() == ".safetensors";
    if (weights || name == "metrics.jsonl" || name == "eval.json" || name == "gallery.png" ||
        name == "checkpoint.safetensors") {
      fs::remove(e.path());
      ++removed;
    }
  }
  if (removed) log::info("run", "removed {} result file(s) of an earlier run in {}", removed, dir_);
  write_text_atomic(config_path(), resolved_config.dump(2) + "\n");
}

void RunFolder::resume_at(int64_t global_step, int64_t epoch) {
  if (!writer_ || !fs::exists(metrics_path())) return;
  std::istringstream in(read_text(metrics_path()));
  std::string kept;
  int dropped = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      ++dropped;  // a line torn by a kill mid-write
      continue;
    }
    // An evaluation at the checkpoint's step belongs to it only if the checkpoint was written
    // after the epoch it evaluates; otherwise the resumed run evaluates that epoch again.
    const int64_t step = j.value("step", int64_t{0});
    const bool train_record = j.value("type", "") == "train";
    const bool keep = step < global_step || (step == global_step && (train_record || j.value("epoch", 0) <= epoch));
    if (keep) kept += line + "\n";
    else ++dropped;
  }
  if (dropped) {
    write_text_atomic(metrics_path(), kept);
    log::info("run", "dropped {} record(s) of {} written after the checkpoint", dropped, metrics_path());
  }
}

std::FILE* RunFolder::metrics() {
  if (!metrics_) {
    metrics_ = std::fopen(metrics_path().c_str(), "a");
    require(metrics_ != nullptr, metrics_path() + ": cannot open for appending: " + std::strerror(errno));
  }
  return metrics_;
}

void RunFolder::append_record(const nlohmann::json& record) {
  if (!writer_ || !eval_label_.empty()) return;
  const std::string line = record.dump() + "\n";
  auto* f = metrics();
  require(std::fwrite(line.data(), 1, line.size(), f) == line.size() && std::fflush(f) == 0,
          metrics_path() + ": write failed: " + std::strerror(errno));
}

std::string RunFolder::gallery_path() const {
  return dir_ + (eval_label_.empty() ? "/gallery.png" : "/gallery_" + eval_label_ + ".png");
}

void RunFolder::write_eval(const nlohmann::json& result) {
  if (!writer_) return;
  write_text_atomic(eval_label_.empty() ? eval_path() : dir_ + "/eval_" + eval_label_ + ".json", result.dump(2) + "\n");
}

}  // namespace cma::train
