// The only file that includes pybind11: converts numpy arrays and Python
// values into views and configs, releases the GIL around the C++ work, and
// turns C++ errors into Python exceptions (std::invalid_argument -> ValueError).
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/simd.hpp"
#include "core/types.hpp"
#include "kernels/gemm.hpp"
#include "model/network.hpp"
#include "model/objective.hpp"
#include "model/optimizer.hpp"
#include "model/rbm.hpp"
#include "model/trainer.hpp"

namespace py = pybind11;
using namespace nc;

namespace {

template <class T>
using Arr = py::array_t<T, py::array::c_style>;

template <class T>
Arr<T> as_array(const py::handle& o, const char* what) {
  if (!py::isinstance<py::array>(o))
    throw std::invalid_argument(std::string(what) + " must be a numpy array");
  auto a = py::reinterpret_borrow<py::array>(o);
  if (!py::dtype::of<T>().is(a.dtype()) && !a.dtype().equal(py::dtype::of<T>()))
    throw std::invalid_argument(std::string(what) + " has the wrong dtype");
  if (!(a.flags() & py::array::c_style))
    throw std::invalid_argument(std::string(what) + " must be C-contiguous");
  return py::reinterpret_borrow<Arr<T>>(a);
}

template <class T>
T* mutable_ptr(const py::handle& o, int64_t expect, const char* what) {
  if (o.is_none()) return nullptr;
  Arr<T> a = as_array<T>(o, what);
  if (!a.writeable()) throw std::invalid_argument(std::string(what) + " is read-only");
  if (a.size() != expect)
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(a.size()) +
                                " elements, expected " + std::to_string(expect));
  return a.mutable_data();
}

template <class T>
const T* const_ptr(const py::handle& o, int64_t expect, const char* what) {
  if (o.is_none()) return nullptr;
  Arr<T> a = as_array<T>(o, what);
  if (a.size() != expect)
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(a.size()) +
                                " elements, expected " + std::to_string(expect));
  return a.data();
}

// X is a C-contiguous 2-d array, or a tuple (data, indices, indptr, n_rows,
// n_cols) describing a CSR matrix with int64 indices. Checked in full: the
// kernels trust what passes.
template <class T>
InputView<T> input_view(const py::handle& X, int64_t n_cols) {
  InputView<T> v;
  if (py::isinstance<py::tuple>(X)) {
    auto t = py::reinterpret_borrow<py::tuple>(X);
    if (t.size() != 5) throw std::invalid_argument("a CSR input is (data, indices, indptr, n_rows, n_cols)");
    v.n_rows = t[3].cast<int64_t>();
    v.n_cols = t[4].cast<int64_t>();
    if (v.n_rows < 0) throw std::invalid_argument("negative number of rows");
    Arr<int64_t> indptr = as_array<int64_t>(t[2], "indptr");
    if (indptr.size() != v.n_rows + 1) throw std::invalid_argument("indptr has the wrong length");
    const int64_t* ip = indptr.data();
    if (ip[0] != 0) throw std::invalid_argument("indptr must start at 0");
    for (int64_t i = 0; i < v.n_rows; ++i)
      if (ip[i + 1] < ip[i]) throw std::invalid_argument("indptr must be non-decreasing");
    const int64_t nnz = ip[v.n_rows];
    Arr<int64_t> indices = as_array<int64_t>(t[1], "indices");
    Arr<T> data = as_array<T>(t[0], "data");
    if (indices.size() < nnz || data.size() < nnz)
      throw std::invalid_argument("CSR data/indices shorter than indptr says");
    const int64_t* ix = indices.data();
    for (int64_t p = 0; p < nnz; ++p)
      if (ix[p] < 0 || ix[p] >= v.n_cols) throw std::invalid_argument("CSR column index out of range");
    v.data = data.data();
    v.indices = ix;
    v.indptr = ip;
  } else {
    Arr<T> a = as_array<T>(X, "X");
    if (a.ndim() != 2) throw std::invalid_argument("X must be 2-dimensional");
    v.n_rows = a.shape(0);
    v.n_cols = a.shape(1);
    v.dense = a.data();
  }
  if (v.n_cols != n_cols)
    throw std::invalid_argument("X has " + std::to_string(v.n_cols) + " features, but the network expects " +
                                std::to_string(n_cols));
  return v;
}

const int64_t* index_ptr(const py::handle& o, int64_t* n, int64_t bound, const char* what) {
  Arr<int64_t> a = as_array<int64_t>(o, what);
  *n = a.size();
  const int64_t* p = a.data();
  for (int64_t i = 0; i < *n; ++i)
    if (p[i] < 0 || p[i] >= bound) throw std::invalid_argument(std::string(what) + " out of range");
  return p;
}

