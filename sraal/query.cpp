// One round of active learning on a user's folders, its checkpoints and files (see query.h).
#include "sraal/query.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "data/image_file_dataset.h"
#include "data/image_folder.h"
#include "engine/atomic_file.h"
#include "engine/backend.h"
#include "engine/distributed.h"
#include "engine/random.h"
#include "engine/serialize.h"
#include "layers/layers.h"
#include "layers/model_zoo.h"
#include "sraal/output_dir.h"
#include "sraal/progress.h"
#include "sraal/run_files.h"
#include "sraal/strategy.h"
#include "sraal/target_setup.h"

namespace sr {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kStateFormat = 1;
enum class Stage { started, trained, selected };
NLOHMANN_JSON_SERIALIZE_ENUM(Stage, {{Stage::started, "started"},
                                     {Stage::trained, "trained"},
                                     {Stage::selected, "selected"}})

// What the query saw of its folders: every file's path, label, size and modification time.
// Hashing those, not the pixels, keeps a resume of a large folder instant.
std::string inputs_fingerprint(const ImageFileDataset& ds) {
  uint64_t h = kFnvBasis;
  for (int64_t i = 0; i < ds.size(); ++i) {
    struct stat st {};
    const std::string& p = ds.path(i);
    SR_CHECK_IO(::stat(p.c_str(), &st) == 0, "{}: cannot read the file's status", p);
    h = fnv1a(h, fmt::format("{}\n{}\n{}\n{}.{}\n", p, ds.label(i), int64_t(st.st_size),
                             int64_t(st.st_mtim.tv_sec), int64_t(st.st_mtim.tv_nsec)));
  }
  return fmt::format("{:016x}", h);
}

// The state's structure, checked before anything is trusted.
struct QueryState {
  json config;
  int64_t labeled_items = 0, unlabeled_items = 0;
  std::string fingerprint;
  Stage stage = Stage::started;
  std::vector<int64_t> chosen;  // positions in the unlabeled list, best first
  std::vector<double> scores;

  json to_json() const {
    return {{"format", kStateFormat},
            {"config", config},
            {"labeled_items", labeled_items},
            {"unlabeled_items", unlabeled_items},
            {"fingerprint", fingerprint},
            {"stage", stage},
            {"chosen", chosen},
            {"scores", scores}};
  }
  static QueryState from_json(const json& j) {
    SR_CHECK_VALUE(j.is_object() && j.value("format", 0) == kStateFormat,
                   "not a query state of format {}", kStateFormat);
    QueryState s;
    s.config = j.at("config");
    s.labeled_items = j.at("labeled_items").get<int64_t>();
    s.unlabeled_items = j.at("unlabeled_items").get<int64_t>();
    s.fingerprint = j.at("fingerprint").get<std::string>();
    s.stage = j.at("stage").get<Stage>();
    SR_CHECK_VALUE(j.at("stage") == json(s.stage), "unknown stage {}", j.at("stage").dump());
    s.chosen = j.at("chosen").get<std::vector<int64_t>>();
    s.scores = j.at("scores").get<std::vector<double>>();
    return s;
  }
};

class QueryRunner {
 public:
  QueryRunner(QueryConfig cfg, QueryOptions opt)
      : cfg_(std::move(cfg)),
        opt_(std::move(opt)),
        world_(opt_.world ? *opt_.world : ProcessGroup::self()),
        root_(world_.is_root()) {}

