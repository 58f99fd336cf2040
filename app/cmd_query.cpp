// `sraal query`: the images of a user's unlabeled folder to label next (sraal/query.h), from a
// folder of labeled class folders, a budget and a method (SRAAL by default), with the target
// and adversarial settings of a classification preset (quick by default) and the overrides
// given.
#include <cstdio>

#include "app/commands.h"
#include "app/training_flags.h"
#include "engine/distributed.h"
#include "sraal/query.h"

namespace sr::app {

Runner add_query(CLI::App& app) {
  struct Args {
    std::string labeled, unlabeled, method = "sraal", preset = "quick", out = "query";
    std::string export_mode = "none";
    int64_t budget = 0, image_size = 0, channels = 3;
    bool resume = false, force = false, sync_bn = false;
  };
  auto a = std::make_shared<Args>();
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::vector<CLI::Option*> settings;
  auto setting = [&](CLI::Option* o) {
    settings.push_back(o);
    return o;
  };
  setting(app.add_option("--labeled", a->labeled,
                         "folder of labeled images, one subfolder per class "
                         "(<class>/*.png|jpg|jpeg; at least 2 classes)"));
  setting(app.add_option("--unlabeled", a->unlabeled,
                         "folder of unlabeled images (.png, .jpg, .jpeg at any depth)"));
  setting(app.add_option("--budget", a->budget, "how many images to choose")
              ->check(integer_in(1, INT64_MAX)));
  setting(
      app.add_option("--method", a->method, "the classification method that chooses (listed below)")
          ->capture_default_str());
  setting(app.add_option("--preset", a->preset,
                         "the target and adversarial settings of this preset: quick | cpu | "
                         "baselines | paper (listed below)")
              ->capture_default_str());
  setting(app.add_option("--image-size", a->image_size,
                         "resize every image to NxN (default: the images' own size, which all "
                         "must share)")
              ->check(integer_in(0, kMaxImageSize)));
  setting(app.add_option("--channels", a->channels, "3 (RGB, gray replicated) or 1 (gray)")
              ->capture_default_str()
              ->check(integer_in(1, 3)));
  auto training = std::make_shared<TrainingFlags>(app);
  CLI::Option* export_opt =
      app.add_option("--export", a->export_mode,
                     "also put the chosen images into --out/to_label/ as <rank>_<name>: none, "
                     "copy or symlink")
          ->check(CLI::IsMember({"none", "copy", "symlink"}))
          ->capture_default_str();
  app.add_option("--out", a->out, "output directory")->capture_default_str();
  app.add_flag("--sync-bn", a->sync_bn,
               "under mpirun: batch-norm statistics over all the processes of the target's "
               "training (else per process, as PyTorch DDP)");
  app.add_flag("--resume", a->resume,
               "continue the query in --out after its last finished stage (trained target, "
               "selection)");
  app.add_flag("--force", a->force, "overwrite a query already in --out");
  app.footer([a] {
    std::string s =
        "Writes to_label.csv (rank,path,score,predicted,confidence), target.safetensors (for "
        "`sraal predict --raw`), manifest.json, run.log and state.json into --out.\n";
    try {
      ExperimentConfig c = preset_config(a->preset);
      c.methods = {a->method};
      s += fmt::format("Settings of the {} preset:\n{}", a->preset, settings_summary(c, false));
    } catch (const ValueError&) {
    }
    return s + methods_help({Task::classification});
  });
  return [a, training, settings, export_opt] {
    SR_CHECK_VALUE(!(a->resume && a->force), "query: --resume and --force exclude each other");
    bool given = training->any_given();
    for (CLI::Option* o : settings) given = given || o->count() > 0;
    SR_CHECK_VALUE(a->resume || (!a->labeled.empty() && !a->unlabeled.empty() && a->budget > 0),
                   "query: --labeled, --unlabeled and --budget are required (or --resume with "
                   "--out of a query)");
    SR_CHECK_VALUE(a->preset.rfind("seg-", 0) != 0,
                   "query: preset {} is for segmentation; class folders need quick, cpu, "
                   "baselines or paper",
                   a->preset);
    QueryConfig q;
    q.labeled = a->labeled, q.unlabeled = a->unlabeled, q.budget = a->budget;
    q.image_size = a->image_size, q.channels = a->channels, q.export_mode = a->export_mode;
    q.settings = preset_config(a->preset);
    q.settings.methods = {a->method};
    q.settings.data = {};  // the folders are the data
    q.settings.data.name = "query";
    training->apply_given(q.settings);
    QueryOptions o;
    o.out_dir = a->out;
    o.resume = a->resume, o.force = a->force;
    o.settings_given = given;
    o.export_given = export_opt->count() > 0;
    o.command_line = command_line();
    o.world = &ProcessGroup::world();
    o.sync_bn = a->sync_bn;
    QueryResult r = run_query(q, o);
    if (o.world->is_root())
      std::printf("query: %zu images to label next in %s/to_label.csv (%.0f s)\n", r.paths.size(),
                  a->out.c_str(), r.seconds);
    return 0;
  };
}

}  // namespace sr::app
