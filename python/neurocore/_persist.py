"""Saving and loading estimators without pickle.

A saved estimator is a zip archive holding

- ``metadata.json``: ``{"format": "neurocore-estimator", "format_version": 1,
  "neurocore_version": ..., "class": "MLPClassifier", "params": ...,
  "state": ...}``, where ``params`` are the constructor parameters and
  ``state`` the fitted attributes, both in the tagged JSON encoding below;
- ``arrays.npz``: every numpy array the metadata refers to, read back with
  ``allow_pickle=False``.

Values are JSON scalars, or one-key objects: ``{"list": [...]}``,
``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``, ``{"array": name}``,
``{"scalar": [dtype, value]}``, ``{"dtype": name}``, ``{"random_state":
[keys, pos, has_gauss, gauss]}``, ``{"keras": description}`` (a layer,
optimizer, activation... of ``neurocore.keras``, rebuilt from its
constructor arguments) and ``{"object": [class, state]}`` for the few internal
classes listed in ``_OBJECTS``. Loading constructs nothing else, so a file
cannot run code; every field is checked, and the loaded model must predict
before it is returned. ``callbacks`` are not saved (they may hold code).
"""

import io
import json
import os
import warnings
import zipfile
import zlib

import numpy as np

FORMAT = "neurocore-estimator"
FORMAT_VERSION = 1
_ARRAY_KINDS = "biufU"  # bool, ints, floats, unicode: what np.load reads without pickle
# The largest entry a file may hold once decompressed (metadata.json, each
# array of arrays.npz, and arrays.npz itself), checked against the sizes the
# archive declares before anything is inflated: a crafted file cannot make
# loading allocate more (zipfile never inflates past a declared size).
MAX_ENTRY_BYTES = 4 << 30


# What a file may name, filled by the modules that define it (importing
# neurocore imports them all): the estimator classes, the few internal objects
# their state holds, and codecs for families of objects (neurocore.keras's
# layers, optimizers, ...). This module imports none of them.
_ESTIMATORS = {}
_OBJECTS = {}
_CODECS = {}


def register_estimator(cls):
    """Make an estimator class loadable by its name (a class decorator)."""
    _ESTIMATORS[cls.__name__] = cls
    return cls


def register_object(name, cls):
    """Make an internal class loadable as ``{"object": [name, state]}``."""
    _OBJECTS[name] = cls
    return cls


def register_codec(tag, accepts, encode, decode):
    """Store the objects ``accepts(v)`` is true for as ``{tag: encode(v)}``, read
    back with ``decode``; ``encode`` raises ValueError for what it cannot store."""
    _CODECS[tag] = (accepts, encode, decode)


def _estimators():
    return _ESTIMATORS


def _objects():
    from sklearn.preprocessing import LabelBinarizer

    return {"LabelBinarizer": LabelBinarizer, **_OBJECTS}