  QueryResult run() {
    const double t0 = now_seconds();
    // Rank 0 alone locks, reads and writes the output directory (as sraal run's rank 0).
    if (root_) {
      out_ = std::make_unique<OutputDirectory>(opt_.out_dir, opt_.resume);
      out_->start_with([this] { start(); });
    } else {
      start();
    }
    Progress progress{
        EtaModel({{method(), double(cfg_.settings.target.epochs * labeled_count()), true}})};
    if (root_)
      progress.open_log(path("run.log"));
    else
      progress.silence();
    progress_ = &progress;
    progress.log(fmt::format(
        "query {}: {} labeled images in {} classes ({}), {} unlabeled ({}); "
        "{} chooses {}; {}x{}, device {}",
        opt_.out_dir, labeled_count(), info().num_classes, cfg_.labeled, data_.unlabeled.size(),
        cfg_.unlabeled, method(), cfg_.budget, info().height, info().width, cfg_.settings.device));

    QueryResult r;
    auto target = make_target();
    if (state_.stage == Stage::started) {
      train_target(*target);
      r.trained = true;
    } else {
      restore_target(*target);
    }
    if (state_.stage == Stage::trained) {
      select(*target);
      r.selected = true;
    } else {
      progress.log(
          fmt::format("the selection was finished by an earlier process; rewriting its "
                      "files"));
    }
    if (root_) write_outputs(*target);
    for (int64_t k : state_.chosen) r.paths.push_back(path_of(k));
    r.scores = state_.scores;
    r.seconds = now_seconds() - t0;
    if (root_) write_manifest(r.seconds);
    progress.log(fmt::format("done in {:.0f} s: the {} images to label next are in {}", r.seconds,
                             cfg_.budget, path("to_label.csv")));
    return r;
  }

 private:
  const std::string& method() const { return cfg_.settings.methods.front(); }
  const DatasetInfo& info() const { return data_.data->info(); }
  int64_t labeled_count() const { return int64_t(data_.labeled.size()); }
  const std::string& path_of(int64_t k) const {
    return data_.data->path(data_.unlabeled[size_t(k)]);
  }
  std::string path(const std::string& name) const {
    return (fs::path(opt_.out_dir) / name).string();
  }

  // State or configuration, the folders, the checks; the manifest is the first file written.
  // Rank 0 reads the directory and sends the state it holds to the others; only rank 0 writes.
  void start() {
    std::vector<uint8_t> state_text;
    if (root_ && opt_.resume && has_state()) state_text = read_state_text();
    world_.broadcast(state_text);
    const bool resuming = !state_text.empty();
    if (resuming) load_state(state_text);
    validate_query(cfg_);  // before anything is written or deleted
    SR_CHECK_VALUE(world_.size() == 1 || parse_device(cfg_.settings.device) == Device::cpu,
                   "query: --device {} over {} processes needs NCCL, which this build does not "
                   "use yet; run on the CPU or in one process",
                   cfg_.settings.device, world_.size());
    if (!resuming && root_) prepare_fresh_output();
    device_ = parse_device(cfg_.settings.device);
    data_ = load_query_folders(cfg_.labeled, cfg_.unlabeled, cfg_.image_size, cfg_.channels);
    const int64_t n = int64_t(data_.unlabeled.size());
    SR_CHECK_VALUE(cfg_.budget <= n, "query: --budget {} exceeds the {} unlabeled images in {}",
                   cfg_.budget, n, cfg_.unlabeled);
    const std::string fp = inputs_fingerprint(*data_.data);
    if (world_.size() > 1)
      world_.check_same(fnv1a(kFnvBasis, fp),
                        "the labeled and unlabeled folders (their files, sizes and times)");
    if (resuming) {
      SR_CHECK_IO(state_.fingerprint == fp && state_.labeled_items == labeled_count() &&
                      state_.unlabeled_items == n,
                  "{}: the folders changed since the query started ({} labeled and {} unlabeled "
                  "images then, {} and {} now, or files replaced); start a new query with "
                  "--force or another --out",
                  path("state.json"), state_.labeled_items, state_.unlabeled_items, labeled_count(),
                  n);
      check_state_content();
    } else {
      state_.config = to_json(cfg_);
      state_.labeled_items = labeled_count(), state_.unlabeled_items = n;
      state_.fingerprint = fp;
      save_state();
    }
    write_manifest();
  }

  bool has_state() const { return out_->has_file("state.json"); }

