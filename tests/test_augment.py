"""The image augmentation layers: each transform against a numpy reference
(Keras's numpy backend: scipy's map_coordinates on an image padded by the fill
mode) under the same draws, gradients through them, identity at inference,
the same fit at any n_jobs, and augmentation of the training folds only in a
cross-validation."""

import math

import numpy as np
import pytest
from scipy import ndimage
from sklearn.model_selection import KFold

import neurocore.keras as nk
from neurocore import NeuralNetClassifier, _core
from neurocore.keras import layers as L

H, W, C = 7, 6, 2


def _specs(layer):
    (spec,) = layer._core_specs()
    return spec


def _training_output(layer, X, seed0=100):
    """The layer's training-mode output of each image, image i alone in a
    batch whose draws start from RandomState(seed0 + i): read off the
    gradient of an identity Dense layer's bias under a squared error to 0."""
    n = H * W * C
    net = _core.Network((H, W, C), [_specs(layer), {"type": "flatten"},
                                    {"type": "dense", "units": n, "activation": "linear"}],
                        "mean_squared_error", "float64")
    params = np.zeros(net.n_params)
    kernel = next(v for v in net.variables() if v["name"] == "kernel")
    bias = next(v for v in net.variables() if v["name"] == "bias")
    params[kernel["offset"]:kernel["offset"] + n * n] = np.eye(n).ravel()
    out = []
    for i, x in enumerate(X):
        g = np.empty(net.n_params)
        net.objective(params, x.reshape(1, -1), np.zeros((1, n)), None, 0.0, 1.0, g, 1, seed0 + i)
        out.append(g[bias["offset"]:bias["offset"] + n].reshape(H, W, C) * n / 2)  # d(mean sq)/d out
    return np.array(out)


def _keras_affine(img, m, interpolation, fill_mode, fill_value):
    """keras.ops.image.affine_transform on the numpy backend, for one image."""
    rows, cols = np.meshgrid(np.arange(H, dtype=float), np.arange(W, dtype=float), indexing="ij")
    coords = np.stack([m[3] * cols + m[4] * rows + m[5], m[0] * cols + m[1] * rows + m[2]])
    order = {"bilinear": 1, "nearest": 0}[interpolation]
    out = np.empty_like(img)
    for ch in range(C):
        pad = [(max(-int(np.floor(c.min())) + 1, 0), max(int(np.ceil(c.max())) + 1 - size, 0))
               for c, size in zip(coords, (H, W))]
        mode = {"nearest": "edge", "reflect": "symmetric"}.get(fill_mode, fill_mode)
        kw = {"constant_values": fill_value} if fill_mode == "constant" else {}
        padded = np.pad(img[:, :, ch], pad, mode=mode, **kw)
        shifted = [c + p[0] for c, p in zip(coords, pad)]
        out[:, :, ch] = ndimage.map_coordinates(padded, shifted, order=order, mode="nearest")
    return out


