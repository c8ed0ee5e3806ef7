#include <CLI/CLI.hpp>

#include "cma/app/commands.h"

namespace cma::app {

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks (each prints ratios against a baseline in the same run)");
  bench->require_subcommand(1);
  add_bench_step(*bench);
  add_bench_data(*bench);
  add_bench_train(*bench);
}

}  // namespace cma::app
