import copy
import pickle

import numpy as np
import pytest

import layerwise as lw
from layerwise.errors import LayerwiseError
from layerwise.nn import kernels as kernel_choice
from layerwise.nn.conv import AvgPool2D, Conv2D, MaxPool2D


@pytest.fixture(autouse=True, params=["numpy", "numba"])
def kernels(request, monkeypatch):
    """Every test here runs with both kernels; the compiled loops then copy images of any
    number of channels (not only from Conv2D._compiled_from_channels)."""
    monkeypatch.setattr(kernel_choice, "_choice", kernel_choice._choice)  # restored afterwards
    lw.set_kernels(request.param)
    if request.param == "numba":
        monkeypatch.setattr(Conv2D, "_compiled_from_channels", 1)
    return request.param


# --- references: direct loops over the output positions ------------------------------


def conv_reference(x, w, b, stride, padding):
    """Output and a function giving (dx, dw, db) from dL/dout, one output position at a time."""
    (sh, sw), (ph, pw) = stride, padding
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.empty((x.shape[0], w.shape[0], ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b

    def backward(g):
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for i in range(ho):
            for j in range(wo):
                window = np.s_[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                dxp[window] += np.einsum("no,ochw->nchw", g[:, :, i, j], w)
                dw += np.einsum("no,nchw->ochw", g[:, :, i, j], xp[window])
        dx = dxp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
        return dx, dw, g.sum(axis=(0, 2, 3))

    return out, backward


def pool_reference(x, kernel, stride, kind):
    """Max (gradient to the first maximum, row-major) or mean pooling, window by window."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw].reshape(n, c, -1)
            out[:, :, i, j] = window.max(axis=2) if kind == "max" else window.mean(axis=2)

    def backward(g):
        dx = np.zeros_like(x)
        for i in range(ho):
            for j in range(wo):
                rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                if kind == "max":
                    first = x[:, :, rows, cols].reshape(n, c, -1).argmax(axis=2)  # the first maximum
                    part = np.zeros((n, c, kh * kw))
                    np.put_along_axis(part, first[..., None], g[:, :, i, j][..., None], axis=2)
                    dx[:, :, rows, cols] += part.reshape(n, c, kh, kw)
                else:
                    dx[:, :, rows, cols] += g[:, :, i, j][:, :, None, None] / (kh * kw)
        return dx

    return out, backward


def numeric_grad(f, a, eps=1e-6):
    """df/da by central differences, for a scalar function f of the array a (changed in place)."""
    out = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        keep = a[i]
        a[i] = keep + eps
        up = f()
        a[i] = keep - eps
        down = f()
        a[i] = keep
        out[i] = (up - down) / (2 * eps)
    return out


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


# C kH kW below 32 takes the example layout, from 32 the batch layout.
CONV_CASES = [
    # in, out, kernel, stride, padding, (H, W)
    (1, 4, 3, 1, 1, (7, 9)),  # example layout, padding 1, non-square input
    (2, 3, (3, 2), 2, (1, 0), (8, 7)),  # non-square kernel, stride 2, odd width
    (4, 5, 3, 1, 1, (6, 6)),  # batch layout
    (3, 2, 5, 2, 2, (9, 11)),  # batch layout, stride 2, padding 2, odd sizes
    (5, 3, 3, 3, 0, (10, 7)),  # stride 3 leaves rows and columns unread
    (3, 2, (1, 4), (2, 1), (0, 3), (5, 5)),  # padding wider than half the kernel
    (8, 4, 2, 2, 0, (6, 6)),  # non-overlapping windows
]


def make_conv(c, o, k, s, p, seed=0):
    conv = Conv2D(c, o, k, s, p, dtype="float64", seed=seed)
    conv.bias.value[:] = np.random.default_rng(seed + 1).normal(size=o)
    return conv


@pytest.mark.parametrize("chunks", [False, True], ids=["one chunk", "chunks"])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv_matches_direct_loops(case, chunks, monkeypatch):
    c, o, k, s, p, (h, w) = case
    conv = make_conv(c, o, k, s, p)
    if chunks:  # chunks of 2 examples: 5 examples make chunks of 2, 2 and 1
        columns = c * conv.kernel_size[0] * conv.kernel_size[1] + 1
        monkeypatch.setattr(conv, "_chunk_values", 2 * columns * np.prod(conv.output_shape((c, h, w))[1:]))
        assert conv._chunk(5, np.prod(conv.output_shape((c, h, w))[1:])) == 2
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, c, h, w))
    out = conv.forward(x)
    expected, backward = conv_reference(x, conv.weight.value, conv.bias.value, conv.stride, conv.padding)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    g = rng.normal(size=out.shape)
    dx, dw, db = backward(g)
    np.testing.assert_allclose(conv.backward(g), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.weight.grad, dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.bias.grad, db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv_gradients_match_finite_differences(case):
    c, o, k, s, p, (h, w) = case
    conv = make_conv(c, o, k, s, p)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, c, h, w))
    g = rng.normal(size=(2, *conv.output_shape((c, h, w))))
    conv.forward(x)
    dx = conv.backward(g).copy()
    dw, db = conv.weight.grad.copy(), conv.bias.grad.copy()

    def loss():
        return float(np.sum(conv.forward(x) * g))

    assert relative_error(dx, numeric_grad(loss, x)) < 1e-8
    assert relative_error(dw, numeric_grad(loss, conv.weight.value)) < 1e-8
    assert relative_error(db, numeric_grad(loss, conv.bias.value)) < 1e-8


def test_conv_without_input_gradient_fills_the_same_parameter_gradients():
    for c in (1, 4):  # both layouts
        conv = make_conv(c, 3, 3, 1, 1)
        x = np.random.default_rng(4).normal(size=(3, c, 6, 5))
        g = np.random.default_rng(5).normal(size=(3, 3, 6, 5))
        conv.forward(x)
        assert conv.backward(g).shape == x.shape
        dw, db = conv.weight.grad.copy(), conv.bias.grad.copy()
        conv.weight.grad[:] = conv.bias.grad[:] = 0
        assert conv.backward(g, input_grad=False) is None
        np.testing.assert_array_equal(conv.weight.grad, dw)
        np.testing.assert_array_equal(conv.bias.grad, db)


def test_conv_reuses_its_buffers_and_takes_other_batch_sizes():
    conv = Conv2D(3, 4, 3, padding=1, seed=0)
    x = np.random.default_rng(0).random((6, 3, 8, 8), dtype=np.float32)
    first = conv.forward(x)
    values = first.copy()
    assert np.shares_memory(conv.forward(x), first)
    np.testing.assert_array_equal(first, values)
    small = conv.forward(x[:2])
    np.testing.assert_allclose(small, values[:2], rtol=1e-6)
    np.testing.assert_array_equal(conv.forward(x), values)  # the zeros of padding stayed zeros
    assert conv.forward(x[:, :, :7, :5]).shape == (6, 4, 7, 5)


def test_float32_conv_agrees_with_float64():
    conv = Conv2D(4, 6, 3, stride=2, padding=1, seed=0)
    conv64 = conv.astype("float64")
    x = np.random.default_rng(0).random((3, 4, 9, 9))
    out32 = conv.forward(x.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, conv64.forward(x), rtol=1e-5, atol=1e-5)
    g = np.ones(out32.shape)
    dx32 = conv.backward(g.astype(np.float32))
    assert dx32.dtype == np.float32 and conv.weight.grad.dtype == np.float32
    np.testing.assert_allclose(dx32, conv64.backward(g), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(conv.weight.grad, conv64.weight.grad, rtol=1e-5, atol=1e-4)


# --- pooling --------------------------------------------------------------------------

POOL_CASES = [
    # kernel, stride, (H, W)
    (2, None, (8, 8)),  # the usual 2x2
    (2, None, (7, 9)),  # odd sizes: the last row and column are not read
    (3, 2, (9, 8)),  # overlapping windows
    (3, 1, (6, 7)),
    ((2, 3), (1, 2), (7, 8)),  # non-square, overlapping along one axis
    (2, 3, (8, 8)),  # gaps between the windows
    ((1, 2), None, (4, 6)),
    (1, None, (4, 4)),
]


def distinct_values(shape, seed):
    """Values at least 0.009 apart: no ties, and a finite difference never changes a maximum."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.01 + rng.uniform(0, 0.001, shape)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool_matches_direct_loops_and_finite_differences(case, kind):
    k, s, (h, w) = case
    pool = MaxPool2D(k, s) if kind == "max" else AvgPool2D(k, s)
    x = distinct_values((2, 3, h, w), seed=0)
    out = pool.forward(x)
    expected, backward = pool_reference(x, pool.kernel_size, pool.stride, kind)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert out.shape == (2, *pool.output_shape((3, h, w)))
    g = np.random.default_rng(1).normal(size=out.shape)
    dx = pool.backward(g).copy()
    np.testing.assert_allclose(dx, backward(g), rtol=1e-12, atol=1e-15)
    numeric = numeric_grad(lambda: float(np.sum(pool.forward(x) * g)), x)
    assert relative_error(dx, numeric) < 1e-8
    pool.training = False  # inference takes another path for the maximum
    np.testing.assert_allclose(pool.forward(x), expected, rtol=1e-12)


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_maxpool_gives_ties_to_the_first_maximum(case):
    k, s, (h, w) = case
    pool = MaxPool2D(k, s)
    x = np.random.default_rng(2).integers(0, 3, size=(2, 3, h, w)).astype(np.float64)  # many ties
    x[0, 0] = 0.0  # all equal
    out = pool.forward(x)
    expected, backward = pool_reference(x, pool.kernel_size, pool.stride, "max")
    np.testing.assert_array_equal(out, expected)
    g = np.random.default_rng(3).normal(size=out.shape)
    np.testing.assert_allclose(pool.backward(g), backward(g), rtol=1e-12, atol=1e-15)


def test_maxpool_tie_between_rows_goes_to_the_first_row():
    # maxima at (0, 1) and (1, 0): row-major order picks (0, 1)
    x = np.array([[[[0.0, 5.0], [5.0, 1.0]]]])
    pool = MaxPool2D(2)
    pool.forward(x)
    assert pool.backward(np.ones((1, 1, 1, 1)))[0, 0].tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_maxpool_at_inference_keeps_nothing_and_backward_says_so():
    pool = MaxPool2D(2)
    pool.training = False
    out = pool.forward(np.arange(16.0).reshape(1, 1, 4, 4))
    assert out[0, 0].tolist() == [[5.0, 7.0], [13.0, 15.0]]
    with pytest.raises(LayerwiseError, match="training mode"):
        pool.backward(np.ones((1, 1, 2, 2)))


@pytest.mark.parametrize("layer", [MaxPool2D(2), AvgPool2D((3, 2), stride=(2, 1))], ids=repr)
def test_pool_float32_stays_float32(layer):
    x = np.random.default_rng(0).random((2, 3, 9, 8), dtype=np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32


# --- against PyTorch (in the test extra) ----------------------------------------------


def test_layers_match_pytorch():
    import torch  # in the test extra: the peer the layers are compared with

    functional = torch.nn.functional
    rng = np.random.default_rng(0)
    for c, o, k, s, p, (h, w) in CONV_CASES:
        conv = make_conv(c, o, k, s, p)
        x = rng.normal(size=(3, c, h, w))
        out = conv.forward(x)
        g = rng.normal(size=out.shape)
        dx = conv.backward(g)
        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(conv.weight.value, requires_grad=True)
        bt = torch.tensor(conv.bias.value, requires_grad=True)
        ot = functional.conv2d(xt, wt, bt, stride=conv.stride, padding=conv.padding)
        ot.backward(torch.tensor(g))
        np.testing.assert_allclose(out, ot.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(conv.weight.grad, wt.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(conv.bias.grad, bt.grad.numpy(), atol=1e-12)
    for k, s, (h, w) in POOL_CASES:
        for layer, function in (
            (MaxPool2D(k, s), functional.max_pool2d),
            (AvgPool2D(k, s), functional.avg_pool2d),
        ):
            x = rng.integers(0, 4, size=(2, 3, h, w)).astype(np.float64)  # ties included
            out = layer.forward(x)
            g = rng.normal(size=out.shape)
            xt = torch.tensor(x, requires_grad=True)
            ot = function(xt, layer.kernel_size, layer.stride)
            ot.backward(torch.tensor(g))
            np.testing.assert_allclose(out, ot.detach().numpy(), atol=1e-12)
            np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), atol=1e-12)


# --- in a network -----------------------------------------------------------------------


def test_network_of_conv_and_pool_layers_passes_gradcheck():
    layers = [
        lw.Reshape((2, 7, 6)),
        Conv2D(2, 3, (3, 2), stride=(1, 2), padding=1, seed=0),
        lw.ReLU(),
        MaxPool2D(2, stride=1),
        Conv2D(3, 4, 3, stride=2, padding=1, seed=1),
        lw.Tanh(),
        AvgPool2D((2, 1)),
        lw.Flatten(),
        lw.Linear(4 * 1 * 2, 3, seed=2),
    ]
    net = lw.Network(layers)
    assert net.shapes[1:7] == [(3, 7, 4), (3, 7, 4), (3, 6, 3), (4, 3, 2), (4, 3, 2), (4, 1, 2)]
    X = np.random.default_rng(0).normal(size=(4, 2 * 7 * 6))
    errors = lw.gradcheck(net, X, [0, 1, 2, 1])
    assert max(errors.values()) < 1e-6, errors


# --- construction, shapes, copies -------------------------------------------------------


def test_conv_attributes_parameters_and_repr():
    conv = Conv2D(1, 32, kernel_size=3, padding=1, seed=0)
    assert repr(conv) == "Conv2D(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dtype=float32)"
    assert (conv.in_channels, conv.out_channels, conv.init) == (1, 32, "he_uniform")
    assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 3), (1, 1), (1, 1))
    assert conv.output_reusable and conv.dtype == np.float32
    assert [(p.name, p.value.shape, p.decay) for p in conv.parameters()] == [
        ("weight", (32, 1, 3, 3), True),
        ("bias", (32,), False),
    ]
    assert not conv.bias.value.any()
    other = Conv2D(3, 8, (3, 5), stride=(2, 1), padding=(0, 2), dtype=np.float64)
    assert repr(other) == "Conv2D(3, 8, kernel_size=(3, 5), stride=(2, 1), padding=(0, 2), dtype=float64)"


@pytest.mark.parametrize(
    "init, fan_in, fan_out",
    [("he_uniform", 32 * 9, None), ("he_normal", 32 * 9, None), ("glorot_uniform", 32 * 9, 64 * 9)],
)
def test_conv_inits_use_the_fans_of_the_kernel(init, fan_in, fan_out):
    w = Conv2D(32, 64, 3, init=init, dtype="float64", seed=0).weight.value
    if init == "he_normal":
        assert abs(w.std() / np.sqrt(2 / fan_in) - 1) < 0.02
        return
    limit = np.sqrt(6 / fan_in) if fan_out is None else np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit


def test_conv_seed_makes_the_same_weights():
    a, b = Conv2D(3, 4, 3, seed=7), Conv2D(3, 4, 3, seed=7)
    np.testing.assert_array_equal(a.weight.value, b.weight.value)
    assert not np.array_equal(a.weight.value, Conv2D(3, 4, 3, seed=8).weight.value)


def test_output_shapes():
    assert Conv2D(1, 32, 3, padding=1).output_shape((1, 28, 28)) == (32, 28, 28)
    assert Conv2D(3, 8, (3, 5), stride=2, padding=(1, 2)).output_shape((3, 32, 31)) == (8, 16, 16)
    assert Conv2D(2, 4, 5).output_shape((2, 5, 9)) == (4, 1, 5)
    assert MaxPool2D(2).output_shape((32, 28, 28)) == (32, 14, 14)
    assert MaxPool2D(2).output_shape((64, 7, 7)) == (64, 3, 3)
    assert AvgPool2D(3, stride=2).output_shape((8, 7, 6)) == (8, 3, 2)
    assert AvgPool2D((1, 2), stride=(1, 3)).output_shape((1, 4, 8)) == (1, 4, 3)


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (
            Conv2D(3, 8, 3),
            (1, 28, 28),
            r"takes images of shape \(3, H, W\), not inputs of shape \(1, 28, 28\)",
        ),
        (Conv2D(1, 8, 3), (784,), r"takes images of shape \(1, H, W\)"),
        (Conv2D(1, 8, 5, padding=1), (1, 2, 9), "kernel larger than the padded image"),
        (MaxPool2D(3), (4, 2, 9), "window larger than the image"),
        (AvgPool2D(2), (4, 9), r"takes images of shape \(C, H, W\)"),
    ],
    ids=str,
)
def test_output_shape_errors(layer, shape, message):
    with pytest.raises(LayerwiseError, match=message):
        layer.output_shape(shape)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Conv2D(0, 8, 3), "in_channels must be a positive int"),
        (lambda: Conv2D(1, -2, 3), "out_channels must be a positive int"),
        (lambda: Conv2D(1.5, 2, 3), "in_channels must be a positive int"),
        (lambda: Conv2D(1, 2, 0), "kernel_size must be positive"),
        (lambda: Conv2D(1, 2, (3, 3, 3)), "kernel_size must be an int or a pair of ints"),
        (lambda: Conv2D(1, 2, 3.0), "kernel_size must be an int or a pair of ints"),
        (lambda: Conv2D(1, 2, True), "kernel_size must be an int or a pair of ints"),
        (lambda: Conv2D(1, 2, 3, stride=0), "stride must be positive"),
        (lambda: Conv2D(1, 2, 3, padding=-1), "padding must be non-negative"),
        (lambda: Conv2D(1, 2, 3, padding=(1, "a")), "padding must be an int or a pair of ints"),
        (lambda: Conv2D(1, 2, 3, init="xavier"), "unknown init 'xavier'"),
        (lambda: Conv2D(1, 2, 3, dtype="int32"), "dtype must be float32 or float64"),
        (lambda: MaxPool2D(0), "MaxPool2D kernel_size must be positive"),
        (lambda: MaxPool2D(2, stride=(1, 0)), "MaxPool2D stride must be positive"),
        (lambda: AvgPool2D((2,)), "AvgPool2D kernel_size must be an int or a pair of ints"),
    ],
)
def test_bad_arguments_raise_one_sentence(make, message):
    with pytest.raises(LayerwiseError, match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_forward_refuses_batches_of_the_wrong_shape():
    with pytest.raises(LayerwiseError, match=r"takes batches of shape \(N, 3, H, W\)"):
        Conv2D(3, 4, 3).forward(np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(LayerwiseError, match="kernel larger than the padded images"):
        Conv2D(1, 4, 3).forward(np.zeros((2, 1, 2, 8), np.float32))
    with pytest.raises(LayerwiseError, match=r"takes batches of shape \(N, C, H, W\)"):
        MaxPool2D(2).forward(np.zeros((2, 8, 8)))
    with pytest.raises(LayerwiseError, match="window larger than the images"):
        AvgPool2D(3).forward(np.zeros((2, 1, 2, 8)))


def test_pool_attributes_and_repr():
    pool = MaxPool2D(2)
    assert (pool.kernel_size, pool.stride) == ((2, 2), (2, 2))
    assert repr(pool) == "MaxPool2D(kernel_size=(2, 2), stride=(2, 2))"
    assert repr(AvgPool2D((3, 2), stride=1)) == "AvgPool2D(kernel_size=(3, 2), stride=(1, 1))"
    assert pool.parameters() == [] and not pool.output_reusable


def test_astype_copies_without_buffers():
    conv = Conv2D(2, 3, 3, padding=1, seed=0)
    conv.bias.value[:] = [1.0, 2.0, 3.0]
    conv.forward(np.ones((2, 2, 5, 5), np.float32))
    copy64 = conv.astype("float64")
    assert copy64.dtype == np.float64 and conv.dtype == np.float32
    assert repr(copy64).endswith("dtype=float64)")
    np.testing.assert_allclose(copy64.weight.value, conv.weight.value)
    np.testing.assert_array_equal(copy64.bias.value, [1.0, 2.0, 3.0])
    assert copy64.weight is not conv.weight and not copy64.weight.grad.any()
    assert "_buffers" not in copy64.__dict__ and "_x" not in copy64.__dict__
    assert (copy64.kernel_size, copy64.stride, copy64.padding) == (
        conv.kernel_size,
        conv.stride,
        conv.padding,
    )
    with pytest.raises(LayerwiseError, match="dtype must be float32 or float64"):
        conv.astype("float16")
    pool = MaxPool2D(2)
    pool.forward(np.ones((2, 2, 4, 4)))
    assert pool.astype("float32") is not pool and repr(pool.astype("float32")) == repr(pool)


def test_pickled_layers_leave_out_buffers_and_the_last_batch():
    conv, pool = Conv2D(3, 8, 3, padding=1, seed=0), MaxPool2D(2)
    x = np.ones((64, 3, 16, 16), np.float32)
    pool.forward(conv.forward(x))
    for layer in (conv, pool):
        state = pickle.loads(pickle.dumps(layer)).__dict__
        assert not {"_buffers", "_x", "_index"} & set(state)
        assert len(pickle.dumps(layer)) < 10_000
    again = copy.deepcopy(conv)
    np.testing.assert_array_equal(again.forward(x), conv.forward(x))