def _reference(layer, X, seed0=100):
    out = []
    for i, img in enumerate(X):
        rs = np.random.RandomState(seed0 + i)
        name = type(layer).__name__
        if name == "RandomFlip":
            flip = rs.uniform() <= 0.5
            if flip and layer.mode in ("horizontal", "horizontal_and_vertical"):
                img = img[:, ::-1]
            if flip and layer.mode in ("vertical", "horizontal_and_vertical"):
                img = img[::-1]
            out.append(img)
            continue
        if name in ("RandomContrast", "RandomBrightness"):
            spec = _specs(layer)
            lo, hi = layer._values
            if name == "RandomContrast":
                f = spec["factor_lower"] + (spec["factor_upper"] - spec["factor_lower"]) * rs.uniform()
                mean = img.mean(axis=(0, 1), keepdims=True)
                out.append(np.clip((img - mean) * f + mean, lo, hi))
            else:
                d = spec["delta_lower"] + (spec["delta_upper"] - spec["delta_lower"]) * rs.uniform()
                out.append(np.clip(img + d, lo, hi))
            continue
        if name == "RandomRotation":
            a = layer._lower * 2 * math.pi + (layer._upper - layer._lower) * 2 * math.pi * rs.uniform()
            cs, sn = math.cos(a), math.sin(a)
            m = [cs, -sn, ((W - 1) - (cs * (W - 1) - sn * (H - 1))) / 2,
                 sn, cs, ((H - 1) - (sn * (W - 1) + cs * (H - 1))) / 2]
        elif name == "RandomTranslation":
            dy = (layer._height[0] + (layer._height[1] - layer._height[0]) * rs.uniform()) * H
            dx = (layer._width[0] + (layer._width[1] - layer._width[0]) * rs.uniform()) * W
            m = [1, 0, -dx, 0, 1, -dy]
        else:  # RandomZoom
            zy = 1 + layer._height[0] + (layer._height[1] - layer._height[0]) * rs.uniform()
            zx = zy if layer._width is None else 1 + layer._width[0] + (layer._width[1] - layer._width[0]) * rs.uniform()
            m = [zx, 0, (W - 1) / 2 * (1 - zx), 0, zy, (H - 1) / 2 * (1 - zy)]
        out.append(_keras_affine(img, m, layer.interpolation, layer.fill_mode, layer.fill_value))
    return np.array(out)


LAYERS = {
    "flip_h": lambda: L.RandomFlip("horizontal"),
    "flip_v": lambda: L.RandomFlip("vertical"),
    "flip_hv": lambda: L.RandomFlip(),
    "contrast": lambda: L.RandomContrast((0.5, 0.9), value_range=(0, 1)),
    "brightness": lambda: L.RandomBrightness(0.4, value_range=(0.1, 0.8)),
    "translation_int": lambda: L.RandomTranslation(0.3, (-0.4, 0.2), interpolation="nearest"),
    "zoom_aspect": lambda: L.RandomZoom((-0.4, 0.5)),
    "zoom_xy": lambda: L.RandomZoom(0.3, (-0.5, -0.1), fill_mode="nearest"),
}
for fill in ("reflect", "wrap", "nearest", "constant"):
    for interp in ("bilinear", "nearest"):
        LAYERS[f"rotation_{fill}_{interp}"] = (
            lambda f=fill, i=interp: L.RandomRotation(0.3, fill_mode=f, interpolation=i, fill_value=-0.5))
        LAYERS[f"translation_{fill}_{interp}"] = (
            lambda f=fill, i=interp: L.RandomTranslation(0.6, 0.9, fill_mode=f, interpolation=i, fill_value=2.0))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_training_transform_matches_the_numpy_reference(name):
    layer = LAYERS[name]()
    X = np.random.RandomState(1).rand(12, H, W, C)
    got = _training_output(layer, X)
    np.testing.assert_allclose(got, _reference(layer, X), rtol=1e-10, atol=1e-12)
    assert not np.allclose(got, X)  # something happened to some image


@pytest.mark.parametrize("name", ["flip_hv", "contrast", "brightness", "rotation_reflect_bilinear",
                                  "rotation_constant_nearest", "zoom_xy", "translation_wrap_bilinear"])
def test_gradients_through_the_augmentation(name):
    """Central differences through a trainable 1x1 convolution before the layer
    (the draws fixed by the objective's seed)."""
    layer = LAYERS[name]()
    spec = _specs(layer)
    if "value_low" in spec:  # no clipping: the gradient is smooth there
        spec.update(value_low=-100.0, value_high=100.0)
    net = _core.Network((H, W, C), [{"type": "conv2d", "filters": C, "kernel_size": [1, 1], "strides": [1, 1],
                                     "padding": "valid", "activation": "tanh"}, spec, {"type": "flatten"},
                                    {"type": "dense", "units": 3, "activation": "linear"}],
                        "mean_squared_error", "float64")
    rng = np.random.RandomState(0)
    params = rng.uniform(-0.8, 0.8, net.n_params)
    X = rng.rand(4, H * W * C)
    Y = rng.rand(4, 3)

    def objective(p):
        g = np.empty_like(p)
        return net.objective(p, X, Y, None, 0.0, 1.0, g, 1, 11)[0], g

    _, grad = objective(params)
    num = np.array([(objective(params + d)[0] - objective(params - d)[0]) / 2e-6
                    for d in np.eye(params.size) * 1e-6])
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


