// `cma train` and `cma eval`: bind options, validate everything, then hand over to the Trainer.
#include <CLI/CLI.hpp>

#include <memory>

#include "cma/app/commands.h"
#include "cma/app/config.h"
#include "cma/core/error.h"
#include "cma/core/log.h"
#include "cma/train/trainer.h"

namespace cma::app {
namespace {

struct RunCommand {
  train::RunConfig config;
  std::unique_ptr<ConfigBinder> binder;
};

int run_training(train::RunConfig& c) {
  const auto launch = dist::launch_info_from_env();
  log::set_rank(launch.rank);
  c.train.device = train::device_for_rank(c.train.device, launch.local_rank);
  set_threads(c.train.threads, c.train.cpu_gemm);
  if (launch.rank == 0) {
    train::RunFolder::create(c.train.output_dir);
    log::add_file_sink(c.train.output_dir + "/log.txt");
  }
  log::info("app", "config: {}", c.resolved.dump());
  auto comm = dist::make_communicator(c.dist, launch, c.train.device != "cpu");
  log::info("app", "rank {} of {} ({} backend)", comm->rank(), comm->size(), comm->backend());
  train::install_stop_handlers();
  train::Trainer trainer(c, *comm);
  return trainer.run();
}

std::shared_ptr<RunCommand> add_run_command(CLI::App& app, const std::string& name, const std::string& help) {
  auto cmd = std::make_shared<RunCommand>();
  auto* sub = app.add_subcommand(name, help);
  cmd->binder = std::make_unique<ConfigBinder>(*sub);
  bind_run_options(*cmd->binder, cmd->config);
  return cmd;
}

}  // namespace

int& exit_code() {
  static int code = 0;
  return code;
}

void add_train_command(CLI::App& app) {
  auto cmd = add_run_command(app, "train", "Train cross-modal adapters (resumes from --output_dir's checkpoint)");
  app.get_subcommand("train")->callback([cmd] {
    finish_run_options(*cmd->binder, cmd->config);
    exit_code() = run_training(cmd->config);
  });
}

void add_eval_command(CLI::App& app) {
  auto cmd = add_run_command(app, "eval", "Evaluate adapters (--adapters FILE, or --tune none) on the test split");
  app.get_subcommand("eval")->callback([cmd] {
    cmd->config.train.do_eval = true;
    cmd->config.train.resume = false;
    finish_run_options(*cmd->binder, cmd->config);
    require(!cmd->config.train.adapters.empty() || cmd->config.train.tune == train::Tune::None,
            "cma eval needs --adapters FILE (or --tune none for zero-shot CLIP)");
    exit_code() = run_training(cmd->config);
  });
}

}  // namespace cma::app
