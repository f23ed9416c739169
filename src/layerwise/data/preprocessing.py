"""Preprocessing fitted on training data only (scaling to [0, 1], standardisation) and a
stratified, seeded validation split. The fitted statistics are a ``lw.Preprocessing``,
which model files keep so that evaluation and prediction apply the same map."""

import numpy as np

from ..errors import LayerwiseError
from ..nn.model import Preprocessing

SCALINGS = ("unit", "standard", "none")


def fit_preprocessing(
    X_train, scaling="unit", *, pixel_max=None, image_shape=None, polarity="auto", framing="auto"
):
    """A Preprocessing fitted on the training rows ``X_train``.

    ``scaling``: "unit" divides by ``pixel_max`` (the raw value of full intensity, 255 for
    MNIST) or, without one, by the training data's largest absolute value, so inputs lie
    in [0, 1] (or [-1, 1]); "standard" does that and then subtracts each feature's mean and
    divides by its standard deviation, both from the training data (1 for constant
    features); "none" leaves the data as it is.

    For image data (an ``image_shape``), ``polarity`` and ``framing`` record what the raw
    training images look like, for ``layerwise predict`` to prepare people's images the
    same way: "auto" fits them with ``image_polarity`` and ``image_framing``; a value (or
    None: unknown) is kept as it is. Without an ``image_shape`` both are None.

    Examples
    --------
    >>> import numpy as np
    >>> from layerwise.data import load_digits
    >>> digits = load_digits()
    >>> fit_preprocessing(digits.X_train, pixel_max=16, image_shape=(8, 8))
    Preprocessing(scale=0.0625, image_shape=(8, 8), pixel_max=16, polarity='dark_background', framing='none')
    >>> fit_preprocessing(np.array([[1.0, -2.0]]), "standard")
    Preprocessing(scale=0.5, mean=<2 values>, std=<2 values>)
    """
    if scaling not in SCALINGS:
        raise LayerwiseError(f"unknown scaling {scaling!r}; choose one of {', '.join(SCALINGS)}")
    if image_shape is None:
        polarity = framing = None
    else:
        if polarity == "auto":
            polarity = image_polarity(X_train, image_shape)
        if framing == "auto":
            framing = image_framing(X_train, image_shape, polarity)
    images = dict(image_shape=image_shape, pixel_max=pixel_max, polarity=polarity, framing=framing)
    if scaling == "none":
        return Preprocessing(**images)
    top = pixel_max or float(np.abs(X_train).max()) or 1.0
    mean = std = None
    if scaling == "standard":
        mean = X_train.mean(axis=0, dtype=np.float64) / top
        std = X_train.std(axis=0, dtype=np.float64) / top
        std[std <= 1e-12] = 1.0
    return Preprocessing(scale=1 / top, mean=mean, std=std, **images)


# --- what raw images look like ---------------------------------------------------------

SAMPLE = 2000  # training images looked at to fit polarity and framing
SMALLEST_FRAMED = 16  # images with a side shorter than this are not reframed


def border(image):
    """The pixels on the edge of a 2-D image, each once.

    Examples
    --------
    >>> border(np.arange(9).reshape(3, 3)).tolist()
    [0, 1, 2, 6, 7, 8, 3, 5]
    """
    image = np.asarray(image)
    if min(image.shape) < 3:
        return image.ravel()
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def has_light_background(image):
    """True when a 2-D image is darker inside than on its edge (the median of its border
    pixels is above the mean of all of them), False when lighter, None when neither.

    Examples
    --------
    >>> digit = np.zeros((5, 5))
    >>> digit[1:4, 2] = 1.0  # a bright stroke on black
    >>> has_light_background(digit), has_light_background(1 - digit), has_light_background(np.ones((5, 5)))
    (False, True, None)
    """
    image = np.asarray(image, dtype=np.float64)
    edge, whole = float(np.median(border(image))), float(image.mean())
    tolerance = 0.01 * (float(image.max()) - float(image.min()))
    if abs(edge - whole) <= tolerance:
        return None
    return edge > whole


