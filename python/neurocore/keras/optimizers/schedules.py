"""Learning-rate schedules of the step (``neurocore.keras.optimizers.schedules``).

Pass one as an optimizer's learning_rate; the core evaluates it at every step.
"""

import math

from .. import _config


class LearningRateSchedule:
    """Base class: ``schedule(step)`` gives the rate; ``config()`` is the core's form."""

    kind = ""

    def config(self):
        """The schedule as the C++ core takes it."""
        cfg = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k != "drop"}
        cfg["kind"] = self.kind
        return cfg

    def get_config(self):
        return _config.init_config(self)

    def __repr__(self):
        return f"{type(self).__name__}({self.__dict__})"


class _RateDecay(LearningRateSchedule):
    """A decay of the rate with step / decay_steps (floored if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        if decay_steps <= 0:
            raise ValueError("decay_steps must be > 0")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps, self.decay_rate, self.staircase = float(decay_steps), float(decay_rate), bool(staircase)

    def _progress(self, step):
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p


class ExponentialDecay(_RateDecay):
    """initial * decay_rate ** (step / decay_steps), i.e. A exp(-k t); floored steps if staircase."""

    kind = "exponential"

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class InverseTimeDecay(_RateDecay):
    """initial / (1 + decay_rate * step / decay_steps), i.e. A / (1 + k t)."""

    kind = "inverse_time"

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


class StepDecay(LearningRateSchedule):
    """Step decay: multiply by drop every decay_steps steps (e.g. halve every 10 epochs' worth)."""

    kind = "step"

    def __init__(self, initial_learning_rate, decay_steps, drop=0.5):
        if decay_steps <= 0:
            raise ValueError("decay_steps must be > 0")
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), float(decay_steps)
        self.drop = self.decay_rate = float(drop)

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** math.floor(step / self.decay_steps)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[i] while step <= boundaries[i]; values[-1] after the last boundary."""

    kind = "piecewise_constant"

    def __init__(self, boundaries, values):
        if len(values) != len(boundaries) + 1:
            raise ValueError("values must have one more element than boundaries")
        self.boundaries, self.values = [float(b) for b in boundaries], [float(v) for v in values]
        self.initial_learning_rate = self.values[0]

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]


class CosineDecay(LearningRateSchedule):
    """Cosine from initial down to alpha * initial over decay_steps steps."""

    kind = "cosine"

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        if decay_steps <= 0:
            raise ValueError("decay_steps must be > 0")
        self.initial_learning_rate, self.decay_steps, self.alpha = float(initial_learning_rate), float(decay_steps), float(alpha)

    def __call__(self, step):
        s = min(step, self.decay_steps) / self.decay_steps
        return self.initial_learning_rate * ((1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * s)) + self.alpha)


_config.register_module(globals())
