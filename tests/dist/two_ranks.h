// Two-rank trainings of the cma binary on a tiny synthetic tree, started the way torchrun starts
// its workers (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR in each one's environment).
#pragma once
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "../app/cli_util.h"
#include "../train/run_fixture.h"

namespace cma::testing {

// `cma train` with configs/tiny_demo.json on `tree`, one thread, writing to `out`; `extra` adds flags.
inline std::string tiny_train_args(const TinyTree& tree, const std::string& out, const std::string& extra = "") {
  return std::string(CMA_BINARY) + " train --config " + CMA_SOURCE_DIR + "/configs/tiny_demo.json --threads 1" +
         " --anno_path " + data::synthetic_anno_path(tree.root) + " --features_path " +
         data::synthetic_features_path(tree.root) + " --output_dir " + out + " " + extra;
}

// Rank `rank` of two as torchrun would start it, its output in `log`; no other launcher's variables.
inline std::string torchrun_rank(int rank, int port, const std::string& args, const std::string& log) {
  const std::string r = std::to_string(rank);
  return "env -u OMPI_COMM_WORLD_RANK -u OMPI_COMM_WORLD_SIZE -u PMI_RANK -u PMI_SIZE -u SLURM_PROCID -u SLURM_NTASKS"
         " RANK=" + r + " WORLD_SIZE=2 LOCAL_RANK=" + r + " LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
         std::to_string(port) + " " + args + " > " + log + " 2>&1";
}

// The losses of the "type":"train" records of a metrics.jsonl, in order (a torn last line is skipped).
inline std::vector<double> train_losses(const std::string& metrics_path) {
  std::vector<double> losses;
  std::istringstream lines(slurp(metrics_path));
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("type", "") == "train") losses.push_back(j.at("loss").get<double>());
  }
  return losses;
}

}  // namespace cma::testing