def _sample(X, image_shape):
    X = np.asarray(X)
    step = max(1, len(X) // SAMPLE)
    return X[::step][:SAMPLE].reshape(-1, *image_shape)


def image_polarity(X, image_shape):
    """The background most rows of ``X`` (images of
    ``image_shape``) have, by ``has_light_background``: "dark_background" or
    "light_background"; None when undecided.

    Examples
    --------
    >>> from layerwise.data import load_digits
    >>> image_polarity(load_digits().X_train, (8, 8))
    'dark_background'
    >>> image_polarity(16 - load_digits().X_train, (8, 8))
    'light_background'
    """
    votes = [has_light_background(image) for image in _sample(X, image_shape)]
    light, dark = votes.count(True), votes.count(False)
    if light == dark:
        return None
    return "light_background" if light > dark else "dark_background"


def image_framing(X, image_shape, polarity):
    """How the images in the rows of ``X`` were framed: "mnist", "fill" or "none".

    Images smaller than 16 pixels a side (the 8x8 digits) are "none": they are used as
    drawn. Otherwise the ink (the pixels above a tenth of an image's brightest, after
    inverting light-background images) has a bounding box: when its longer side spans 90%
    of the frame or more (the median over the images), the content fills the frame, as
    Fashion-MNIST's items do ("fill"); when it is smaller and its centre of mass sits near
    the middle, the images were framed as MNIST's digits ("mnist": 20x20 of 28x28, centred
    by mass); otherwise "none".

    Examples
    --------
    >>> X = np.zeros((3, 28, 28))
    >>> X[:, 6:22, 10:18] = 255.0  # digits 16 pixels tall, in the middle
    >>> image_framing(X.reshape(3, -1), (28, 28), "dark_background")
    'mnist'
    >>> X[:, 0:28, 4:24] = 255.0  # items filling the frame
    >>> image_framing(X.reshape(3, -1), (28, 28), "dark_background")
    'fill'
    >>> image_framing(np.zeros((1, 64)), (8, 8), "dark_background")
    'none'
    """
    if min(image_shape) < SMALLEST_FRAMED:
        return "none"
    spans, offsets = [], []
    for image in _sample(X, image_shape).astype(np.float64):
        if polarity == "light_background":
            image = image.max() - image
        box = ink_box(image)
        if box is None:
            continue
        top, bottom, left, right = box
        spans.append(max((bottom - top) / image.shape[0], (right - left) / image.shape[1]))
        centre = np.array(image.shape) / 2 - 0.5
        offsets.append(np.abs(mass_centre(image) - centre).max() / max(image.shape))
    if not spans:
        return "none"
    if np.median(spans) >= 0.9:
        return "fill"
    return "mnist" if np.median(offsets) <= 0.1 else "none"


def ink_box(ink):
    """(top, bottom, left, right), ends exclusive, of the pixels of a 2-D image (bright ink
    on a dark background) above a tenth of its brightest; None for a blank image.

    Examples
    --------
    >>> ink = np.zeros((6, 6))
    >>> ink[2:4, 1:5] = 1.0
    >>> ink_box(ink)
    (2, 4, 1, 5)
    """
    ink = np.asarray(ink)
    peak = float(ink.max())
    if peak <= 0:
        return None
    rows, cols = np.nonzero(ink > 0.1 * peak)
    return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1


def mass_centre(ink):
    """The (row, column) centre of mass of a 2-D image of non-negative values.

    Examples
    --------
    >>> ink = np.zeros((5, 5))
    >>> ink[1, 1] = ink[1, 3] = 1.0
    >>> mass_centre(ink).tolist()
    [1.0, 2.0]
    """
    ink = np.asarray(ink, dtype=np.float64)
    total = ink.sum()
    if total <= 0:
        return (np.array(ink.shape) - 1) / 2
    rows, cols = np.indices(ink.shape)
    return np.array([(rows * ink).sum() / total, (cols * ink).sum() / total])


def stratified_split(y, fraction, seed=None):
    """Indices (train, valid), each sorted, with about ``fraction`` of each class in valid.

    Each class gives round(fraction * its count) examples, chosen by a generator seeded
    from ``seed``; a class with a single example stays in training.
    """
    y = np.asarray(y)
    if not 0 < fraction < 1:
        raise LayerwiseError(f"the validation fraction must be between 0 and 1, not {fraction}")
    rng = np.random.default_rng(seed)
    valid = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        take = min(int(round(fraction * len(members))), len(members) - 1)
        valid.append(rng.permutation(members)[:take])
    valid = np.sort(np.concatenate(valid)) if valid else np.array([], np.intp)
    if len(valid) == 0:
        raise LayerwiseError(f"{len(y)} examples are too few to split off a validation set of {fraction:g}")
    keep = np.ones(len(y), bool)
    keep[valid] = False
    return np.flatnonzero(keep), valid
