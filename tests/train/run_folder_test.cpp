// The run folder and the resume rules, with options bound exactly as `cma train` binds them:
// metrics.jsonl is appended (never rewritten), an evaluation-only change resumes, a schedule
// change is refused naming the key unless --allow-schedule-change, and leftovers are cleaned.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <fstream>

#include "../app/cli_util.h"
#include "cma/app/config.h"
#include "cma/core/error.h"
#include "cma/train/run_folder.h"
#include "run_fixture.h"

namespace cma::testing {
namespace {

ino_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

std::vector<nlohmann::json> records(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(RunFolder, AppendsRecordsAndTruncatesOnceOnResume) {
  TempDir tmp("runfolder");
  train::RunFolder f(tmp / "run", true);
  f.open();
  f.start_new({{"train", {{"lr", 1}}}});
  for (int step = 1; step <= 4; ++step) f.append_record({{"type", "train"}, {"step", step}, {"epoch", 1}});
  f.append_record({{"type", "eval"}, {"step", 4}, {"epoch", 1}});
  const ino_t before = inode_of(f.metrics_path());
  f.append_record({{"type", "train"}, {"step", 5}, {"epoch", 2}});
  EXPECT_EQ(inode_of(f.metrics_path()), before) << "appending must not replace the file";
  ASSERT_EQ(records(f.metrics_path()).size(), 6u);

  // A torn last line, as a kill mid-write leaves it.
  std::ofstream(f.metrics_path(), std::ios::app) << R"({"type": "train", "st)";
  // Resumed at step 4 of a checkpoint written before epoch 1's evaluation: the evaluation at step
  // 4, step 5 and the torn line go; the steps up to 4 stay.
  train::RunFolder g(tmp / "run", true);
  g.resume_at(4, 0);
  const auto kept = records(g.metrics_path());
  ASSERT_EQ(kept.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(kept[i]["step"], i + 1);
  // The same resume after the checkpoint that follows the evaluation keeps it.
  g.append_record({{"type", "eval"}, {"step", 4}, {"epoch", 1}});
  g.resume_at(4, 1);
  EXPECT_EQ(records(g.metrics_path()).size(), 5u);
}

TEST(RunFolder, NewRunRemovesEarlierResultsAndStaleTemporaries) {
  TempDir tmp("runfolder_new");
  const std::string dir = tmp / "run";
  std::filesystem::create_directories(dir);
  for (const char* name : {"metrics.jsonl", "eval.json", "adapters_best.safetensors", "adapters_epoch3.safetensors",
                           "checkpoint.safetensors", "notes.txt"}) {
    std::ofstream(dir + "/" + name) << "old";
  }
  // A temporary file of a process that no longer exists (pid 2^22 + 1 is above Linux's maximum).
  std::ofstream(dir + "/checkpoint.safetensors.tmp.4194305") << "torn";
  train::RunFolder f(dir, true);
  f.open();
  EXPECT_FALSE(std::filesystem::exists(dir + "/checkpoint.safetensors.tmp.4194305"));
  f.start_new({{"train", {{"lr", 2}}}});
  for (const char* gone : {"metrics.jsonl", "eval.json", "adapters_best.safetensors", "adapters_epoch3.safetensors",
                           "checkpoint.safetensors"}) {
    EXPECT_FALSE(std::filesystem::exists(dir + "/" + gone)) << gone;
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/notes.txt")) << "files that are not results are the user's";
  EXPECT_EQ(nlohmann::json::parse(slurp(f.config_path()))["train"]["lr"], 2);
}

// Options bound as `cma train` binds them (flags given as a user would type them).
train::RunConfig parse_train_flags(const std::vector<std::string>& flags) {
  CLI::App app;
  app::ConfigBinder b(app);
  train::RunConfig c;
  app::bind_run_options(b, c);
  std::vector<std::string> reversed(flags.rbegin(), flags.rend());  // CLI11 takes them last first
  app.parse(reversed);
  app::finish_run_options(b, c);
  return c;
}

struct RunOutcome {
  int rc = -1;
  int64_t first_step = 0;  // global_step after the first optimizer step this run took
  int64_t last_step = 0;
};

RunOutcome run_to(const train::RunConfig& c, int64_t stop_at = 0) {
  auto comm = dist::make_single_process();
  train::Trainer t(c, *comm);
  RunOutcome o;
  t.on_step = [&](const train::TrainState& s) {
    if (o.first_step == 0) o.first_step = s.global_step;
    o.last_step = s.global_step;
    if (s.global_step == stop_at) train::request_stop(SIGTERM);
  };
  train::clear_stop_request();
  o.rc = t.run();
  train::clear_stop_request();
  return o;
}

std::vector<std::string> tiny_flags(const TinyTree& tree) {
  return {"--pretrained_clip_name", "random:tiny", "--tokenizer", "bytes", "--max_words", "16", "--max_frames", "4",
          "--anno_path", data::synthetic_anno_path(tree.root), "--features_path",
          data::synthetic_features_path(tree.root), "--lr", "1e-3", "--batch_size", "6", "--epochs", "2",
          "--log-every", "1", "--checkpoint-every", "3", "--workers", "1", "--output_dir", tree / "run"};
}

// `flags` with each "--flag value" of `more` replacing the flag's value, or appended (a flag given
// twice is an error); a switch (a flag followed by another flag, or last) is appended.
std::vector<std::string> with(std::vector<std::string> flags, const std::vector<std::string>& more) {
  for (size_t i = 0; i < more.size(); ++i) {
    const bool has_value = i + 1 < more.size() && more[i + 1].rfind("--", 0) != 0;
    const auto it = std::find(flags.begin(), flags.end(), more[i]);
    if (has_value && it != flags.end()) {
      *(it + 1) = more[++i];
    } else {
      flags.push_back(more[i]);
      if (has_value) flags.push_back(more[++i]);
    }
  }
  return flags;
}

TEST(ResumeRules, EvalOnlyChangeResumesAndMetricsAreAppended) {
  const auto tree = make_tiny_tree("resume_evalonly");
  const auto base = tiny_flags(tree);
  ASSERT_EQ(run_to(parse_train_flags(base), 2).rc, train::kExitSigterm);
  const std::string metrics = tree / "run/metrics.jsonl";
  const std::string before = slurp(metrics);
  ASSERT_FALSE(before.empty());
  const ino_t inode = inode_of(metrics);
  // Evaluation batching, threads and logging cannot change the trained adapters.
  const auto o = run_to(parse_train_flags(
      with(base, {"--batch_size_val", "3", "--sim-chunk", "2", "--workers", "2", "--log-every", "2"})));
  EXPECT_EQ(o.rc, 0);
  EXPECT_EQ(o.first_step, 3) << "the run did not resume from the checkpoint at step 2";
  EXPECT_EQ(inode_of(metrics), inode) << "metrics.jsonl was rewritten instead of appended to";
  const std::string after = slurp(metrics);
  EXPECT_EQ(after.compare(0, before.size(), before), 0) << "the earlier records changed";
  EXPECT_GT(after.size(), before.size());
}

TEST(ResumeRules, EpochsChangeIsRefusedNamingTheKeyUnlessAllowed) {
  const auto tree = make_tiny_tree("resume_epochs");
  const auto base = tiny_flags(tree);
  ASSERT_EQ(run_to(parse_train_flags(base), 2).rc, train::kExitSigterm);
  try {
    run_to(parse_train_flags(with(base, {"--epochs", "3"})));
    FAIL() << "a changed --epochs must not resume silently";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("train.epochs"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--allow-schedule-change"), std::string::npos) << msg;
  }
  const auto o = run_to(parse_train_flags(with(base, {"--epochs", "3", "--allow-schedule-change"})));
  EXPECT_EQ(o.rc, 0);
  EXPECT_EQ(o.first_step, 3) << "the run did not resume from the checkpoint at step 2";
}

TEST(ResumeRules, TrainingChangeIsRefusedNamingTheKey) {
  const auto tree = make_tiny_tree("resume_lr");
  const auto base = tiny_flags(tree);
  ASSERT_EQ(run_to(parse_train_flags(base), 2).rc, train::kExitSigterm);
  try {
    run_to(parse_train_flags(with(base, {"--lr", "5e-3"})));
    FAIL() << "a changed --lr must not resume";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.lr"), std::string::npos) << e.what();
  }
}

TEST(ResumeRules, EvalOptionsAreValidatedBeforeAnyWork) {
  const auto r = run_cli("train --sim-chunk 0 --pretrained_clip_name random:tiny");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--sim-chunk must be >= 1"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("[train]"), std::string::npos) << "no work may start: " << r.output;
}

}  // namespace
}  // namespace cma::testing
