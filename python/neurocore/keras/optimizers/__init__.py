"""Optimizers (``neurocore.keras.optimizers``) with Keras's update rules and defaults.

Keras 2 spellings are accepted: ``lr`` for ``learning_rate`` and ``decay``
(the rate at step t is lr / (1 + decay * t)). ``learning_rate`` may be a
schedule from ``neurocore.keras.optimizers.schedules``. clipnorm (per
variable), clipvalue and global_clipnorm clip the gradients.
"""

from . import schedules  # noqa: F401  (keras.optimizers.schedules)
from .schedules import LearningRateSchedule
from .. import _config


class Optimizer:
    """Base class; ``config()`` is what the core takes."""

    name = ""

    def __init__(self, learning_rate, lr=None, decay=0.0, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, weight_decay=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(kwargs)}")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("only one of clipnorm, clipvalue and global_clipnorm can be set")
        self.learning_rate = learning_rate if lr is None else lr
        self.decay = float(decay or 0.0)
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.weight_decay = weight_decay
        self._check_rate()

    def _check_rate(self):
        lr = self.learning_rate
        if not isinstance(lr, LearningRateSchedule) and not (float(lr) > 0):
            raise ValueError(f"learning_rate must be > 0, got {lr!r}")

    @property
    def lr(self):
        """Keras 2's name for learning_rate."""
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    def _extra(self):
        return {}

    def config(self):
        """The optimizer as the C++ core takes it."""
        lr = self.learning_rate
        schedule = lr.config() if isinstance(lr, LearningRateSchedule) else None
        base = lr.initial_learning_rate if schedule else float(lr)
        cfg = {"optimizer": self.name, "learning_rate_init": float(base), "decay": self.decay,
               "schedule": schedule, "clipnorm": self.clipnorm or 0.0,
               "clipvalue": self.clipvalue or 0.0, "global_clipnorm": self.global_clipnorm or 0.0,
               "weight_decay": self.weight_decay or 0.0}
        cfg.update(self._extra())
        return cfg

    def get_config(self):
        config = _config.init_config(self)
        config.update(decay=self.decay, clipnorm=self.clipnorm, clipvalue=self.clipvalue,
                      global_clipnorm=self.global_clipnorm)
        if "weight_decay" not in config:
            config["weight_decay"] = self.weight_decay
        return config

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


class SGD(Optimizer):
    """Gradient descent with momentum: v = momentum v - lr g; w += v (or Nesterov)."""

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kw):
        super().__init__(learning_rate, **kw)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _extra(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """ms = rho ms + (1 - rho) g^2; w -= lr g / sqrt(ms + eps) (centered, momentum optional)."""

    name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kw):
        super().__init__(learning_rate, **kw)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _extra(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    """acc += g^2; w -= lr g / sqrt(acc + eps); the accumulator starts at 0.1."""

    name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kw):
        super().__init__(learning_rate, **kw)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _extra(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta with decay rho (Keras 3's defaults: learning_rate 0.001, rho 0.95)."""

    name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kw):
        super().__init__(learning_rate, **kw)
        self.rho, self.epsilon = rho, epsilon

    def _extra(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam (Kingma and Ba), optionally AMSGrad."""

    name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kw):
        super().__init__(learning_rate, **kw)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _extra(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: w -= w * weight_decay * lr before each step."""

    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kw):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kw)


class Adamax(Optimizer):
    """Adam with the infinity norm."""

    name = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw):
        super().__init__(learning_rate, **kw)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _extra(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Adamax):
    """Adam with Nesterov momentum (Keras 3's momentum schedule)."""

    name = "nadam"


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta,
            "adam": Adam, "adamw": AdamW, "adamax": Adamax, "nadam": Nadam}


def get(identifier):
    """An optimizer from a name ('adam', 'rmsprop', ...), a class or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(_BY_NAME)}.")


_config.register_module(globals())