void check_signals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

int resolve_threads(int n) { return n <= 0 ? hardware_threads() : n; }

template <class V>
V get_or(const py::dict& d, const char* key, V fallback) {
  return d.contains(key) && !d[key].is_none() ? d[key].cast<V>() : fallback;
}

// A layer dict as the estimators send it, {"type": "dense", "units": 20,
// "activation": "relu", ...}, as a LayerConfig: None means "the default";
// what each option means is the layer's business (layers/registry.hpp).
LayerConfig parse_layer(const py::dict& d) {
  LayerConfig c;
  c.type = get_or<std::string>(d, "type", "dense");
  for (const auto& kv : d) {
    const std::string key = kv.first.cast<std::string>();
    const py::handle v = kv.second;
    if (key == "type" || v.is_none()) continue;
    if (py::isinstance<py::bool_>(v)) c.set(key, v.cast<bool>());
    else if (py::isinstance<py::int_>(v)) c.set(key, v.cast<int64_t>());
    else if (py::isinstance<py::float_>(v)) c.set(key, v.cast<double>());
    else if (py::isinstance<py::str>(v)) c.set(key, v.cast<std::string>());
    else if (py::isinstance<py::tuple>(v) || py::isinstance<py::list>(v)) c.set(key, v.cast<std::vector<int64_t>>());
    else
      throw std::invalid_argument("option '" + key + "' of layer '" + c.type + "' has an unsupported type");
  }
  return c;
}

// A per-sample shape: an int (features) or a tuple of ints.
Shape parse_shape(const py::handle& o) {
  if (py::isinstance<py::int_>(o)) return Shape{o.cast<int64_t>()};
  return Shape(o.cast<std::vector<int64_t>>());
}

py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.dims.size());
  for (size_t i = 0; i < s.dims.size(); ++i) t[i] = s.dims[i];
  return t;
}

// {"kind": "categorical_accuracy" | "binary_accuracy" | "loss", "threshold": 0.5,
//  "loss": name, "from_logits": False, "delta": 1.0}
std::vector<MetricSpec> parse_metrics(const py::object& o) {
  std::vector<MetricSpec> out;
  if (o.is_none()) return out;
  for (const auto& item : o.cast<py::list>()) {
    const py::dict d = py::reinterpret_borrow<py::dict>(item);
    MetricSpec m;
    const std::string kind = get_or<std::string>(d, "kind", "loss");
    if (kind == "categorical_accuracy") m.kind = MetricSpec::CategoricalAccuracy;
    else if (kind == "binary_accuracy") m.kind = MetricSpec::BinaryAccuracy;
    else if (kind == "loss") m.kind = MetricSpec::LossMetric;
    else throw std::invalid_argument("unknown metric kind '" + kind + "'");
    m.threshold = get_or<double>(d, "threshold", 0.5);
    if (m.kind == MetricSpec::LossMetric) {
      m.loss.kind = parse_loss(get_or<std::string>(d, "loss", ""));
      m.loss.from_logits = get_or<bool>(d, "from_logits", false);
      m.loss.delta = get_or<double>(d, "delta", 1.0);
    }
    out.push_back(m);
  }
  return out;
}