class _Encoder:
    def __init__(self):
        self.arrays = {}
        self._objects = {cls: name for name, cls in _objects().items()}

    def array(self, a):
        name = f"a{len(self.arrays)}"
        self.arrays[name] = a
        return {"array": name}

    def __call__(self, v, where):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, np.ndarray):
            if v.dtype.kind in _ARRAY_KINDS:
                return self.array(np.ascontiguousarray(v))
            if v.dtype.kind == "O":  # e.g. classes_ from mixed labels
                return {"object_array": [self(x, where) for x in v.ravel().tolist()],
                        "shape": list(v.shape)}
            raise ValueError(f"cannot save {where}: an array of dtype {v.dtype}")
        if isinstance(v, np.generic):
            return {"scalar": [v.dtype.str, v.item()]}
        if isinstance(v, np.dtype):
            return {"dtype": v.str}
        if isinstance(v, type) and issubclass(v, np.generic):
            return {"dtype": np.dtype(v).str}
        if isinstance(v, np.random.RandomState):
            _, keys, pos, has_gauss, gauss = v.get_state()
            return {"random_state": [self.array(keys), int(pos), int(has_gauss), float(gauss)]}
        if isinstance(v, list):
            return {"list": [self(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, tuple):
            return {"tuple": [self(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, dict):
            return {"dict": [[self(k, where), self(x, f"{where}[{k!r}]")] for k, x in v.items()]}
        name = self._objects.get(type(v))
        if name is not None:
            state = v.__getstate__() if hasattr(type(v), "__getstate__") else dict(vars(v))
            return {"object": [name, self(dict(state), f"{where}.{name}")]}
        for tag, (accepts, encode, _) in _CODECS.items():
            if accepts(v):
                return {tag: encode(v)}
        raise ValueError(
            f"cannot save {where}: {type(v).__name__} objects hold code, which this format "
            "does not store; use pickle or joblib for such a model"
        )


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays
        self.objects = _objects()

    def array(self, name):
        if not isinstance(name, str) or name not in self.arrays:
            raise ValueError(f"missing array {name!r}")
        return self.arrays[name]

    def __call__(self, v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if not isinstance(v, dict) or len(v) not in (1, 2):
            raise ValueError(f"malformed value {str(v)[:60]!r}")
        (tag, body), *rest = v.items()
        if tag == "array":
            return self.array(body)
        if tag == "object_array":
            shape = rest[0][1] if rest and rest[0][0] == "shape" else None
            items = [self(x) for x in _expect(body, list, tag)]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(shape) if shape is not None else out
        if rest:
            raise ValueError(f"malformed value {str(v)[:60]!r}")
        if tag == "list":
            return [self(x) for x in _expect(body, list, tag)]
        if tag == "tuple":
            return tuple(self(x) for x in _expect(body, list, tag))
        if tag == "dict":
            out = {}
            for pair in _expect(body, list, tag):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError("malformed dict entry")
                key = self(pair[0])
                if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                    raise ValueError("malformed dict key")
                out[key] = self(pair[1])
            return out
        if tag == "scalar":
            dtype, value = _expect(body, list, tag, 2)
            return np.dtype(_dtype(dtype)).type(value)
        if tag == "dtype":
            return np.dtype(_dtype(body))
        if tag == "random_state":
            keys, pos, has_gauss, gauss = _expect(body, list, tag, 4)
            keys = self.array(keys["array"] if isinstance(keys, dict) else keys)
            if keys.shape != (624,) or not isinstance(pos, int) or not 0 <= pos <= 624:
                raise ValueError("invalid random state")
            rs = np.random.RandomState()
            rs.set_state(("MT19937", np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss),
                          float(gauss)))
            return rs
        if tag in _CODECS:
            return _CODECS[tag][2](body)
        if tag == "object":
            name, state = _expect(body, list, tag, 2)
            cls = self.objects.get(name)
            if cls is None:
                raise ValueError(f"unknown object type {name!r}")
            state = self(state)
            if not isinstance(state, dict):
                raise ValueError(f"malformed {name} state")
            obj = cls.__new__(cls)
            setstate = getattr(cls, "__setstate__", None)
            if setstate is not None and setstate is not getattr(object, "__setstate__", None):
                obj.__setstate__(state)
            else:
                obj.__dict__.update(state)
            return obj
        raise ValueError(f"unknown value tag {tag!r}")


def _expect(body, kind, tag, length=None):
    if not isinstance(body, kind) or (length is not None and len(body) != length):
        raise ValueError(f"malformed {tag!r} value")
    return body


def _dtype(name):
    if not isinstance(name, str):
        raise ValueError("malformed dtype")
    dt = np.dtype(name)
    if dt.kind not in _ARRAY_KINDS:
        raise ValueError(f"unsupported dtype {name!r}")
    return dt


def _check_entry_sizes(z, names, where):
    for name in names:
        size = z.getinfo(name).file_size
        if size > MAX_ENTRY_BYTES:
            raise ValueError(f"{where}: entry {name!r} holds {size} bytes, more than the "
                             f"{MAX_ENTRY_BYTES} bytes a neurocore file may hold per entry")


def read_archive(path, fmt, max_version, entries, what):
    """The metadata and the named entries of a neurocore zip file (an estimator
    or a Keras-facade model), its format name and version checked; anything
    unreadable is a ValueError, a newer version says so."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as z:
            if not {"metadata.json", *entries} <= set(z.namelist()):
                raise ValueError("missing entries")
            _check_entry_sizes(z, ["metadata.json", *entries], path)
            meta = json.loads(z.read("metadata.json"))
            raw = {name: z.read(name) for name in entries}
            for name, data in raw.items():
                if name.endswith(".npz"):  # the arrays inside are zip entries too
                    with zipfile.ZipFile(io.BytesIO(data)) as inner:
                        _check_entry_sizes(inner, inner.namelist(), f"{path}: {name}")
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
            UnicodeDecodeError, NotImplementedError, RuntimeError) as e:
        raise ValueError(f"{path} is not a {what} file (not a readable archive: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise ValueError(f"{path} is not a {what} file")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: invalid format version {version!r}")
    if version > max_version:
        raise ValueError(
            f"{path} was written by a newer neurocore (format version {version}); this one "
            f"reads format versions up to {max_version}: upgrade neurocore"
        )
    return meta, raw


def save(estimator, path):
    """Write a fitted (or unfitted) estimator to ``path`` (see the module docstring)."""
    from . import __version__

    cls = type(estimator)
    if _estimators().get(cls.__name__) is not cls:
        raise TypeError(f"cannot save a {cls.__name__}: not a neurocore estimator")
    enc = _Encoder()
    params = estimator.get_params(deep=False)
    if "callbacks" in params:
        params["callbacks"] = None  # callbacks may hold code
    state = {k: v for k, v in estimator.__getstate__().items() if k not in params}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "neurocore_version": __version__,
        "class": cls.__name__,
        "params": enc(params, "params"),
        "state": enc(state, "state"),
    }
    write_archive(path, meta, {"arrays.npz": enc.arrays})


def write_archive(path, meta, entries):
    """A neurocore zip file: metadata.json and, per entry name, an .npz of its
    arrays; written beside ``path`` and renamed into place, so a failed save
    never leaves a half-written file under the user's name."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("metadata.json", json.dumps(meta))
            for name, arrays in entries.items():
                buf = io.BytesIO()
                np.savez(buf, **arrays)
                z.writestr(name, buf.getvalue())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(path):
    """Read an estimator written by ``save``; a damaged or foreign file raises ValueError.

    Parameters
    ----------
    path : str or path-like
        A file written by ``estimator.save(path)``.

    Returns
    -------
    estimator : MLPClassifier, MLPRegressor, NeuralNetClassifier or NeuralNetRegressor
        The saved estimator, with its fitted state; it predicts exactly as the
        saved one did. Its ``callbacks`` parameter is None.

    Raises
    ------
    ValueError
        If the file is not a neurocore estimator file, is truncated or
        corrupted, holds an inconsistent or invalid field, or was written by a
        newer neurocore (the message names its format version).
    """
    path = os.fspath(path)
    meta, entries = read_archive(path, FORMAT, FORMAT_VERSION, ("arrays.npz",), "neurocore estimator")
    raw = entries["arrays.npz"]
    try:
        return _rebuild(meta, raw)
    except Exception as e:  # noqa: BLE001 - any inconsistency is a damaged file
        raise ValueError(f"{path} holds an invalid neurocore estimator: {e}") from None


def _rebuild(meta, raw):
    cls = _estimators().get(meta.get("class"))
    if cls is None:
        raise ValueError(f"unknown estimator class {meta.get('class')!r}")
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    dec = _Decoder(arrays)
    params = dec(meta.get("params"))
    state = dec(meta.get("state"))
    if not isinstance(params, dict) or not isinstance(state, dict):
        raise ValueError("malformed params or state")
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise ValueError(f"unknown parameters {sorted(unknown)}")
    est = cls(**params)
    est._validate_params()  # a hand-edited hyperparameter fails here
    if state:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's version notice
            est.__setstate__({**est.__dict__, **state})
        device = est.__dict__.get("device")
        if device is not None:  # the check runs the network on the CPU core, whatever its device
            est.device = "cpu"
        try:
            est._check_restored()
        finally:
            if device is not None:
                est.device = device
    return est


class PersistMixin:
    """``save(path)``: the estimator as a zip of JSON and raw arrays (no pickle)."""

    def save(self, path):
        """Save the estimator to ``path``, in a format that runs no code when loaded.

        Read it back with :func:`neurocore.load`. The file is a zip of JSON
        metadata (parameters, fitted attributes, format version) and raw numpy
        arrays; ``callbacks`` are not saved. Parameters or attributes that hold
        arbitrary Python objects (a custom loss function, say) cannot be saved
        this way: use pickle or joblib for those models.

        Parameters
        ----------
        path : str or path-like
            Where to write; an existing file is replaced only once the new one
            is complete.
        """
        save(self, path)

    def _check_restored_inputs(self):
        """After loading: n_features_in_ and feature_names_in_ are consistent; returns n."""
        n = self.n_features_in_
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"invalid n_features_in_ {n!r}")
        names = getattr(self, "feature_names_in_", None)
        if names is not None and (not isinstance(names, np.ndarray) or names.shape != (n,)):
            raise ValueError("feature_names_in_ does not match n_features_in_")
        return n

    def _check_restored(self):
        """After loading: the fitted state must describe a network that predicts."""
        n = self._check_restored_inputs()
        self._check_restored_network()
        sample = self._input_sample_shape() if hasattr(self, "_input_sample_shape") else (int(n),)
        probe = np.zeros((2,) + tuple(sample))
        out = self.predict(probe)
        if len(out) != 2:
            raise ValueError("the restored model does not predict")
