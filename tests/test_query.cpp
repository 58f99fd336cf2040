// `sraal query` on a small synthetic pair of folders: labeled class folders (dark and bright
// 32x32 images) and an unlabeled folder with a subfolder. Every classification method returns
// `budget` distinct unlabeled paths; the files (to_label.csv, the export, the target's weights,
// the manifest and log) are written; a resume from each checkpoint reproduces the selection
// without redoing the finished stages; bad input fails naming what and where.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data_writers.h"
#include "engine/error.h"
#include "layers/model_zoo.h"
#include "run_sraal.h"
#include "sraal/query.h"
#include "sraal/strategy.h"

namespace sr {
namespace {

namespace fs = std::filesystem;
using testing_data::TempDir;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// labeled/{dark,bright}/k.png (6 each), unlabeled/u<k>.png and unlabeled/more/v<k>.png (14).
struct Folders {
  TempDir dir;
  std::string labeled = dir / "labeled", unlabeled = dir / "unlabeled";
  std::set<std::string> unlabeled_paths;
  Folders() {
    auto image = [](int base, int k) {
      std::vector<uint8_t> px(32 * 32 * 3);
      for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(base + (i * 7 + size_t(k) * 13) % 40);
      return px;
    };
    for (int k = 0; k < 6; ++k) {
      testing_data::write_png(labeled + "/dark/" + std::to_string(k) + ".png", 32, 32, 3,
                              image(10, k));
      testing_data::write_png(labeled + "/bright/" + std::to_string(k) + ".png", 32, 32, 3,
                              image(200, k));
    }
    for (int k = 0; k < 14; ++k) {
      std::string p = k < 8 ? unlabeled + "/u" + std::to_string(k) + ".png"
                            : unlabeled + "/more/v" + std::to_string(k) + ".png";
      testing_data::write_png(p, 32, 32, 3, image(k % 2 ? 200 : 10, k + 10));
      unlabeled_paths.insert(p);
    }
  }
};

// The quick preset shrunk to seconds: one epoch of a width-1/16 ResNet-18, a few adversarial
// iterations.
QueryConfig tiny_query(const Folders& f, const std::string& method, int64_t budget) {
  QueryConfig q;
  q.labeled = f.labeled, q.unlabeled = f.unlabeled, q.budget = budget;
  q.settings = preset_config("quick");
  q.settings.methods = {method};
  q.settings.target.epochs = 1;
  q.settings.target.width = 0.0625f;
  q.settings.target.batch = 8;
  q.settings.adversarial.iterations = 3;
  q.settings.adversarial.batch = 8;
  q.settings.method_options = nlohmann::json::object();
  if (method == "mc-dropout" || method == "bald")
    q.settings.method_options[method] = {{"passes", 2}};
  return q;
}

QueryOptions out_at(const std::string& dir) {
  QueryOptions o;
  o.out_dir = dir;
  return o;
}

void expect_budget_of_unlabeled(const QueryResult& r, const Folders& f, int64_t budget,
                                const std::string& method) {
  ASSERT_EQ(int64_t(r.paths.size()), budget) << method;
  std::set<std::string> seen;
  for (const std::string& p : r.paths) {
    EXPECT_TRUE(f.unlabeled_paths.count(p)) << method << ": " << p;
    EXPECT_TRUE(seen.insert(p).second) << method << ": " << p << " twice";
  }
}

TEST(Query, EveryClassificationMethodChoosesBudgetUnlabeledImages) {
  Folders f;
  for (const std::string& m : strategy_names(Task::classification)) {
    const std::string out = f.dir / ("out_" + m);
    QueryResult r = run_query(tiny_query(f, m, 5), out_at(out));
    expect_budget_of_unlabeled(r, f, 5, m);
    EXPECT_TRUE(r.trained && r.selected) << m;
  }
}

TEST(Query, WritesTheCsvWeightsManifestAndLog) {
  Folders f;
  const fs::path out = f.dir / "out";
  QueryResult r = run_query(tiny_query(f, "sraal", 4), out_at(out.string()));
  expect_budget_of_unlabeled(r, f, 4, "sraal");
  ASSERT_EQ(r.scores.size(), 4u);  // SRAAL ranks by its discriminator's state
  for (size_t k = 1; k < r.scores.size(); ++k) EXPECT_GE(r.scores[k - 1], r.scores[k]);

  std::istringstream csv(read_text(out / "to_label.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "rank,path,score,predicted,confidence");
  for (int k = 1; k <= 4; ++k) {
    ASSERT_TRUE(std::getline(csv, line));
    std::vector<std::string> v;
    std::stringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) v.push_back(x);
    ASSERT_EQ(v.size(), 5u) << line;
    EXPECT_EQ(v[0], std::to_string(k));
    EXPECT_EQ(v[1], r.paths[size_t(k - 1)]);
    EXPECT_FLOAT_EQ(std::stof(v[2]), float(r.scores[size_t(k - 1)]));
    EXPECT_TRUE(v[3] == "dark" || v[3] == "bright") << line;
    const float conf = std::stof(v[4]);
    EXPECT_TRUE(conf >= 0.5f && conf <= 1.f) << line;  // the larger of two probabilities
  }
  EXPECT_FALSE(std::getline(csv, line));

  // The target, with the preprocessing that `sraal predict --raw` applies.
  ModelFile m = read_model_file((out / "target.safetensors").string());
  EXPECT_EQ(m.spec.num_classes, 2);
  ASSERT_TRUE(m.preprocess.has_value());
  EXPECT_EQ(m.preprocess->class_names, (std::vector<std::string>{"bright", "dark"}));
  EXPECT_EQ(m.preprocess->height, 32);

  nlohmann::json man = nlohmann::json::parse(read_text(out / "manifest.json"));
  EXPECT_EQ(man["inputs"]["labeled_items"], 12);
  EXPECT_EQ(man["inputs"]["unlabeled_items"], 14);
  EXPECT_EQ(man["query"]["budget"], 4);
  EXPECT_TRUE(man.contains("wall_seconds"));
  EXPECT_NE(read_text(out / "run.log").find("chose 4 images"), std::string::npos);
  EXPECT_FALSE(fs::exists(out / "to_label"));  // no export asked
}

TEST(Query, ExportsCopiesOrLinksInRankOrder) {
  Folders f;
  for (const std::string mode : {"copy", "symlink"}) {
    QueryConfig q = tiny_query(f, "entropy", 3);
    q.export_mode = mode;
    const fs::path out = f.dir / ("out_" + mode);
    QueryResult r = run_query(q, out_at(out.string()));
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(out / "to_label")) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    ASSERT_EQ(files.size(), 3u) << mode;
    for (size_t k = 0; k < 3; ++k) {
      const fs::path src = r.paths[k];
      EXPECT_EQ(files[k].filename().string(),
                std::to_string(k + 1) + "_" + src.filename().string());
      EXPECT_EQ(fs::is_symlink(fs::symlink_status(files[k])), mode == "symlink");
      EXPECT_EQ(testing_data::read_bytes(files[k].string()),
                testing_data::read_bytes(src.string()));
    }
  }
}

void set_stage(const fs::path& out, const std::string& stage) {
  nlohmann::json s = nlohmann::json::parse(read_text(out / "state.json"));
  s["stage"] = stage;
  std::ofstream(out / "state.json") << s.dump();
}

TEST(Query, ResumesFromEachCheckpointWithTheSameSelection) {
  Folders f;
  for (const std::string m : {"sraal", "ll4al"}) {  // LL4AL: a module trained with the target
    const fs::path out = f.dir / ("out_" + m);
    QueryConfig q = tiny_query(f, m, 5);
    QueryResult first = run_query(q, out_at(out.string()));
    const std::string csv = read_text(out / "to_label.csv");

    QueryOptions resume = out_at(out.string());
    resume.resume = true;
    // Killed after training: the checkpointed target is loaded, the selection reruns.
    set_stage(out, "trained");
    fs::remove(out / "to_label.csv");
    QueryResult r = run_query(QueryConfig{}, resume);
    EXPECT_FALSE(r.trained) << m;
    EXPECT_TRUE(r.selected) << m;
    EXPECT_EQ(r.paths, first.paths) << m;
    EXPECT_EQ(read_text(out / "to_label.csv"), csv) << m;
    // Killed after the selection was recorded: only its files are rewritten.
    fs::remove(out / "to_label.csv");
    r = run_query(QueryConfig{}, resume);
    EXPECT_FALSE(r.trained || r.selected) << m;
    EXPECT_EQ(read_text(out / "to_label.csv"), csv) << m;
  }
}

TEST(Query, ResumeRefusesOtherSettingsChangedFoldersAndATamperedState) {
  Folders f;
  const fs::path out = f.dir / "out";
  QueryConfig q = tiny_query(f, "random", 3);
  run_query(q, out_at(out.string()));
  QueryOptions resume = out_at(out.string());
  resume.resume = true;

  // The same settings resume; other ones are refused, naming the setting.
  resume.settings_given = true;
  EXPECT_NO_THROW(run_query(q, resume));
  QueryConfig other = q;
  other.budget = 4;
  try {
    run_query(other, resume);
    ADD_FAILURE() << "a different budget resumed";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("budget = 3"), std::string::npos) << e.what();
  }
  resume.settings_given = false;