  std::vector<uint8_t> read_state_text() const {
    const std::string file = path("state.json");
    std::ifstream in(file, std::ios::binary);
    SR_CHECK_IO(in.good(), "{}: cannot open", file);
    std::vector<uint8_t> text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    SR_CHECK_IO(!text.empty(), "{}: corrupt state: the file is empty", file);  // not "no state"
    return text;
  }

  void load_state(const std::vector<uint8_t>& text) {
    const std::string file = path("state.json");
    QueryConfig was;
    try {
      state_ = QueryState::from_json(json::parse(text.begin(), text.end()));
      was = query_config_from_json(state_.config);
    } catch (const std::exception& e) {
      throw IOError(fmt::format("{}: corrupt state: {}", file, e.what()));
    }
    // A resumed query keeps its settings: options given with --resume must be its own.
    if (opt_.settings_given) {
      const json asked = to_json(cfg_), had = to_json(was);
      for (const auto& [key, value] : had.items())
        SR_CHECK_VALUE(key == "export" || asked.value(key, json()) == value,
                       "query --resume: the query in {} has {} = {}, the options ask for {}; give "
                       "the same options, or only --out and --resume",
                       opt_.out_dir, key, value.dump(), asked.value(key, json()).dump());
    }
    if (opt_.export_given) was.export_mode = cfg_.export_mode;
    cfg_ = was;
    state_.config = to_json(cfg_);
  }

  // The checkpoint the state names is there, and a tampered selection is refused rather than
  // written out.
  void check_state_content() const {
    const std::string file = path("state.json");
    if (state_.stage == Stage::started) return;
    SR_CHECK_IO(!root_ || out_->has_file("target.safetensors"),
                "{}: missing; the state says the target was trained", path("target.safetensors"));
    if (state_.stage != Stage::selected) return;
    std::set<int64_t> seen;
    for (int64_t k : state_.chosen)
      SR_CHECK_IO(k >= 0 && k < state_.unlabeled_items && seen.insert(k).second,
                  "{}: corrupt state: chosen image {} repeated or out of range", file, k);
    SR_CHECK_IO(int64_t(state_.chosen.size()) == cfg_.budget &&
                    (state_.scores.empty() || state_.scores.size() == state_.chosen.size()),
                "{}: corrupt state: {} chosen images and {} scores for a budget of {}", file,
                state_.chosen.size(), state_.scores.size(), cfg_.budget);
  }

  static constexpr const char* kOutputs[] = {"state.json",         "to_label.csv",
                                             "manifest.json",      "run.log",
                                             "target.safetensors", "joint.safetensors"};

  void prepare_fresh_output() {
    const fs::path dir(opt_.out_dir);
    const bool has_query = fs::exists(fs::symlink_status(dir / "state.json")) ||
                           fs::exists(fs::symlink_status(dir / "to_label.csv"));
    SR_CHECK_VALUE(!has_query || !opt_.resume,
                   "{} holds a query's files but no state.json to resume it from; use --force "
                   "to overwrite them or another --out",
                   opt_.out_dir);
    SR_CHECK_VALUE(!has_query || opt_.force,
                   "{} already holds a query; use --resume to continue it or --force to "
                   "overwrite it",
                   opt_.out_dir);
    out_->remove({std::begin(kOutputs), std::end(kOutputs)}, {"to_label", "logs"});
  }

  void save_state() const {
    if (root_) write_file_atomic(path("state.json"), state_.to_json().dump() + "\n");
  }

  std::shared_ptr<Module> make_target() {
    strategy_ = make_strategy(method(), cfg_.settings.method_options.value(method(), json()),
                              cfg_.settings.adversarial);
    spec_ = target_spec(cfg_.settings.target, info(), strategy_->target_requirements().dropout);
    const uint64_t seed = derive_seed(cfg_.settings.seed, 1);
    Generator init(seed);
    auto m = build_model(spec_, init, std::make_shared<Generator>(derive_seed(seed, 1)));
    m->to(device_);
    if (opt_.sync_bn && world_.size() > 1) synchronise_batch_norm(*m, world_.duplicate());
    joint_ = strategy_->joint_objective(*m, derive_seed(seed, 3));
    return m;
  }

