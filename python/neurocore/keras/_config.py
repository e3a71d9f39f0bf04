"""Turning layers, optimizers, initializers, ... into JSON and back.

Objects are described by their class name and the arguments of their
constructor (read back from attributes of the same name). Loading looks
classes up only in neurocore.keras's own modules: a file cannot name
arbitrary code.
"""

import inspect

from .. import _persist

_SIMPLE = (bool, int, float, str, type(None))


def init_config(obj):
    """The constructor arguments of obj, from attributes of the same name."""
    config = {}
    for name, p in inspect.signature(type(obj).__init__).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if hasattr(obj, name):
            config[name] = getattr(obj, name)
    return config


def serialize(obj):
    """A JSON-ready description of obj."""
    if isinstance(obj, _SIMPLE):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): serialize(v) for k, v in obj.items()}
    if inspect.isfunction(obj):
        return {"function": obj.__name__, "module": obj.__module__}
    config = obj.get_config() if hasattr(obj, "get_config") else init_config(obj)
    return {"class_name": type(obj).__name__, "config": {k: serialize(v) for k, v in config.items()}}


# what a description may name: filled by the modules that define the classes
# and functions (register_module, at the end of each), never by this one
_CLASSES = {}
_FUNCTIONS = {}


def register_module(namespace, classes=True, functions=False):
    """Make a module's public classes (and functions) loadable by name.

    ``namespace`` is the module's ``globals()``; only what the module itself
    defines is registered, so a re-exported name is not registered twice."""
    module = namespace["__name__"]
    for name, value in list(namespace.items()):
        if getattr(value, "__module__", None) != module:
            continue
        if classes and inspect.isclass(value):
            _CLASSES[name] = value
        elif functions and callable(value) and not inspect.isclass(value) and not name.startswith("_"):
            _FUNCTIONS[(module, name)] = value
            _FUNCTIONS.setdefault((module, value.__name__), value)  # the name serialize writes
    return namespace


def deserialize(desc):
    """The object a description stands for (only neurocore.keras classes)."""
    if isinstance(desc, _SIMPLE):
        return desc
    if isinstance(desc, list):
        return [deserialize(d) for d in desc]
    if not isinstance(desc, dict):
        raise ValueError(f"malformed description {desc!r}")
    reg, funcs = _CLASSES, _FUNCTIONS
    if "function" in desc:
        key = (desc.get("module"), desc["function"])
        if key not in funcs:
            raise ValueError(f"unknown function {desc['function']!r} in {desc.get('module')!r}")
        return funcs[key]
    if "class_name" in desc:
        cls = reg.get(desc["class_name"])
        if cls is None:
            raise ValueError(f"unknown class {desc['class_name']!r}")
        config = desc.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"malformed config for {desc['class_name']}")
        try:
            return cls(**{k: deserialize(v) for k, v in config.items()})
        except TypeError as e:
            raise ValueError(f"cannot rebuild {desc['class_name']}: {e}") from None
    return {k: deserialize(v) for k, v in desc.items()}


def _is_keras(v):
    """A layer, optimizer, loss, activation function... of neurocore.keras."""
    if (getattr(type(v), "__module__", "") or "").startswith("neurocore.keras"):
        return True
    return callable(v) and (getattr(v, "__module__", "") or "").startswith("neurocore.keras")


def _encode(v):
    desc = serialize(v)
    deserialize(desc)  # it must come back: raises if it cannot
    return desc


# estimator files store such objects as {"keras": description}
_persist.register_codec("keras", _is_keras, _encode, deserialize)