  // A chosen image out of range.
  const std::string state = read_text(out / "state.json");
  nlohmann::json s = nlohmann::json::parse(state);
  s["chosen"][0] = 99;
  std::ofstream(out / "state.json") << s.dump();
  try {
    run_query(QueryConfig{}, resume);
    ADD_FAILURE() << "a tampered state resumed";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("state.json: corrupt state"), std::string::npos)
        << e.what();
  }
  // An empty state (a truncated write) is corrupt too, not "no state".
  std::ofstream(out / "state.json", std::ios::trunc).close();
  try {
    run_query(QueryConfig{}, resume);
    ADD_FAILURE() << "an empty state resumed";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("state.json: corrupt state: the file is empty"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(out / "state.json") << state;

  // A new unlabeled image: the folders are not those the query started from.
  testing_data::write_png(f.unlabeled + "/new.png", 32, 32, 3,
                          testing_data::solid(32, 32, {1, 2, 3}));
  try {
    run_query(QueryConfig{}, resume);
    ADD_FAILURE() << "a changed folder resumed";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("the folders changed"), std::string::npos) << e.what();
  }
  // Without --resume or --force, an existing query is kept.
  EXPECT_THROW(run_query(q, out_at(out.string())), ValueError);
}

TEST(Query, BadInputFailsBeforeCreatingTheOutput) {
  Folders f;
  const fs::path out = f.dir / "never";
  auto expect_error = [&](QueryConfig q, const std::string& text) {
    try {
      run_query(q, out_at(out.string()));
      ADD_FAILURE() << "no error; expected: " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(out)) << text;
  };
  expect_error(tiny_query(f, "sraal", 15), "--budget 15 exceeds the 14 unlabeled images");
  QueryConfig q = tiny_query(f, "sraal", 2);
  q.unlabeled = f.labeled;  // the labeled images again
  expect_error(q, "both in the labeled folder");
  q = tiny_query(f, "sraal", 2);
  q.labeled = f.dir / "missing";
  expect_error(q, "missing: data directory not found");
  q = tiny_query(f, "qbc", 2);  // segmentation only
  expect_error(q, "qbc");
  q = tiny_query(f, "sraal", 2);
  q.settings.methods = {"sraal", "random"};
  expect_error(q, "exactly one method");
  q = tiny_query(f, "sraal", 0);
  expect_error(q, "--budget must be at least 1");
}

TEST(QueryCli, RunsAndShowsThePresetSettingsInItsHelp) {
  Folders f;
  const std::string out = f.dir / "cli";
  auto r = test::run_sraal("query --labeled " + f.labeled + " --unlabeled " + f.unlabeled +
                           " --budget 3 --method entropy --epochs 1 --width 0.0625 "
                           "--batch-size 8 --export symlink --out " +
                           out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("3 images to label next"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(fs::path(out) / "to_label.csv"));
  // Resumed with only --out and --resume, or with --export changed.
  r = test::run_sraal("query --resume --export copy --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_FALSE(
      fs::is_symlink(fs::symlink_status(*fs::directory_iterator(fs::path(out) / "to_label"))));
  r = test::run_sraal("query --labeled " + f.labeled + " --budget 3");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--unlabeled and --budget are required"), std::string::npos) << r.output;

  r = test::run_sraal("query --preset cpu --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("Settings of the cpu preset"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("20 epochs, batch 32"), std::string::npos) << r.output;
  r = test::run_sraal("run --preset cpu --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("3 trial(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("150 iterations"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace sr