  void train_target(Module& target) {
    ClassifierTrainOptions o =
        target_train_options(cfg_.settings.target, info(), device_, cfg_.settings.loader_workers);
    o.seed = derive_seed(derive_seed(cfg_.settings.seed, 1), 2);
    o.joint = joint_;
    o.group = &world_;  // data-parallel over the job's processes
    progress_->set_context(
        fmt::format("training the target on {} labeled images", labeled_count()));
    o.on_epoch = [&](const EpochReport& r) {
      progress_->model().training_progress(0, double(r.epoch) / double(r.epochs));
      progress_->detail(
          fmt::format("epoch (loss {:.3f}, lr {}, {:.0f} img/s)", r.loss, r.lr, r.images_per_sec),
          r.epoch, r.epochs);
    };
    const double t = now_seconds();
    TrainResult tr = train_classifier(target, *data_.data, data_.labeled, o);
    progress_->model().trained(0, now_seconds() - t);
    EvalResult fit = evaluate_classifier(target, *data_.data, data_.labeled, 256, device_, &world_);
    progress_->log(
        fmt::format("target trained in {:.1f} s: final loss {:.4f}, accuracy on the "
                    "labeled images {:.2f}%",
                    tr.seconds, tr.final_loss, 100 * fit.accuracy));
    if (root_) save_target(target);
    state_.stage = Stage::trained;
    save_state();
  }

  // The checkpoint: the target with its preprocessing (usable by `sraal predict --raw`), and
  // the parameters of a module trained with it (LL4AL's loss prediction), in that order.
  void save_target(Module& target) {
    target.to(Device::cpu);
    Preprocess pre{info().name,
                   info().channels,
                   info().height,
                   info().width,
                   data_.data->norm_mean(),
                   data_.data->norm_std(),
                   info().class_names,
                   false};
    save_model(path("target.safetensors"), target, spec_, pre);
    target.to(device_);
    if (!joint_) return;
    NamedTensors params;
    std::vector<Tensor> ps = joint_->parameters();
    for (size_t k = 0; k < ps.size(); ++k)
      params.emplace_back(fmt::format("p{}", k), ps[k].to(Device::cpu));
    save_safetensors(path("joint.safetensors"), params);
  }

  // Rank 0 reads the checkpoint and sends the weights (parameters and buffers, the joint
  // module's too) to the others.
  void restore_target(Module& target) {
    if (root_) read_target(target);
    if (world_.size() == 1) return;
    std::vector<Tensor> all = joint_ ? joint_->parameters() : std::vector<Tensor>{};
    for (auto& [name, t] : target.named_parameters()) all.push_back(t);
    for (auto& [name, t] : target.named_buffers()) all.push_back(t);
    for (Tensor& t : all) world_.broadcast(t);
  }

  void read_target(Module& target) {
    const std::string file = path("target.safetensors");  // checked at start
    target.to(Device::cpu);
    load_weights(target, read_model_file(file), file);
    target.to(device_);
    if (joint_) {
      const std::string jfile = path("joint.safetensors");
      SafetensorsFile f = load_safetensors(jfile);
      std::vector<Tensor> ps = joint_->parameters();
      SR_CHECK_IO(f.tensors.size() == ps.size(), "{}: {} tensors, the method has {} parameters",
                  jfile, f.tensors.size(), ps.size());
      for (size_t k = 0; k < ps.size(); ++k) {
        SR_CHECK_IO(f.tensors[k].first == fmt::format("p{}", k) &&
                        f.tensors[k].second.shape() == ps[k].shape(),
                    "{}: tensor {} does not fit the method's parameter {}", jfile,
                    f.tensors[k].first, k);
        ps[k].copy_(f.tensors[k].second);
      }
    }
    progress_->log(fmt::format("the target trained by an earlier process: {}", file));
  }

