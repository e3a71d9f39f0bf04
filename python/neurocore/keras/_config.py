"""Turning layers, optimizers, initializers, ... into JSON and back.

Objects are described by their class name and the arguments of their
constructor (read back from attributes of the same name). Loading looks
classes up only in neurocore.keras's own modules: a file cannot name
arbitrary code.
"""

import inspect

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


def _registry():
    from . import activations, constraints, initializers, layers, losses, optimizers, regularizers
    from .optimizers import schedules

    reg = {}
    for mod in (layers, initializers, regularizers, constraints, optimizers, schedules, losses):
        for name, value in vars(mod).items():
            if inspect.isclass(value) and value.__module__ == mod.__name__:
                reg[name] = value
    funcs = {}
    for mod in (activations, losses):
        for name, value in vars(mod).items():
            if callable(value) and not inspect.isclass(value) and not name.startswith("_"):
                funcs[(mod.__name__, name)] = value
    return reg, funcs


def deserialize(desc):
    """The object a description stands for (only neurocore.keras classes)."""
    if isinstance(desc, _SIMPLE):
        return desc
    if isinstance(desc, list):
        return [deserialize(d) for d in desc]
    if not isinstance(desc, dict):
        raise ValueError(f"malformed description {desc!r}")
    reg, funcs = _registry()
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
