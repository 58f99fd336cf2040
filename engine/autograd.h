// Reverse-mode automatic differentiation.
//
// Every recorded op makes one Node: it holds edges to the nodes that produced its inputs (or to
// the AccumulateGrad node of a leaf) and a backward function that maps the gradients of its
// outputs to the gradients of its inputs. The backward function captures only what it needs
// (saved tensors are detached, so no node keeps its own output alive) and is destroyed right
// after it runs, so the graph's memory is freed during backward unless retain_graph is set.
//
// backward() runs the nodes in reverse creation order once all their consumers are done;
// gradients arriving at one node from several consumers are summed; leaves accumulate into
// `grad` (existing gradients are added to, never overwritten).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace sr {

struct Edge {
  std::shared_ptr<Node> fn;
  int input_nr = 0;
};

using BackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& grad_outputs)>;

class Node {
 public:
  virtual ~Node() = default;
  // grad_outputs has one entry per output (undefined when that output got no gradient);
  // returns one entry per next edge (undefined: no gradient for that input).
  virtual std::vector<Tensor> apply(const std::vector<Tensor>& grad_outputs) = 0;
  // Frees what backward captured; apply() afterwards throws AutogradError.
  virtual void release() = 0;
  virtual std::string name() const = 0;

  bool needs_input_grad(size_t i) const { return i < next_edges.size() && next_edges[i].fn; }

  std::vector<Edge> next_edges;
  std::vector<Shape> input_shapes;  // to check the shapes backward returns
  int num_outputs = 1;
  uint64_t sequence_nr = 0;
};

// Is gradient recording on for this thread?
bool grad_enabled();
void set_grad_enabled(bool on);

// Turns recording off for its scope (evaluation, optimiser steps, selection).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when recording is on and some input requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Records op `name`: when needs_grad(inputs), makes a node whose backward function is
// `make_backward()` (only called then, so nothing is saved in no-grad code), with edges to
// `inputs`, and makes it the grad_fn of `outputs` (output i gets output_nr i).
template <class MakeBackward>
void record_op(const char* name, const std::vector<Tensor>& inputs,
               const std::vector<Tensor>& outputs, MakeBackward&& make_backward);

// Makes the node of record_op (called only when a gradient is needed).
void attach_node(const char* name, const std::vector<Tensor>& inputs,
                 const std::vector<Tensor>& outputs, BackwardFn backward);

template <class MakeBackward>
void record_op(const char* name, const std::vector<Tensor>& inputs,
               const std::vector<Tensor>& outputs, MakeBackward&& make_backward) {
  if (!needs_grad(inputs)) return;
  attach_node(name, inputs, outputs, BackwardFn(make_backward()));
}

// A tensor to capture in a backward function: same data, no history.
inline Tensor save(const Tensor& t) {
  return t.defined() ? t.detach() : Tensor();
}

// Calls `hook(leaf)` each time backward has accumulated a gradient into `leaf.grad()` (PyTorch's
// register_post_accumulate_grad_hook): the point from which a data-parallel reducer may send
// that gradient while backward goes on (engine/reducer.h). Returns an id for removal.
uint64_t add_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor&)> hook);
void remove_post_accumulate_grad_hook(const Tensor& leaf, uint64_t id);

// Runs backward from `root` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

}  // namespace sr