  void select(Module& target) {
    progress_->set_context(fmt::format("{} choosing {} of {} unlabeled images", method(),
                                       cfg_.budget, data_.unlabeled.size()));
    std::vector<double> scores;
    std::string logs;
    SelectionInput in{
        *data_.data,
        data_.labeled,
        data_.unlabeled,
        target,
        cfg_.budget,
        derive_seed(derive_seed(cfg_.settings.seed, name_tag(method())), 2),
        device_,
        [&](const std::string& w, int64_t d, int64_t n) { progress_->detail(w, d, n); },
        [&](const std::string& name, const std::string& csv) {
          if (!root_) return;
          fs::create_directories(path("logs"));
          write_file_atomic((fs::path(path("logs")) / (name + ".csv")).string(), csv);
        },
        {},  // no committee: QBC and SA serve segmentation
        &scores,
        &world_};  // the scoring sharded over the job's processes
    const double t = now_seconds();
    std::vector<int64_t> chosen = strategy_->select(in);
    if (world_.size() > 1) {
      std::string bytes(reinterpret_cast<const char*>(chosen.data()),
                        chosen.size() * sizeof(int64_t));
      world_.check_same(fnv1a(kFnvBasis, bytes), fmt::format("the images {} chose", method()));
    }
    // Dataset indices to positions in the unlabeled list (which start at the labeled count).
    std::set<int64_t> seen;
    state_.chosen.clear();
    for (int64_t i : chosen) {
      const int64_t k = i - labeled_count();
      SR_CHECK(k >= 0 && k < int64_t(data_.unlabeled.size()) && seen.insert(k).second,
               "method {} chose item {} twice or outside the unlabeled images", method(), i);
      state_.chosen.push_back(k);
    }
    SR_CHECK(int64_t(state_.chosen.size()) == cfg_.budget,
             "method {} chose {} images instead of {}", method(), state_.chosen.size(),
             cfg_.budget);
    state_.scores = scores.size() == chosen.size() ? scores : std::vector<double>{};
    progress_->model().selected(0, now_seconds() - t);
    progress_->log(
        fmt::format("{} chose {} images in {:.1f} s", method(), cfg_.budget, now_seconds() - t));
    state_.stage = Stage::selected;
    save_state();  // before any file of the selection: a crash rewrites them on resume
  }

  // to_label.csv and the export, from the state's selection.
  void write_outputs(Module& target) {
    std::vector<int64_t> items;
    for (int64_t k : state_.chosen) items.push_back(data_.unlabeled[size_t(k)]);
    Tensor probs = predict_probabilities(target, *data_.data, items, 256, device_);
    const std::vector<float> p = probs.to_vector();
    const int64_t C = info().num_classes;
    std::string csv = "rank,path,score,predicted,confidence\n";
    for (size_t r = 0; r < items.size(); ++r) {
      const float* row = p.data() + r * size_t(C);
      const int64_t best = int64_t(std::max_element(row, row + C) - row);
      csv += fmt::format("{},{},{},{},{:.6f}\n", r + 1, csv_field(path_of(state_.chosen[r])),
                         state_.scores.empty() ? "" : fmt::format("{:.9g}", state_.scores[r]),
                         csv_field(info().class_names[size_t(best)]), row[best]);
    }
    write_file_atomic(path("to_label.csv"), csv);
    if (cfg_.export_mode != "none") export_images();
  }

