// The backward engine: graph nodes, leaf accumulation and the reverse topological walk.
#include "engine/autograd.h"

#include <atomic>
#include <queue>
#include <unordered_map>

#include "engine/ops.h"

namespace sr {

namespace {

thread_local bool t_grad_enabled = true;
std::atomic<uint64_t> g_next_sequence_nr{0};

// A recorded op: the backward function captured at record time.
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, BackwardFn fn) : name_(name), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    SR_CHECK_T(fn_ != nullptr, AutogradError,
               "backward through '{}' a second time: its saved tensors were freed after the "
               "first backward (pass retain_graph=true to keep them)",
               name_);
    return fn_(grads);
  }
  void release() override { fn_ = nullptr; }
  std::string name() const override { return name_; }

 private:
  const char* name_;
  BackwardFn fn_;
};

// The sink of a leaf that requires grad: adds incoming gradients into leaf.grad.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    if (!g.defined()) return {};
    Tensor leaf(leaf_);
    Tensor cur = leaf.grad();
    if (!cur.defined()) {
      // Take the incoming buffer when nobody else holds it and it has the leaf's layout;
      // otherwise copy it into the leaf's layout.
      bool same_layout = g.strides() == leaf.strides() && g.offset() == 0;
      bool sole_owner = g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1;
      if (same_layout && sole_owner && g.grad_fn() == nullptr) {
        leaf.set_grad(g);
      } else {
        Tensor fresh = leaf.empty_like();
        fresh.copy_(g);
        leaf.set_grad(fresh);
      }
    } else {
      NoGradGuard ng;
      add_(cur, g);
    }
    // A copy: a hook may remove itself (or others) while it runs.
    auto hooks = leaf_->post_accumulate_hooks;
    for (auto& [id, hook] : hooks) hook(leaf);
    return {};
  }
  void release() override {}
  std::string name() const override { return "AccumulateGrad"; }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

Edge gradient_edge(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return Edge{impl->grad_fn, impl->output_nr};
  if (!impl->requires_grad) return Edge{};
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    acc->input_shapes = {t.shape()};
    impl->grad_accumulator = acc;
  }
  return Edge{acc, 0};
}

}  // namespace

uint64_t add_post_accumulate_grad_hook(const Tensor& leaf,
                                       std::function<void(const Tensor&)> hook) {
  check_defined(leaf, "add_post_accumulate_grad_hook", "leaf");
  SR_CHECK_T(leaf.requires_grad() && leaf.grad_fn() == nullptr, AutogradError,
             "add_post_accumulate_grad_hook: {} is not a leaf that requires grad", leaf.str());
  static std::atomic<uint64_t> next_id{1};
  uint64_t id = next_id++;
  leaf.impl()->post_accumulate_hooks.emplace_back(id, std::move(hook));
  return id;
}

void remove_post_accumulate_grad_hook(const Tensor& leaf, uint64_t id) {
  auto& hooks = leaf.impl()->post_accumulate_hooks;
  std::erase_if(hooks, [id](const auto& h) { return h.first == id; });
}

bool grad_enabled() {
  return t_grad_enabled;
}
void set_grad_enabled(bool on) {
  t_grad_enabled = on;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void attach_node(const char* name, const std::vector<Tensor>& inputs,
                 const std::vector<Tensor>& outputs, BackwardFn backward) {
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  node->sequence_nr = g_next_sequence_nr++;
  node->num_outputs = int(outputs.size());
  node->next_edges.reserve(inputs.size());
  node->input_shapes.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    node->next_edges.push_back(t.defined() ? gradient_edge(t) : Edge{});
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    outputs[i].impl()->grad_fn = node;
    outputs[i].impl()->output_nr = int(i);
  }
}

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  check_defined(root, "backward", "root");
  SR_CHECK_T(root.requires_grad(), AutogradError,
             "backward: the tensor {} does not require grad and has no grad_fn", root.str());
  Tensor g0 = grad;
  if (!g0.defined()) {
    SR_CHECK_T(root.numel() == 1, AutogradError,
               "backward: the root {} is not a scalar; pass its gradient explicitly", root.str());
    g0 = Tensor::ones(root.shape(), root.dtype(), root.device());
  }
  SR_CHECK_SHAPE(g0.shape() == root.shape(), "backward: gradient shape {} != root shape {}",
                 shape_str(g0.shape()), shape_str(root.shape()));
  Edge root_edge = gradient_edge(root);

  // Count, for every node reachable from the root, how many edges lead into it.
  std::unordered_map<Node*, int> deps;
  {
    std::vector<Node*> stack{root_edge.fn.get()};
    deps[root_edge.fn.get()] = 0;
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_edges) {
        if (!e.fn) continue;
        auto [it, fresh] = deps.try_emplace(e.fn.get(), 0);
        ++it->second;
        if (fresh) stack.push_back(e.fn.get());
      }
    }
  }

  struct Later {
    bool operator()(const std::shared_ptr<Node>& a, const std::shared_ptr<Node>& b) const {
      return a->sequence_nr < b->sequence_nr;
    }
  };
  std::priority_queue<std::shared_ptr<Node>, std::vector<std::shared_ptr<Node>>, Later> ready;
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  buffers[root_edge.fn.get()].resize(root_edge.fn->num_outputs);
  buffers[root_edge.fn.get()][root_edge.input_nr] = g0;
  ready.push(root_edge.fn);

  NoGradGuard no_grad;
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.top();
    ready.pop();
    std::vector<Tensor> grads = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    grads.resize(node->num_outputs);

    bool any = false;
    for (const Tensor& g : grads) any = any || g.defined();
    std::vector<Tensor> in_grads;
    if (any) in_grads = node->apply(grads);
    if (!retain_graph) node->release();

    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.fn) continue;
      if (i < in_grads.size() && in_grads[i].defined()) {
        const Tensor& g = in_grads[i];
        SR_CHECK_T(g.shape() == node->input_shapes[i], AutogradError,
                   "backward of '{}' returned a gradient of shape {} for input {} of shape {}",
                   node->name(), shape_str(g.shape()), i, shape_str(node->input_shapes[i]));
        auto& buf = buffers[e.fn.get()];
        buf.resize(e.fn->num_outputs);
        Tensor& slot = buf[e.input_nr];
        slot = slot.defined() ? add(slot, g) : g;
      }
      if (--deps[e.fn.get()] == 0) ready.push(e.fn);
    }
  }
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  run_backward(*this, grad, retain_graph);
}

}  // namespace sr