def test_identity_at_inference():
    X = np.random.RandomState(2).rand(20, H, W, C).astype(np.float32)
    aug = nk.Sequential([L.Input(shape=(H, W, C)), L.RandomRotation(0.2), L.RandomZoom(0.3), L.RandomFlip(),
                         L.RandomContrast(0.5, value_range=(0, 1)), L.Flatten(), L.Dense(4)])
    plain = nk.Sequential([L.Input(shape=(H, W, C)), L.Flatten(), L.Dense(4)])
    aug.build()
    plain.build()
    plain.set_weights(aug.get_weights())
    np.testing.assert_array_equal(aug.predict(X), plain.predict(X))
    aug.compile("adam", "mse")
    plain.compile("adam", "mse")
    assert aug.evaluate(X, np.zeros((20, 4))) == pytest.approx(plain.evaluate(X, np.zeros((20, 4))))


def _images(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, H, W, C)
    y = (X[:, :3, :, 0].mean(axis=(1, 2)) > X[:, 4:, :, 0].mean(axis=(1, 2))).astype(int)
    return X, y


def _classifier(augment, n_jobs=1):
    layers = ([L.RandomTranslation(0.2, 0.2), L.RandomRotation(0.05)] if augment else []) + [
        L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(8, activation="relu")]
    return NeuralNetClassifier(layers, epochs=3, batch_size=16, random_state=0, n_jobs=n_jobs, dtype="float64")


def test_same_fit_at_any_n_jobs():
    X, y = _images(120, 3)
    fits = [_classifier(True, n_jobs).fit(X, y) for n_jobs in (1, 2)]
    for a, b in zip(fits[0]._net.get_weights(), fits[1]._net.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_only_the_training_folds_are_augmented():
    """In a cross-validation the augmented classifier trains on transformed
    images (its weights differ from the same fit without augmentation) but
    predicts every test fold from the images as they are: the same outputs as
    its weights in a network with no augmentation layers."""
    X, y = _images(150, 4)
    for train, test in KFold(3, shuffle=True, random_state=0).split(X):
        aug = _classifier(True).fit(X[train], y[train])
        plain = _classifier(False).fit(X[train], y[train])
        trained = aug._net.get_weights()
        assert not all(np.array_equal(a, b) for a, b in zip(trained, plain._net.get_weights()))
        plain._net.set_weights(trained)  # the augmented fit's weights, no augmentation layers
        np.testing.assert_array_equal(aug.predict_proba(X[test]), plain.predict_proba(X[test]))
        assert aug.score(X[test], y[test]) == plain.score(X[test], y[test])


def test_bad_arguments_and_inputs_are_refused():
    with pytest.raises(ValueError, match=r"RandomRotation: factor must be .* in \[-1, 1\]"):
        L.RandomRotation(1.5)
    with pytest.raises(ValueError, match="height_factor"):
        L.RandomTranslation((0.1, 0.2, 0.3), 0.1)
    with pytest.raises(ValueError, match=r"RandomContrast: factor .* \[0, 1\]"):
        L.RandomContrast(-0.2)
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomZoom(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        L.RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match="value_range"):
        L.RandomBrightness(0.1, value_range=(1, 0))
    with pytest.raises(ValueError, match="mode"):
        L.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="channels last"):
        L.RandomFlip(data_format="channels_first")
    # an augmentation layer on rows of features: refused before any training
    clf = NeuralNetClassifier([L.RandomFlip(), L.Dense(4)], epochs=1)
    with pytest.raises(ValueError, match=r"RandomFlip.*expects images of shape \(height, width, channels\)"):
        clf.fit(np.random.rand(20, 5), np.arange(20) % 2)
    assert not hasattr(clf, "history_")