  // to_label/<rank>_<file name>: copies or symbolic links to the chosen images. The folder is
  // rebuilt, so that it holds exactly this selection.
  void export_images() {
    const fs::path dir = path("to_label");
    if (fs::is_symlink(fs::symlink_status(dir))) fs::remove(dir);
    fs::remove_all(dir);
    fs::create_directory(dir);
    const int digits = int(std::to_string(state_.chosen.size()).size());
    for (size_t r = 0; r < state_.chosen.size(); ++r) {
      const fs::path src = fs::absolute(path_of(state_.chosen[r]));
      const fs::path dst = dir / fmt::format("{:0{}}_{}", r + 1, digits, src.filename().string());
      std::error_code ec;
      if (cfg_.export_mode == "copy")
        fs::copy_file(src, dst, ec);
      else
        fs::create_symlink(src, dst, ec);
      SR_CHECK_IO(!ec, "{}: cannot {} {} there: {}", dst.string(),
                  cfg_.export_mode == "copy" ? "copy" : "link", src.string(), ec.message());
    }
  }

  void write_manifest(double finished = 0) const {
    if (!root_) return;
    json m = manifest_header(started_, finished, opt_.command_line);
    m["query"] = to_json(cfg_);
    m["inputs"] = {{"labeled_items", labeled_count()}, {"unlabeled_items", data_.unlabeled.size()},
                   {"classes", info().class_names},    {"image_height", info().height},
                   {"image_width", info().width},      {"fingerprint", state_.fingerprint}};
    write_file_atomic(path("manifest.json"), m.dump(2) + "\n");
  }

  QueryConfig cfg_;
  QueryOptions opt_;
  const ProcessGroup& world_;
  const bool root_;
  std::unique_ptr<OutputDirectory> out_;  // rank 0's
  QueryFolders data_;
  QueryState state_;
  Device device_ = Device::cpu;
  ModelSpec spec_;
  std::unique_ptr<Strategy> strategy_;
  std::shared_ptr<JointObjective> joint_;
  Progress* progress_ = nullptr;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
};

}  // namespace

void validate_query(const QueryConfig& q) {
  const ExperimentConfig& s = q.settings;
  SR_CHECK_VALUE(s.methods.size() == 1, "query: give exactly one method, got {}",
                 fmt::join(s.methods, ","));
  SR_CHECK_VALUE(s.task == Task::classification,
                 "query: class folders make a classification task; the settings are for {}",
                 task_name(s.task));
  validate_options(s);
  SR_CHECK_VALUE(!q.labeled.empty() && !q.unlabeled.empty(),
                 "query: --labeled and --unlabeled are both required");
  SR_CHECK_VALUE(q.budget >= 1, "query: --budget must be at least 1, got {}", q.budget);
  SR_CHECK_VALUE(q.image_size >= 0 && q.image_size <= 4096,
                 "query: --image-size must be in [0, 4096], got {}", q.image_size);
  SR_CHECK_VALUE(q.channels == 1 || q.channels == 3, "query: --channels must be 1 or 3, got {}",
                 q.channels);
  SR_CHECK_VALUE(q.export_mode == "none" || q.export_mode == "copy" || q.export_mode == "symlink",
                 "query: --export must be none, copy or symlink, got '{}'", q.export_mode);
}

json to_json(const QueryConfig& q) {
  return {{"labeled", q.labeled},           {"unlabeled", q.unlabeled}, {"budget", q.budget},
          {"image_size", q.image_size},     {"channels", q.channels},   {"export", q.export_mode},
          {"settings", to_json(q.settings)}};
}

QueryConfig query_config_from_json(const json& j) {
  QueryConfig q;
  try {
    q.labeled = j.at("labeled").get<std::string>();
    q.unlabeled = j.at("unlabeled").get<std::string>();
    q.budget = j.at("budget").get<int64_t>();
    q.image_size = j.at("image_size").get<int64_t>();
    q.channels = j.at("channels").get<int64_t>();
    q.export_mode = j.at("export").get<std::string>();
    q.settings = config_from_json(j.at("settings"));
  } catch (const json::exception& e) {
    throw ValueError(fmt::format("query configuration: {}", e.what()));
  }
  return q;
}

QueryResult run_query(const QueryConfig& config, const QueryOptions& options) {
  return QueryRunner(config, options).run();
}

}  // namespace sr