TrainConfig parse_config(const py::dict& d) {
  TrainConfig c;
  c.opt.kind = parse_optimizer(d["optimizer"].cast<std::string>());
  const std::string sched = get_or<std::string>(d, "learning_rate", "constant");
  if (sched == "constant") c.schedule = Schedule::Constant;
  else if (sched == "invscaling") c.schedule = Schedule::InvScaling;
  else if (sched == "adaptive") c.schedule = Schedule::Adaptive;
  else throw std::invalid_argument("unknown learning_rate schedule '" + sched + "'");
  c.lr_init = d["learning_rate_init"].cast<double>();
  c.power_t = get_or<double>(d, "power_t", 0.5);
  c.lr_decay = get_or<double>(d, "decay", 0.0);
  if (d.contains("schedule") && !d["schedule"].is_none()) {
    const py::dict sd = d["schedule"].cast<py::dict>();
    LRSchedule& s = c.lr_schedule;
    s.kind = parse_schedule(get_or<std::string>(sd, "kind", "none"));
    s.initial = get_or<double>(sd, "initial_learning_rate", c.lr_init);
    s.decay_steps = get_or<double>(sd, "decay_steps", 1.0);
    s.decay_rate = get_or<double>(sd, "decay_rate", 0.5);
    s.staircase = get_or<bool>(sd, "staircase", false);
    s.alpha = get_or<double>(sd, "alpha", 0.0);
    s.boundaries = get_or<std::vector<double>>(sd, "boundaries", {});
    s.values = get_or<std::vector<double>>(sd, "values", {});
    s.validate();
  }
  c.opt.momentum = get_or<double>(d, "momentum", 0.0);
  c.opt.nesterov = get_or<bool>(d, "nesterov", false);
  c.opt.rho = get_or<double>(d, "rho", 0.9);
  c.opt.centered = get_or<bool>(d, "centered", false);
  c.opt.beta1 = get_or<double>(d, "beta_1", 0.9);
  c.opt.beta2 = get_or<double>(d, "beta_2", 0.999);
  c.opt.epsilon = get_or<double>(d, "epsilon", 1e-7);
  c.opt.amsgrad = get_or<bool>(d, "amsgrad", false);
  c.opt.weight_decay = get_or<double>(d, "weight_decay", 0.0);
  c.opt.clipnorm = get_or<double>(d, "clipnorm", 0.0);
  c.opt.clipvalue = get_or<double>(d, "clipvalue", 0.0);
  c.opt.global_clipnorm = get_or<double>(d, "global_clipnorm", 0.0);
  c.alpha = d["alpha"].cast<double>();
  c.tol = d["tol"].cast<double>();
  c.n_iter_no_change = d["n_iter_no_change"].cast<double>();
  c.shuffle = d["shuffle"].cast<bool>();
  c.early_stopping = d["early_stopping"].cast<bool>();
  c.incremental = d["incremental"].cast<bool>();
  c.fresh_order = get_or<bool>(d, "fresh_order", false);
  c.batch_size = d["batch_size"].cast<int64_t>();
  c.max_iter = d["max_iter"].cast<int64_t>();
  c.threads = resolve_threads(d["n_threads"].cast<int>());
  c.classifier = d["classifier"].cast<bool>();
  c.report_scale = d["report_scale"].cast<double>();
  c.penalty_per_sample = get_or<bool>(d, "penalty_per_sample", false);
  c.keras_weighting = get_or<bool>(d, "keras_weighting", false);
  c.accuracy_argmax = get_or<int>(d, "accuracy_argmax", -1);
  c.accuracy_threshold = get_or<double>(d, "accuracy_threshold", 0.5);
  c.validate = get_or<bool>(d, "validate", false);
  c.metrics = parse_metrics(d.contains("metrics") ? py::object(d["metrics"]) : py::object(py::none()));
  if (c.batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
  if (c.max_iter < 1) throw std::invalid_argument("max_iter must be >= 1");
  return c;
}

// A network of either precision, built from a plain spec.
class PyNetwork {
 public:
  PyNetwork(const py::object& input_shape, const py::list& layers, const std::string& loss,
            const std::string& dtype, bool from_logits, double delta) {
    NetSpec s;
    s.input = parse_shape(input_shape);
    for (const auto& item : layers) s.layers.push_back(parse_layer(py::reinterpret_borrow<py::dict>(item)));
    s.loss.kind = parse_loss(loss);
    s.loss.from_logits = from_logits;
    s.loss.delta = delta;
    if (dtype == "float32") f32_ = std::make_unique<Network<float>>(s);
    else if (dtype == "float64") f64_ = std::make_unique<Network<double>>(s);
    else throw std::invalid_argument("dtype must be float32 or float64, got " + dtype);
  }

  std::string dtype() const { return f32_ ? "float32" : "float64"; }
  int64_t n_params() const { return f32_ ? f32_->n_params() : f64_->n_params(); }
  int64_t n_coefs() const { return f32_ ? f32_->n_coefs() : f64_->n_coefs(); }
  int64_t n_state() const { return f32_ ? f32_->n_state() : f64_->n_state(); }

  py::array initial_state() const {
    if (f32_) {
      Arr<float> a(f32_->n_state());
      f32_->init_state(a.mutable_data());
      return a;
    }
    Arr<double> a(f64_->n_state());
    f64_->init_state(a.mutable_data());
    return a;
  }

  py::list variables() const { return variable_list(false); }
  py::list state_variables() const { return variable_list(true); }
  py::tuple input_shape() const {
    return shape_tuple(f32_ ? f32_->input_shape() : f64_->input_shape());
  }
  py::list layer_shapes() const {
    py::list out;
    for (const Shape& sh : f32_ ? f32_->layer_shapes() : f64_->layer_shapes()) out.append(shape_tuple(sh));
    return out;
  }
  double flops_per_sample() const { return f32_ ? f32_->flops_per_row() : f64_->flops_per_row(); }
  int64_t n_in() const { return f32_ ? f32_->n_in() : f64_->n_in(); }
  int64_t n_out() const { return f32_ ? f32_->n_out() : f64_->n_out(); }

  py::array predict(const py::object& params, const py::object& X, int n_threads,
                    const py::object& state, bool check_finite) const {
    return f32_ ? predict_t(*f32_, params, X, n_threads, state, check_finite)
                : predict_t(*f64_, params, X, n_threads, state, check_finite);
  }

  py::tuple objective(const py::object& params, const py::object& X, const py::object& Y,
                      const py::object& sw, double alpha, double report_scale,
                      const py::object& grad, int n_threads, uint32_t seed,
                      bool penalty_per_sample) const {
    return f32_ ? objective_t(*f32_, params, X, Y, sw, alpha, report_scale, grad, n_threads, seed, penalty_per_sample)
                : objective_t(*f64_, params, X, Y, sw, alpha, report_scale, grad, n_threads, seed, penalty_per_sample);
  }

  py::tuple evaluate(const py::object& params, const py::object& state, const py::object& X,
                     const py::object& Y, const py::object& sw, const py::object& metrics,
                     bool keras_weighting, int n_threads) const {
    return f32_ ? evaluate_t(*f32_, params, state, X, Y, sw, metrics, keras_weighting, n_threads)
                : evaluate_t(*f64_, params, state, X, Y, sw, metrics, keras_weighting, n_threads);
  }

  void fit(const py::object& params, const py::list& slots, const py::object& best,
           const py::object& X, const py::object& Y, const py::object& sw,
           const py::object& train_idx, const py::object& val_idx, const py::dict& config,
           TrainState& state, const py::object& on_epoch, const py::object& net_state,
           const py::object& on_batch) const {
    if (f32_) fit_t(*f32_, params, slots, best, X, Y, sw, train_idx, val_idx, config, state, on_epoch, net_state, on_batch);
    else fit_t(*f64_, params, slots, best, X, Y, sw, train_idx, val_idx, config, state, on_epoch, net_state, on_batch);
  }

 private:
  py::list variable_list(bool state) const {
    py::list out;
    const auto& vars = f32_ ? (state ? f32_->state_variables() : f32_->variables())
                            : (state ? f64_->state_variables() : f64_->variables());
    for (const auto& v : vars) {
      py::dict d;
      d["layer"] = v.layer;
      d["name"] = v.name;
      d["offset"] = v.offset;
      d["index"] = v.index;
      d["shape"] = shape_tuple(v.shape);
      out.append(d);
    }
    return out;
  }

  template <class T>
  static py::array predict_t(const Network<T>& net, const py::object& params,
                             const py::object& X, int n_threads, const py::object& state,
                             bool check_finite) {
    const T* p = const_ptr<T>(params, net.n_params(), "params");
    const T* st = const_ptr<T>(state, net.n_state(), "state");
    InputView<T> v = input_view<T>(X, net.n_in());
    if (check_finite) {
      const T* d = v.sparse() ? v.data : v.dense;
      const int64_t n = v.sparse() ? v.indptr[v.n_rows] : v.n_rows * v.n_cols;
      if (!all_finite(d, n)) throw std::invalid_argument("Input X contains NaN or infinity.");
    }
    Arr<T> out({v.n_rows, net.n_out()});
    T* o = out.mutable_data();
    const int threads = resolve_threads(n_threads);
    if (v.n_rows * v.n_cols < 4096) {  // a few rows: releasing the GIL costs more than the work
      net.predict(p, st, v, o, threads);
    } else {
      py::gil_scoped_release release;
      net.predict(p, st, v, o, threads);
    }
    return out;
  }

  template <class T>
  static py::tuple objective_t(const Network<T>& net, const py::object& params,
                               const py::object& X, const py::object& Y, const py::object& sw,
                               double alpha, double report_scale, const py::object& grad,
                               int n_threads, uint32_t seed, bool penalty_per_sample) {
    const T* p = const_ptr<T>(params, net.n_params(), "params");
    InputView<T> v = input_view<T>(X, net.n_in());
    const T* y = const_ptr<T>(Y, v.n_rows * net.n_out(), "y");
    const T* w = const_ptr<T>(sw, v.n_rows, "sample_weight");
    T* g = mutable_ptr<T>(grad, net.n_params(), "grad");
    if (!g) throw std::invalid_argument("grad is required: an array of n_params elements");
    const int threads = resolve_threads(n_threads);
    std::pair<double, double> r;
    {
      py::gil_scoped_release release;
      r = full_objective(net, p, v, y, w, alpha, report_scale, g, threads, seed, penalty_per_sample);
    }
    return py::make_tuple(r.first, r.second);
  }

  template <class T>
  static py::tuple evaluate_t(const Network<T>& net, const py::object& params,
                              const py::object& state, const py::object& X, const py::object& Y,
                              const py::object& sw, const py::object& metrics,
                              bool keras_weighting, int n_threads) {
    const T* p = const_ptr<T>(params, net.n_params(), "params");
    const T* st = const_ptr<T>(state, net.n_state(), "state");
    InputView<T> v = input_view<T>(X, net.n_in());
    const T* y = const_ptr<T>(Y, v.n_rows * net.n_out(), "y");
    const T* w = const_ptr<T>(sw, v.n_rows, "sample_weight");
    const std::vector<MetricSpec> ms = parse_metrics(metrics);
    const int threads = resolve_threads(n_threads);
    std::pair<double, std::vector<double>> r;
    {
      py::gil_scoped_release release;
      Workspace<T> ws;
      r = evaluate_rows(net, p, st, v, nullptr, v.n_rows, y, w, ms, keras_weighting, threads, ws);
    }
    return py::make_tuple(r.first, r.second);
  }

  template <class T>
  static void fit_t(const Network<T>& net, const py::object& params, const py::list& slots,
                    const py::object& best, const py::object& X,
                    const py::object& Y, const py::object& sw, const py::object& train_idx,
                    const py::object& val_idx, const py::dict& config, TrainState& state,
                    const py::object& on_epoch, const py::object& net_state,
                    const py::object& on_batch) {
    const TrainConfig cfg = parse_config(config);
    const int64_t P = net.n_params();
    TrainBuffers<T> buf;
    buf.params = mutable_ptr<T>(params, P, "params");
    buf.state = mutable_ptr<T>(net_state, net.n_state(), "state");
    if (net.n_state() > 0 && !buf.state)
      throw std::invalid_argument("this network has a state buffer (moving statistics); pass it");
    const int n_slots = optimizer_slots(cfg.opt);
    if (int(slots.size()) != n_slots)
      throw std::invalid_argument("this optimizer needs " + std::to_string(n_slots) +
                                  " state buffers, got " + std::to_string(slots.size()));
    for (const auto& slot : slots) {
      T* p = mutable_ptr<T>(slot, P, "optimizer state");
      if (!p) throw std::invalid_argument("optimizer state buffers are required");
      buf.slots.push_back(p);
    }
    buf.best = cfg.early_stopping ? mutable_ptr<T>(best, P, "best parameters") : nullptr;
    TrainData<T> d;
    d.X = input_view<T>(X, net.n_in());
    d.Y = const_ptr<T>(Y, d.X.n_rows * net.n_out(), "y");
    d.sw = const_ptr<T>(sw, d.X.n_rows, "sample_weight");
    d.train_idx = index_ptr(train_idx, &d.n_train, d.X.n_rows, "train indices");
    d.val_idx = index_ptr(val_idx, &d.n_val, d.X.n_rows, "validation indices");
    if (state.rng_keys.size() != size_t(MT19937::N))
      throw std::invalid_argument("random state must have 624 keys");

    typename Trainer<T>::EpochCallback cb;
    if (!on_epoch.is_none()) {
      // on_epoch(n_iter, loss, val_score, lr, message) returns a truth value
      // (stop) or a (stop, new_lr or None) pair
      cb = [&on_epoch](const EpochReport& r) {
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        py::object res = on_epoch(r.n_iter, r.loss, r.val_score, r.lr, r.message, r.metrics,
                                  r.val_loss, r.val_metrics);
        EpochAnswer a;
        if (py::isinstance<py::tuple>(res)) {
          auto t = res.cast<py::tuple>();
          if (t.size() != 2) throw std::invalid_argument("on_epoch must return stop or (stop, lr)");
          a.stop = PyObject_IsTrue(t[0].ptr()) == 1;
          if (!t[1].is_none()) a.lr = t[1].cast<double>();
        } else {
          a.stop = PyObject_IsTrue(res.ptr()) == 1;
        }
        return a;
      };
    }
    typename Trainer<T>::BatchCallback progress;
    if (!on_batch.is_none()) {
      // on_batch(step, steps, loss, metrics): progress within an epoch (a bar)
      progress = [&on_batch](int64_t step, int64_t steps, double loss, const std::vector<double>& metrics) {
        py::gil_scoped_acquire gil;
        on_batch(step, steps, loss, metrics);
      };
    }
    Trainer<T> trainer(net, cfg);
    trainer.progress_every = std::chrono::milliseconds(get_or<int64_t>(config, "progress_ms", 100));
    py::gil_scoped_release release;
    trainer.fit(d, buf, state, cb, check_signals, progress);
  }

  std::unique_ptr<Network<float>> f32_;
  std::unique_ptr<Network<double>> f64_;
};


bool is_float32(const py::array& a) {
  return py::dtype::of<float>().is(a.dtype()) || a.dtype().equal(py::dtype::of<float>());
}

// X as a dense view (the RBM's inference paths take no CSR tuple)
template <class T>
InputView<T> dense_view(const py::handle& X, int64_t n_cols) {
  if (py::isinstance<py::tuple>(X)) throw std::invalid_argument("X must be a dense array here");
  return input_view<T>(X, n_cols);
}

// A BernoulliRBM's parameters as numpy arrays of one dtype: components (nc,
// nf), intercept_hidden (nc), intercept_visible (nf), updated in place.
template <class T>
Rbm<T> rbm_view(const py::array& W, const py::array& bh, const py::array& bv, int threads) {
  if (W.ndim() != 2) throw std::invalid_argument("components must be 2-dimensional");
  const int64_t nc = W.shape(0), nf = W.shape(1);
  return Rbm<T>{mutable_ptr<T>(W, nc * nf, "components"), mutable_ptr<T>(bh, nc, "intercept_hidden"),
                mutable_ptr<T>(bv, nf, "intercept_visible"), nc, nf, resolve_threads(threads)};
}

// Runs f(rbm, rng) with the stream of numpy's get_state() keys (624, updated
// in place) at pos; returns the position after.
template <class T, class F>
int with_rbm(const py::array& W, const py::array& bh, const py::array& bv, const py::array& keys,
             int pos, int threads, F&& f) {
  Rbm<T> rbm = rbm_view<T>(W, bh, bv, threads);
  uint32_t* k = mutable_ptr<uint32_t>(keys, MT19937::N, "random state keys");
  MT19937 rng;
  rng.set_state(k, pos);
  f(rbm, rng);
  rng.get_state(k, &pos);
  return pos;
}

void def_rbm(py::module_& m) {
  m.def(
      "rbm_fit",
      [](py::array& W, py::array& bh, py::array& bv, py::array& chain, const py::object& X,
         int64_t batch_rows, int64_t iterations, double learning_rate, py::array& keys, int pos,
         int threads) {
        auto run = [&](auto zero) {
          using T = decltype(zero);
          const int64_t nc = W.ndim() == 2 ? W.shape(0) : 0;
          if (chain.ndim() != 2 || chain.shape(1) != nc)
            throw std::invalid_argument("h_samples_ must have n_components columns");
          T* ch = mutable_ptr<T>(chain, chain.size(), "h_samples_");
          const InputView<T> v = input_view<T>(X, W.ndim() == 2 ? W.shape(1) : 0);
          return with_rbm<T>(W, bh, bv, keys, pos, threads, [&](Rbm<T>& rbm, MT19937& rng) {
            py::gil_scoped_release release;
            rbm.fit(v, batch_rows, iterations, ch, chain.shape(0), learning_rate, rng);
          });
        };
        return is_float32(W) ? run(0.f) : run(0.0);
      },
      py::arg("components"), py::arg("intercept_hidden"), py::arg("intercept_visible"),
      py::arg("h_samples"), py::arg("X"), py::arg("batch_rows"), py::arg("iterations"),
      py::arg("learning_rate"), py::arg("keys"), py::arg("pos"), py::arg("threads"),
      "BernoulliRBM: `iterations` passes of persistent contrastive divergence over X (dense or "
      "a CSR tuple) in batches of batch_rows, parameters and chain updated in place; the "
      "random stream's keys are updated in place and its position returned.");
  m.def(
      "rbm_hidden",
      [](py::array& W, py::array& bh, py::array& bv, const py::array& X, int threads) {
        auto run = [&](auto zero) -> py::array {
          using T = decltype(zero);
          const Rbm<T> rbm = rbm_view<T>(W, bh, bv, threads);
          const InputView<T> v = dense_view<T>(X, rbm.nf);
          Arr<T> out({v.n_rows, rbm.nc});
          T* o = out.mutable_data();
          py::gil_scoped_release release;
          rbm.hidden_means(o, v.dense, v.n_rows);
          return out;
        };
        return is_float32(W) ? run(0.f) : run(0.0);
      },
      py::arg("components"), py::arg("intercept_hidden"), py::arg("intercept_visible"),
      py::arg("X"), py::arg("threads"), "BernoulliRBM: P(h = 1 | v) for the rows of dense X.");
  m.def(
      "rbm_free_energy",
      [](py::array& W, py::array& bh, py::array& bv, const py::array& X, int threads) {
        auto run = [&](auto zero) -> py::array {
          using T = decltype(zero);
          const Rbm<T> rbm = rbm_view<T>(W, bh, bv, threads);
          const InputView<T> v = dense_view<T>(X, rbm.nf);
          Arr<T> out(v.n_rows);
          T* o = out.mutable_data();
          py::gil_scoped_release release;
          rbm.free_energy(o, v.dense, v.n_rows);
          return out;
        };
        return is_float32(W) ? run(0.f) : run(0.0);
      },
      py::arg("components"), py::arg("intercept_hidden"), py::arg("intercept_visible"),
      py::arg("X"), py::arg("threads"), "BernoulliRBM: the free energy of each row of dense X.");
  m.def(
      "rbm_gibbs",
      [](py::array& W, py::array& bh, py::array& bv, const py::array& X, py::array& keys, int pos,
         int threads) {
        auto run = [&](auto zero) -> py::tuple {
          using T = decltype(zero);
          Arr<T> out;
          pos = with_rbm<T>(W, bh, bv, keys, pos, threads, [&](Rbm<T>& rbm, MT19937& rng) {
            const InputView<T> v = dense_view<T>(X, rbm.nf);
            out = Arr<T>({v.n_rows, rbm.nf});
            T* o = out.mutable_data();
            py::gil_scoped_release release;
            rbm.gibbs(o, v.dense, v.n_rows, rng);
          });
          return py::make_tuple(out, pos);
        };
        return is_float32(W) ? run(0.f) : run(0.0);
      },
      py::arg("components"), py::arg("intercept_hidden"), py::arg("intercept_visible"),
      py::arg("X"), py::arg("keys"), py::arg("pos"), py::arg("threads"),
      "BernoulliRBM: one Gibbs step from the rows of dense X (0 / 1 values) and the stream's "
      "position after it (its keys updated in place).");
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "neurocore's C++ core: networks, losses, optimizers and the training loop";
  active_kernels();  // an invalid NEUROCORE_ISA fails the import, not a later call

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::length_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "out of memory in neurocore's core");
    }
  });

  py::class_<TrainState>(m, "TrainState")
      .def(py::init<>())
      .def_readwrite("lr", &TrainState::lr)
      .def_property(
          "iterations", [](const TrainState& s) { return s.opt.iterations; },
          [](TrainState& s, int64_t v) { s.opt.iterations = v; })
      .def_property(
          "u_product", [](const TrainState& s) { return s.opt.u_product; },
          [](TrainState& s, double v) { s.opt.u_product = v; })
      .def_readwrite("t", &TrainState::t)
      .def_readwrite("no_improvement_count", &TrainState::no_improvement_count)
      .def_readwrite("best_loss", &TrainState::best_loss)
      .def_readwrite("best_val_score", &TrainState::best_val_score)
      .def_readwrite("rng_pos", &TrainState::rng_pos)
      .def_property(
          "rng_keys",
          [](const TrainState& s) {
            return py::array_t<uint32_t>(py::ssize_t(s.rng_keys.size()), s.rng_keys.data());
          },
          [](TrainState& s, const py::array_t<uint32_t, py::array::c_style | py::array::forcecast>& a) {
            if (a.size() != MT19937::N) throw std::invalid_argument("random state must have 624 keys");
            s.rng_keys.assign(a.data(), a.data() + a.size());
          })
      .def_readonly("n_iter", &TrainState::n_iter)
      .def_readonly("loss", &TrainState::loss)
      .def_readonly("loss_curve", &TrainState::loss_curve)
      .def_readonly("val_scores", &TrainState::val_scores)
      .def_readonly("converged", &TrainState::converged)
      .def_readonly("max_iter_reached", &TrainState::max_iter_reached)
      .def_readonly("stopped_by_callback", &TrainState::stopped_by_callback)
      .def_readonly("diverged", &TrainState::diverged)
      .def_readonly("diverged_epoch", &TrainState::diverged_epoch);

  py::class_<PyNetwork>(m, "Network")
      .def(py::init<const py::object&, const py::list&, const std::string&, const std::string&, bool,
                    double>(),
           py::arg("input_shape"), py::arg("layers"), py::arg("loss"), py::arg("dtype"),
           py::arg("from_logits") = false, py::arg("delta") = 1.0)
      .def_property_readonly("dtype", &PyNetwork::dtype)
      .def_property_readonly("n_params", &PyNetwork::n_params)
      .def_property_readonly("n_coefs", &PyNetwork::n_coefs)
      .def_property_readonly("n_state", &PyNetwork::n_state)
      .def("initial_state", &PyNetwork::initial_state,
           "The state buffer's starting values (moving means 0, variances 1).")
      .def("variables", &PyNetwork::variables,
           "Each trainable variable: layer index, name, offset in the flat buffer, shape.")
      .def("state_variables", &PyNetwork::state_variables,
           "Each state variable (moving statistics): layer index, name, offset in the state "
           "buffer, shape.")
      .def_property_readonly("input_shape", &PyNetwork::input_shape)
      .def("layer_shapes", &PyNetwork::layer_shapes, "Each layer's per-sample output shape.")
      .def("flops_per_sample", &PyNetwork::flops_per_sample,
           "Floating-point operations of one sample's forward pass (a multiply-add is 2).")
      .def_property_readonly("n_in", &PyNetwork::n_in)
      .def_property_readonly("n_out", &PyNetwork::n_out)
      .def("predict", &PyNetwork::predict, py::arg("params"), py::arg("X"), py::arg("n_threads"),
           py::arg("state") = py::none(), py::arg("check_finite") = false)
      .def("objective", &PyNetwork::objective, py::arg("params"), py::arg("X"), py::arg("y"),
           py::arg("sample_weight"), py::arg("alpha"), py::arg("report_scale"), py::arg("grad"),
           py::arg("n_threads"), py::arg("seed") = 0, py::arg("penalty_per_sample") = false)
      .def("evaluate", &PyNetwork::evaluate, py::arg("params"), py::arg("state"), py::arg("X"),
           py::arg("y"), py::arg("sample_weight"), py::arg("metrics"),
           py::arg("keras_weighting"), py::arg("n_threads"),
           "Loss (with penalties) and metrics in inference mode: (loss, [metric values]).")
      .def("fit", &PyNetwork::fit, py::arg("params"), py::arg("slots"), py::arg("best"), py::arg("X"), py::arg("y"), py::arg("sample_weight"),
           py::arg("train_idx"), py::arg("val_idx"), py::arg("config"), py::arg("state"),
           py::arg("on_epoch"), py::arg("net_state") = py::none(), py::arg("on_batch") = py::none());

  def_rbm(m);
  m.def("hardware_threads", &hardware_threads, "Number of processors OpenMP sees.");
  m.def(
      "max_threads",
      [] {
#ifdef _OPENMP
        return omp_get_max_threads();
#else
        return 1;
#endif
      },
      "OpenMP's thread limit for the calling thread: OMP_NUM_THREADS, or what threadpoolctl "
      "set.");
  m.def(
      "optimizer_slots",
      [](const py::dict& d) {
        OptConfig c;
        c.kind = parse_optimizer(d["optimizer"].cast<std::string>());
        c.amsgrad = get_or<bool>(d, "amsgrad", false);
        return optimizer_slots(c);
      },
      "How many state buffers the optimizer described by a config dict needs.");
  m.def(
      "isa_info",
      [] {
        const IsaKernels& k = active_kernels();
        py::dict d;
        d["isa"] = isa_name(k.isa);
        d["detected"] = isa_name(detected_isa());
        const char* cap = std::getenv("NEUROCORE_ISA");
        d["cap"] = cap && *cap ? py::object(py::str(cap)) : py::object(py::none());
        d["tile_float32"] = k.tile_f32;
        d["tile_float64"] = k.tile_f64;
        return d;
      },
      "The instruction set the kernels use (the detected one capped by NEUROCORE_ISA), and "
      "their register tiles.");
  m.def(
      "_gemm",
      [](bool ta, bool tb, const py::array& a, const py::array& b, py::array& c, double alpha,
         double beta, int threads) {
        // c (m, n) = alpha * op(a) @ op(b) + beta * c on the active kernels
        if (a.ndim() != 2 || b.ndim() != 2 || c.ndim() != 2)
          throw std::invalid_argument("a, b and c must be 2-dimensional");
        const int64_t m = ta ? a.shape(1) : a.shape(0), k = ta ? a.shape(0) : a.shape(1);
        const int64_t kb = tb ? b.shape(1) : b.shape(0), n = tb ? b.shape(0) : b.shape(1);
        if (kb != k || c.shape(0) != m || c.shape(1) != n)
          throw std::invalid_argument("shapes do not match");
        auto run = [&](auto zero) {
          using T = decltype(zero);
          const T* pa = as_array<T>(a, "a").data();
          const T* pb = as_array<T>(b, "b").data();
          T* pc = mutable_ptr<T>(c, m * n, "c");
          py::gil_scoped_release release;
          detail::gemm<T>(ta, tb, pc, pa, pb, m, n, k, T(alpha), T(beta), threads);
        };
        if (is_float32(c))
          run(0.f);
        else
          run(0.0);
      },
      py::arg("ta"), py::arg("tb"), py::arg("a"), py::arg("b"), py::arg("c"), py::arg("alpha"),
      py::arg("beta"), py::arg("threads"),
      "Test hook: c = alpha * op(a) @ op(b) + beta * c on the active kernels.");
  m.def(
      "_throw_in_parallel_region",
      [](int64_t n, int threads, int64_t at) {
        py::gil_scoped_release release;
        parallel_for(n, n * 4096, threads, [&](int64_t i) {
          if (i == at) throw std::invalid_argument("thrown at item " + std::to_string(i));
        });
      },
      "Test hook: a parallel loop over n items whose item `at` throws; the error must reach "
      "Python as ValueError with its message.");
}
