// The demo's results: read back from each run's files, then written as report.json and report.md.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "cma/app/demo.h"
#include "cma/app/progress.h"
#include "cma/core/atomic_file.h"
#include "cma/core/error.h"

namespace cma::app {
namespace {

nlohmann::json parse_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_text(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string mib(int64_t bytes) { return fixed(bytes / 1048576.0, bytes < 10 * 1048576 ? 2 : 0) + " MiB"; }

std::string percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "-";
  const double p = 100.0 * part / whole;
  return fixed(p, p < 1 ? 2 : 1) + "%";
}

const MethodResult* find(const DemoReport& r, const std::string& key) {
  for (const auto& m : r.on_b) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

double r1(const MethodResult* m) { return m ? m->t2v.value("R1", 0.0) : 0.0; }

nlohmann::json method_json(const MethodResult& m) {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& p : m.curve) {
    curve.push_back({{"epoch", p.epoch}, {"loss", p.loss}, {"t2v_R1", p.t2v_r1}, {"seconds", p.seconds}});
  }
  return {{"key", m.key},
          {"name", m.name},
          {"trainable_params", m.trainable_params},
          {"backbone_params", m.backbone_params},
          {"t2v", m.t2v},
          {"v2t", m.v2t},
          {"seconds_per_epoch", m.seconds_per_epoch},
          {"peak_rss_bytes", m.peak_rss_bytes},
          {"stored_bytes", m.stored_bytes},
          {"wall_seconds", m.wall_seconds},
          {"curve", curve}};
}

// What the numbers say, in sentences that follow the numbers (whichever way they went).
std::string findings(const DemoReport& r) {
  const MethodResult *zero = find(r, "zero_shot_b"), *full = find(r, "full_b"), *ad = find(r, "adapters_b");
  if (!zero || !full || !ad) return "";
  std::ostringstream o;
  const double chance = 100.0 / r.options.test_clips;
  o << "- Pretraining on A reached text-to-video R@1 " << fixed(r.pretrain.t2v.value("R1", 0.0), 1)
    << " on A's test clips (chance " << fixed(chance, 1) << ").\n";
  o << "- On B the pretrained model scores R@1 " << fixed(r1(zero), 1) << " zero-shot: ";
  o << (r1(zero) < r.pretrain.t2v.value("R1", 0.0) ? "lower than on A, so the shift hurts.\n"
                                                    : "no lower than on A, so this shift did not hurt.\n");
  const double gain = r1(ad) - r1(zero);
  o << "- Adapters " << (gain > 0 ? "raise" : "do not raise") << " R@1 over zero-shot (" << (gain >= 0 ? "+" : "")
    << fixed(gain, 1) << " points) while training " << percent(ad->trainable_params, ad->backbone_params)
    << " of CLIP's parameters and storing " << mib(ad->stored_bytes) << " for the data set.\n";
  const double gap = r1(full) - r1(ad);
  o << "- Full fine-tuning trains every parameter and must store a whole CLIP (" << mib(full->stored_bytes)
    << "); it reaches R@1 " << fixed(r1(full), 1) << ", ";
  if (gap > 0) {
    o << fixed(gap, 1) << " points above the adapters";
    const double recovered = r1(full) > r1(zero) ? 100.0 * (r1(ad) - r1(zero)) / (r1(full) - r1(zero)) : 0.0;
    if (r1(full) > r1(zero)) o << ": the adapters recover " << fixed(recovered, 0) << "% of its gain over zero-shot";
    o << ".\n";
  } else {
    o << fixed(-gap, 1) << " points " << (gap < 0 ? "below" : "level with") << " the adapters.\n";
  }
  // R@1 alone hides how far down the list each method puts the right clip.
  const double r5_gap = full->t2v.value("R5", 0.0) - ad->t2v.value("R5", 0.0);
  o << "- At R@5 full fine-tuning reaches " << fixed(full->t2v.value("R5", 0.0), 1) << " and the adapters "
    << fixed(ad->t2v.value("R5", 0.0), 1) << " (zero-shot " << fixed(zero->t2v.value("R5", 0.0), 1) << "): "
    << (r5_gap > 2 ? "the adapters do not get as close there.\n" : "the adapters are as close there.\n");
  return o.str();
}

}  // namespace

void read_method_result(const std::string& run_dir, MethodResult& r) {
  const std::string eval_path = run_dir + "/eval.json", metrics_path = run_dir + "/metrics.jsonl";
  const auto eval = parse_file(eval_path);
  require(eval.contains("plain") && eval["plain"].contains("t2v") && eval["plain"].contains("v2t"),
          eval_path + ": no plain.t2v / plain.v2t metrics");
  r.t2v = eval["plain"]["t2v"];
  r.v2t = eval["plain"]["v2t"];
  r.trainable_params = eval.value("trainable_params", int64_t{0});
  r.backbone_params = eval.value("backbone_params", int64_t{0});

  std::map<int, EpochPoint> by_epoch;
  std::map<int, int> steps;
  std::ifstream in(metrics_path);
  require(static_cast<bool>(in), "cannot read " + metrics_path);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json rec;
    try {
      rec = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(metrics_path + ":" + std::to_string(line_no) + ": not valid JSON: " + e.what());
    }
    const std::string type = rec.value("type", "");
    if (type == "train") {
      // The trainer's epoch is 1-based in train records, the count of finished epochs in eval ones.
      auto& p = by_epoch[rec.at("epoch").get<int>()];
      p.loss += rec.at("loss").get<double>();
      p.seconds += rec.value("compute_s", 0.0) + rec.value("data_wait_s", 0.0);
      ++steps[rec.at("epoch").get<int>()];
    } else if (type == "eval" && rec.value("epoch", 0) > 0) {
      by_epoch[rec["epoch"].get<int>()].t2v_r1 = rec.at("t2v").at("R1").get<double>();
    }
  }
  r.curve.clear();
  double seconds = 0;
  for (auto& [epoch, p] : by_epoch) {
    if (steps[epoch] == 0) continue;  // an evaluation without training (zero-shot)
    p.epoch = epoch;
    p.loss /= steps[epoch];
    seconds += p.seconds;
    r.curve.push_back(p);
  }
  r.seconds_per_epoch = r.curve.empty() ? 0.0 : seconds / r.curve.size();
}

