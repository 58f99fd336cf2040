// Training flags: CLI11 options into an ExperimentConfig (see training_flags.h).
#include "app/training_flags.h"

#include <fmt/ranges.h>

#include "app/validators.h"
#include "engine/error.h"
#include "sraal/strategy.h"

namespace sr::app {

TrainingFlags::TrainingFlags(CLI::App& app) {
  auto field = [&](CLI::Option* o, std::vector<std::string> pointers,
                   std::function<void(ExperimentConfig&)> apply) {
    fields_.push_back({o, std::move(pointers), std::move(apply)});
  };
  field(app.add_option("--method-option", method_options_,
                       "METHOD.KEY=VALUE: an option of one method (listed below); repeatable")
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll),
        {"/method_options"}, [this](ExperimentConfig& c) {
          for (const std::string& o : method_options_) set_method_option(c, o);
        });
  field(app.add_option("--seed", seed_, "seed")->check(seed_value()), {"/seed"},
        [this](ExperimentConfig& c) { c.seed = seed_; });
  field(app.add_option("--device", device_, "cpu | cuda"), {"/device"},
        [this](ExperimentConfig& c) { c.device = device_; });
  field(app.add_option("--epochs", epochs_, "target-model epochs per cycle")
            ->check(integer_in(1, kMaxEpochs)),
        {"/target/epochs"}, [this](ExperimentConfig& c) { c.target.epochs = epochs_; });
  field(app.add_option("--width", width_, "target ResNet-18 width multiplier")
            ->check(number_above(0, 16)),
        {"/target/width"}, [this](ExperimentConfig& c) { c.target.width = width_; });
  field(app.add_option("--lr", lr_, "target model's initial learning rate")
            ->check(number_above(0, 1e30)),
        {"/target/lr"}, [this](ExperimentConfig& c) { c.target.lr = lr_; });
  field(app.add_option("--batch-size", batch_, "target model's batch size")
            ->check(integer_in(2, kMaxBatch)),
        {"/target/batch"}, [this](ExperimentConfig& c) { c.target.batch = batch_; });
  field(app.add_option("--momentum", momentum_, "target model's SGD momentum")
            ->check(number_above(-1e-30, 1)),
        {"/target/momentum"}, [this](ExperimentConfig& c) { c.target.momentum = momentum_; });
  field(app.add_option("--weight-decay", weight_decay_, "target model's weight decay")
            ->check(number_above(-1e-30, 1)),
        {"/target/weight_decay"},
        [this](ExperimentConfig& c) { c.target.weight_decay = weight_decay_; });
  field(app.add_option("--indicator-scaling", scaling_,
                       "SRAAL's indicator: population (SPEC, Var and MINVar over C) | official "
                       "(the released code: Var over C - 1, as torch.var)")
            ->check(CLI::IsMember({"population", "official"})),
        {"/adversarial/scaling"}, [this](ExperimentConfig& c) {
          c.adversarial.scaling =
              scaling_ == "official" ? IndicatorScaling::official : IndicatorScaling::population;
        });
  field(
      app.add_option("--iterations", iterations_, "adversarial iterations per cycle (SRAAL, VAAL)")
          ->check(integer_in(1, kMaxIterations)),
      {"/adversarial/iterations"},
      [this](ExperimentConfig& c) { c.adversarial.iterations = iterations_; });
  field(app.add_option("--lr-decay-every", lr_decay_every_,
                       "adversarial lr x0.85 every N iterations (paper: 666 of 20,000)")
            ->check(integer_in(1, kMaxIterations)),
        {"/adversarial/lr_decay_every"},
        [this](ExperimentConfig& c) { c.adversarial.lr_decay_every = lr_decay_every_; });
}

void TrainingFlags::apply_given(ExperimentConfig& c) const {
  for (const Field& f : fields_)
    if (f.option->count() > 0) f.apply(c);
}

bool TrainingFlags::any_given() const {
  for (const Field& f : fields_)
    if (f.option->count() > 0) return true;
  return false;
}

void set_method_option(ExperimentConfig& c, const std::string& text) {
  size_t dot = text.find('.'), eq = text.find('=');
  SR_CHECK_VALUE(dot != std::string::npos && eq != std::string::npos && dot > 0 && eq > dot + 1,
                 "--method-option wants METHOD.KEY=VALUE (e.g. mc-dropout.passes=20), got '{}'",
                 text);
  std::string method = text.substr(0, dot), key = text.substr(dot + 1, eq - dot - 1);
  std::string value = text.substr(eq + 1);
  nlohmann::json v = nlohmann::json::parse(value, nullptr, false);
  if (v.is_discarded()) v = value;
  c.method_options[method][key] = v;
}

std::string settings_summary(const ExperimentConfig& c, bool protocol) {
  const TargetConfig& t = c.target;
  const AdversarialConfig& a = c.adversarial;
  std::vector<std::string> at;
  for (double m : t.milestones) at.push_back(fmt::format("{:g}%", 100 * m));
  std::string s;
  if (protocol)
    s += fmt::format(
        "  methods {}; data {}, pool {}; labeled {:g}% to {:g}% by {:g}%; {} trial(s); init {}\n",
        fmt::join(c.methods, ","), c.data.name,
        c.pool_size == 0 ? "all" : std::to_string(c.pool_size), 100 * c.initial_fraction,
        100 * c.final_fraction, 100 * c.step_fraction, c.trials, c.init);
  const std::string schedule = t.poly_power > 0
                                   ? fmt::format("poly decay, power {}", t.poly_power)
                                   : fmt::format("/10 at {} of the epochs", fmt::join(at, ", "));
  s += fmt::format(
      "  target: {} width {}, {} epochs, batch {}, lr {} ({}), momentum {}, weight decay {}\n",
      t.arch, t.width, t.epochs, t.batch, t.lr, schedule, t.momentum, t.weight_decay);
  s += fmt::format(
      "  adversarial (sraal, vaal): {} iterations, batch {}, z {}, encoder base width {}, "
      "discriminator {} x {}, lr {} (x{} every {})\n",
      a.iterations, a.batch, a.z_dim, a.base_width, a.disc_depth, a.disc_width, a.lr, a.lr_decay,
      a.lr_decay_every);
  s += fmt::format("  seed {}, device {}\n", c.seed, c.device);
  return s;
}

std::string methods_help(const std::vector<Task>& tasks) {
  std::string s;
  for (Task t : tasks) {
    s += fmt::format("{} methods and their options (--method-option METHOD.KEY=VALUE):\n",
                     t == Task::classification ? "Classification" : "Segmentation");
    for (const std::string& m : strategy_names(t)) {
      const StrategyInfo& info = strategy_info(m, t);
      s += fmt::format("  {:<20} {}\n", m, info.summary);
      for (const auto& [k, v] : info.defaults.items())
        s += fmt::format("  {:<20}   {}.{} (default {})\n", "", m, k, v.dump());
    }
  }
  return s;
}

}  // namespace sr::app