nlohmann::json report_json(const DemoReport& r) {
  const auto& o = r.options;
  nlohmann::json methods = nlohmann::json::array();
  for (const auto& m : r.on_b) methods.push_back(method_json(m));
  return {{"format", "cma.demo_report"},
          {"version", 1},
          {"cpu", r.cpu},
          {"total_seconds", r.total_seconds},
          {"options",
           {{"model", o.model}, {"train_clips", o.train_clips}, {"test_clips", o.test_clips},
            {"captions", o.captions}, {"frames", o.frames}, {"batch_size", o.batch_size},
            {"pretrain_epochs", o.pretrain_epochs}, {"epochs", o.epochs}, {"pretrain_lr", o.pretrain_lr},
            {"full_lr", o.full_lr}, {"adapter_lr", o.adapter_lr}, {"seed", o.seed}, {"threads", o.threads}}},
          {"chance_R1", 100.0 / o.test_clips},
          {"pretrain", method_json(r.pretrain)},
          {"domain_b", methods}};
}

std::string report_table(const DemoReport& r) {
  std::ostringstream t;
  t << "| method (domain B) | trainable params | % of CLIP | t2v R@1 | t2v R@5 | t2v MR | v2t R@1 | time/epoch | "
       "peak memory | stored per data set |\n";
  t << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& m : r.on_b) {
    t << "| " << m.name << " | " << grouped(m.trainable_params) << " | "
      << percent(m.trainable_params, m.backbone_params) << " | " << fixed(m.t2v.value("R1", 0.0), 1) << " | "
      << fixed(m.t2v.value("R5", 0.0), 1) << " | " << fixed(m.t2v.value("MR", 0.0), 1) << " | "
      << fixed(m.v2t.value("R1", 0.0), 1) << " | "
      << (m.curve.empty() ? std::string("-") : fixed(m.seconds_per_epoch, 1) + " s") << " | "
      << mib(m.peak_rss_bytes) << " | " << (m.stored_bytes ? mib(m.stored_bytes) : std::string("nothing")) << " |\n";
  }
  return t.str();
}

std::string report_markdown(const DemoReport& r) {
  const auto& o = r.options;
  std::ostringstream md;
  md << "# cma demo: cross-modal adapters on a synthetic world\n\n";
  md << "Measured by `cma demo` on " << r.cpu << ", in " << fixed(r.total_seconds, 0) << " s. Every number "
     << "below is this run's; rerunning on another machine gives other timings.\n\n";
  md << "A " << o.model << " CLIP (" << grouped(r.pretrain.backbone_params) << " parameters) was trained from "
     << "scratch on domain A (" << o.train_clips << " clips x " << o.captions << " captions, " << o.pretrain_epochs
     << " epochs). Domain B shows unseen shape-colour pairs on unseen backdrops, described with colour words and "
     << "verbs A never used. Each method below starts on B from the same pretrained weights and trains for the "
     << "same " << o.epochs << " epochs of batch " << o.batch_size << "; all are evaluated on B's " << o.test_clips
     << " test clips (one caption each; chance R@1 " << fixed(100.0 / o.test_clips, 1) << ").\n\n";
  md << report_table(r) << "\n";
  md << "Columns: R@k is the percentage of captions (t2v) or clips (v2t) whose match ranks in the top k, MR the "
     << "median rank (`MR` in eval.json). Time per epoch counts training steps only. Peak memory is the run's "
     << "process. Stored per data set is what a user keeps beside the shared pretrained CLIP: the adapters "
     << "file, or a whole fine-tuned CLIP.\n\n";
  md << "## What it shows\n\n" << findings(r) << "\n";
  md << "## Pictures\n\n";
  md << "![Training loss and text-to-video R@1 per epoch on B](curves.png)\n\n";
  if (o.gallery > 0) {
    md << "![Top 5 clips of the first " << o.gallery << " test captions of B, by the adapted model: the "
       << "correct clip framed green, a wrong first choice red](gallery.png)\n\n";
  }
  md << "## Files\n\n";
  md << "- `world_a/`, `world_b/`: the two worlds in MSR-VTT's layout (`anns/`, `frames/`).\n";
  md << "- `pretrain_a/`, `zero_shot_b/`, `full_b/`, `adapters_b/`: one ordinary cma run each (config.json, "
     << "log.txt, metrics.jsonl, eval.json, weights); `console.txt` is what the run printed.\n";
  md << "- `pretrain_a/backbone_last.safetensors`: the pretrained CLIP, in OpenAI's tensor names; "
     << "`--weights` reads it.\n";
  md << "- `report.json`: every figure above, and the per-epoch curves.\n";
  return md.str();
}

}  // namespace cma::app
