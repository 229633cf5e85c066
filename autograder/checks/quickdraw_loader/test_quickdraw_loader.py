"""Hidden checks of the quickdraw_loader assignment (graded cells: test_quickdraw_dataset,
test_make_loaders, test_model_and_training, test_trained_model, test_misclassified,
test_inmemory_dataset).

The Dataset contract is checked on hidden PNG files that the grader draws from the run's seed
and writes into the sandbox; the trained ``model`` is scored on the instructor's held-out
drawings (only the images go in; the labels stay in this process). The training loop, evaluate and
predict are judged on a network the grader builds in the sandbox (a small nn.Sequential with start
weights from the run's generator, fed by a DataLoader over grader tensors): its trained weights are
copied out as data and compared with the reference train_model's from the same start, run here.
misclassified is judged on a linear network of the grader's whose classes it computes here from the
same weights, on drawings and labels it draws.
"""

import csv
import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from autograder.grading.expect import (
    CheckFailed,
    check,
    expect,
    expect_close,
    expect_float,
    expect_same_update,
    is_tensor,
    module_state,
)

SPLITS = {"train": 24, "valid": 10, "test": 10}
BAR = 0.92  # held-out accuracy for full credit (the assignment's bar)
CHANCE = 0.60  # at or below this: no credit


def png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image, mode="L").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def hidden(student, grading):
    """Hidden train/valid/test splits in the course layout, written into the sandbox."""
    rng = np.random.default_rng([grading.seed, 4711])
    files, truth = {}, {}
    for split, n in SPLITS.items():
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0], images[1] = 0, 255
        labels = rng.integers(0, 3, size=n)
        names = [f"{split}/{rng.integers(16**8):08x}_{i}.png" for i in range(n)]
        rows = io.StringIO()
        writer = csv.writer(rows, lineterminator="\n")
        writer.writerow(["filename", "label"])
        for name, image, label in zip(names, images, labels, strict=True):
            files[name] = png(image)
            writer.writerow([name, int(label)])
        files[f"{split}.csv"] = rows.getvalue().encode()
        truth[split] = SimpleNamespace(images=images, labels=labels, names=names)
    root = student.put_files(f"hidden_{rng.integers(16**8):08x}", files)
    return SimpleNamespace(root=root, **truth)


def expect_item(item, what):
    expect(isinstance(item, tuple) and len(item) == 2, f"{what}: expected the pair (image, label)")
    image, label = item
    expect(is_tensor(image), f"{what}: expected the image as a tensor, got {type(image).__name__}")
    expect(image.dtype == torch.float32 and tuple(image.shape) == (1, 28, 28),
           f"{what}: expected a float32 image of shape (1, 28, 28), got {image.dtype} {tuple(image.shape)}")
    expect(type(label) is int, f"{what}: expected the label as a Python int, got {type(label).__name__}")
    return image, label


def expect_batch(batch, size, what):
    expect(isinstance(batch, (tuple, list)) and len(batch) == 2, f"{what}: expected a batch (images, labels)")
    images, labels = batch
    expect(is_tensor(images) and is_tensor(labels), f"{what}: images and labels must be tensors")
    expect(images.dtype == torch.float32 and tuple(images.shape) == (size, 1, 28, 28),
           f"{what}: expected float32 images of shape ({size}, 1, 28, 28), got {images.dtype} {tuple(images.shape)}")
    expect(labels.dtype == torch.int64 and tuple(labels.shape) == (size,),
           f"{what}: expected int64 labels of shape ({size},), got {labels.dtype} {tuple(labels.shape)}")
    return images, labels


def epoch(loader, what):
    images, labels = [], []
    for batch in loader:
        x, y = expect_batch(batch, len(batch[1]) if isinstance(batch, (tuple, list)) and len(batch) == 2
                            and is_tensor(batch[1]) else -1, what)
        images.append(x)
        labels.append(y)
    expect(images, f"{what}: the loader gave no batches")
    return torch.cat(images), torch.cat(labels)


# -- test_quickdraw_dataset -----------------------------------------------------------------

@check("test_quickdraw_dataset")
def test_dataset_contract(student, hidden):
    ds = student.QuickDrawDataset(hidden.root, "valid")
    expect("torch.utils.data.dataset.Dataset" in ds.describe()["mro"], "QuickDrawDataset must subclass Dataset")
    expect(len(ds) == SPLITS["valid"],
           f"len(QuickDrawDataset(root, 'valid')): expected {SPLITS['valid']}, got {len(ds)}")
    for i in range(SPLITS["valid"]):
        expect_item(ds[i], f"dataset[{i}]")
    # QuickDrawDataset opens the PNG per item: a file changed after __init__ shows its new pixels.
    changed = 255 - hidden.valid.images[2]
    student.put_files(hidden.root, {hidden.valid.names[2]: png(changed)})
    try:
        image, _ = expect_item(ds[2], "dataset[2]")
        expect_close(image[0], changed / 255.0, "dataset[2] after its PNG file changed (each item must be read "
                     "from its file when requested)", atol=1e-6)
    finally:
        student.put_files(hidden.root, {hidden.valid.names[2]: png(hidden.valid.images[2])})


@check("test_quickdraw_dataset")
def test_dataset_values(student, hidden):
    ds = student.QuickDrawDataset(hidden.root, "train")
    for i in range(SPLITS["train"]):
        image, label = expect_item(ds[i], f"dataset[{i}]")
        expect(label == int(hidden.train.labels[i]),
               f"dataset[{i}]: expected label {hidden.train.labels[i]}, got {label}")
        expect_close(image[0], hidden.train.images[i] / 255.0, f"dataset[{i}]: pixels (pixel / 255)", atol=1e-6)


@check("test_quickdraw_dataset")
def test_dataset_on_homework(student, grading):
    folder = grading.data_root / "homework"
    with open(folder / "valid.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    ds = student.QuickDrawDataset("data/homework", "valid")
    expect(len(ds) == len(rows), f"QuickDrawDataset on the homework data: expected {len(rows)} items, got {len(ds)}")
    for i in (0, len(rows) // 2, len(rows) - 1):
        image, label = expect_item(ds[i], f"homework valid item {i}")
        expected = np.asarray(Image.open(folder / rows[i]["filename"]), dtype=np.float64) / 255.0
        expect(label == int(rows[i]["label"]),
               f"homework valid item {i}: expected label {rows[i]['label']}, got {label}")
        expect_close(image[0], expected, f"homework valid item {i}: pixels", atol=1e-6)


# -- test_make_loaders ----------------------------------------------------------------------

@check("test_make_loaders")
def test_loader_batches(student, hidden, rng):
    loaders = student.make_loaders(hidden.root, batch_size=5, seed=int(rng.integers(1000)))
    expect(isinstance(loaders, dict) and sorted(loaders) == ["test", "train", "valid"],
           "make_loaders: expected a dict with the keys train, valid, test")
    images, _ = expect_batch(next(iter(loaders["train"])), 5, "first train batch")
    expect(float(images.min()) >= 0.0 and float(images.max()) <= 1.0, "train batch: pixel values must be in [0, 1]")
    expect_batch(next(iter(loaders["test"])), 5, "first test batch")


@check("test_make_loaders")
def test_loader_order(student, hidden, rng):
    seed = int(rng.integers(1000))
    valid_images, valid_labels = epoch(student.make_loaders(hidden.root, batch_size=4, seed=seed)["valid"],
                                       "valid loader")
    expect_close(valid_labels, hidden.valid.labels, "valid loader: labels of one epoch, in file order", atol=0)
    expect_close(valid_images[:, 0], hidden.valid.images / 255.0, "valid loader: images of one epoch, in file order",
                 atol=1e-6)
    orders = [epoch(student.make_loaders(hidden.root, batch_size=4, seed=s)["train"], "train loader")[0]
              for s in (seed, seed, seed + 1)]
    expect(torch.equal(orders[0], orders[1]), "train loader: the same seed must give the same order")
    expect(not torch.equal(orders[0], orders[2]), "train loader: another seed must give another order")
    expect_close(np.sort(orders[0].numpy().reshape(len(orders[0]), -1), axis=0),
                 np.sort(hidden.train.images.reshape(SPLITS["train"], -1) / 255.0, axis=0),
                 "train loader: one epoch holds every item once", atol=1e-6)


# -- test_model_and_training ----------------------------------------------------------------

@check("test_model_and_training")
def test_model_shape(student, rng):
    n_classes = int(rng.integers(2, 7))
    net = student.QuickDrawMLP(n_classes=n_classes)
    out = net(torch.tensor(rng.uniform(size=(4, 1, 28, 28)), dtype=torch.float32))
    expect(is_tensor(out) and tuple(out.shape) == (4, n_classes),
           f"QuickDrawMLP(n_classes={n_classes}) on (4, 1, 28, 28): expected logits of shape (4, {n_classes})")
    for module in net.modules():
        expect("torch.nn.modules.conv._ConvNd" not in module.describe()["mro"], "an MLP has no convolutions")


HIDDEN_UNITS = 12
PROBE_SHAPES = {"1.weight": (HIDDEN_UNITS, 784), "1.bias": (HIDDEN_UNITS,),
                "3.weight": (3, HIDDEN_UNITS), "3.bias": (3,)}


def probe_layers(nn):
    """The layers of the grader's network, from the ``nn`` module given (the sandbox's or ours)."""
    return [nn.Flatten(), nn.Linear(784, HIDDEN_UNITS), nn.ReLU(), nn.Linear(HIDDEN_UNITS, 3)]


@pytest.fixture
def probe(student, rng):
    """(the grader's network in the sandbox, its start weights, the same network here)."""
    start = {k: rng.normal(0, 0.05, size=shape).astype(np.float32) for k, shape in PROBE_SHAPES.items()}
    remote = student.torch.nn.Sequential(*probe_layers(student.torch.nn))
    remote.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()})
    local = torch.nn.Sequential(*probe_layers(torch.nn))
    local.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()})
    return remote, start, local


def loaders_of(split, batch_size, student=None):
    """A DataLoader over a hidden split's tensors: in the sandbox (``student``) or here."""
    images = torch.from_numpy(split.images[:, None].astype(np.float32) / 255.0)
    labels = torch.from_numpy(split.labels.astype(np.int64))
    data = student.torch.utils.data if student is not None else torch.utils.data
    return data.DataLoader(data.TensorDataset(images, labels), batch_size=batch_size)


@check("test_model_and_training")
def test_train_model(student, reference, hidden, probe):
    remote, start, local = probe
    settings = {"epochs": 2, "lr": 0.01, "seed": 0}
    history = student.train_model(remote, loaders_of(hidden.train, 8, student), loaders_of(hidden.valid, 5, student),
                                  **settings)
    expect(isinstance(history, dict) and sorted(history) == ["train_loss", "valid_accuracy", "valid_loss"],
           "train_model: expected a dict with train_loss, valid_loss, valid_accuracy")
    expected = reference.train_model(local, loaders_of(hidden.train, 8), loaders_of(hidden.valid, 5), **settings)
    for key, values in history.items():
        expect(isinstance(values, list) and len(values) == 2,
               f"train_model(..., epochs=2): history[{key!r}] must hold 2 values")
        for value in values:
            expect_float(value, f"history[{key!r}] entries")
        expect_close(np.asarray(values), np.asarray(expected[key]), f"history[{key!r}] of a network trained with "
                     "train_model (Adam, cross-entropy)", rtol=1e-3, atol=1e-5)
    trained = module_state(student, remote, "the trained network", PROBE_SHAPES)
    expect_same_update(start, trained, {k: v.detach().numpy() for k, v in local.state_dict().items()},
                       "train_model (Adam with the given lr, cross-entropy, every training batch once per epoch)", 1e-2)


@check("test_model_and_training")
def test_evaluate_and_predict(student, hidden, probe):
    remote, _, local = probe
    x = torch.from_numpy(hidden.valid.images[:, None].astype(np.float32) / 255.0)
    with torch.no_grad():
        expected_pred = local(x).argmax(dim=1).numpy()
    for labels in (hidden.valid.labels, expected_pred, (expected_pred + 1) % 3):
        split = SimpleNamespace(images=hidden.valid.images, labels=labels)
        accuracy = expect_float(student.evaluate(remote, loaders_of(split, 4, student)), "evaluate(model, loader)")
        expected = float(np.mean(expected_pred == labels))
        expect(abs(accuracy - expected) < 1e-6, f"evaluate(model, loader): expected {expected:.4f}, got {accuracy:.4f}")
    pred = student.predict(remote, hidden.valid.images)
    expect(isinstance(pred, np.ndarray) and pred.dtype == np.int64 and pred.shape == (SPLITS["valid"],),
           f"predict(model, images): expected an int64 array of shape ({SPLITS['valid']},)")
    expect(np.array_equal(pred, expected_pred), "predict must prepare raw uint8 images the way the Dataset does "
                                                "(pixel / 255, shape (N, 1, 28, 28))")


# -- test_trained_model ---------------------------------------------------------------------

@check("test_trained_model")
def test_heldout_accuracy(student, grading, credit):
    with np.load(grading.data_root / "instructor" / "homework_heldout.npz", allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    model = student.model
    for module in model.call_method("modules"):
        expect("torch.nn.modules.conv._ConvNd" not in module.describe()["mro"], "model: an MLP has no convolutions")
    with student.time_limit(60):
        pred = student.predict(model, images)
        logits = model(torch.from_numpy(images[:, None].astype(np.float32) / 255.0))
    expect(isinstance(pred, np.ndarray) and pred.shape == labels.shape and pred.dtype.kind in "iu",
           f"predict(model, held-out images): expected an integer array of shape {labels.shape}")
    expect(is_tensor(logits) and tuple(logits.shape) == (len(labels), 3),
           f"model(held-out images): expected logits of shape ({len(labels)}, 3)")
    agree = float(np.mean(logits.argmax(dim=1).numpy() == pred))
    expect(agree >= 0.995, f"predict(model, images) must give the model's own predictions (the arg-max of its "
                           f"logits on pixel / 255): they agree on {agree:.1%} of the held-out drawings")
    accuracy = float(np.mean(pred == labels))
    if accuracy < BAR:
        credit.set((accuracy - CHANCE) / (BAR - CHANCE), f"held-out accuracy {accuracy:.3f} < {BAR}")
        raise CheckFailed(f"the trained model: expected held-out accuracy >= {BAR}, got {accuracy:.3f}")


# -- test_misclassified ---------------------------------------------------------------------

def expect_indices(got, expected, what):
    expect(isinstance(got, np.ndarray) and got.dtype == np.int64 and got.ndim == 1,
           f"{what}: expected a 1-D int64 NumPy array of indices")
    expect(np.array_equal(got, expected), f"{what}: expected the indices {expected.tolist()[:12]}"
                                          f"{' ...' if len(expected) > 12 else ''} ({len(expected)} drawings), "
                                          f"got {len(got)} indices")


def band_network(student, rng):
    """(a linear network of the grader's in the sandbox, the same here): class k is the band of rows
    (top, middle, bottom third) with the most ink, up to small random weights."""
    weight = rng.normal(0, 0.01, size=(3, 784)).astype(np.float32)
    for k, rows in enumerate(np.array_split(np.arange(28), 3)):
        band = np.zeros((28, 28), dtype=np.float32)
        band[rows] = 1.0
        weight[k] += band.ravel()
    nets = []
    for nn in (student.torch.nn, torch.nn):
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 3))
        net.load_state_dict({"1.weight": torch.from_numpy(weight), "1.bias": torch.zeros(3)})
        nets.append(net)
    return nets


def banded_drawings(rng, local, n=40):
    """n drawings whose ink is spread over the three bands at random, and the classes ``local`` gives them."""
    brightness = rng.uniform(0, 1, size=(n, 3)).repeat([10, 9, 9], axis=1)[:, :, None]
    images = (rng.integers(0, 256, size=(n, 28, 28)) * brightness).astype(np.uint8)
    with torch.no_grad():
        predicted = local(torch.from_numpy(images[:, None].astype(np.float32) / 255.0)).argmax(dim=1).numpy()
    return images, predicted.astype(np.int64)


@check("test_misclassified")
def test_misclassified_indices(student, rng):
    remote, local = band_network(student, rng)
    images, predicted = banded_drawings(rng, local)
    labels = rng.integers(0, 3, size=len(images)).astype(np.int64)
    expected = np.flatnonzero(predicted != labels)
    expect_indices(student.misclassified(remote, images, labels), expected, "misclassified(model, images, labels)")


@check("test_misclassified")
def test_misclassified_all_or_none(student, rng):
    remote, local = band_network(student, rng)
    images, predicted = banded_drawings(rng, local)
    expect_indices(student.misclassified(remote, images, predicted), np.zeros(0, dtype=np.int64),
                   "misclassified(...) when every prediction is right")
    expect_indices(student.misclassified(remote, images, (predicted + 1) % 3), np.arange(len(images)),
                   "misclassified(...) when every prediction is wrong")


# -- test_inmemory_dataset ------------------------------------------------------------------

@check("test_inmemory_dataset")
def test_inmemory_storage(student, hidden):
    fast = student.InMemoryQuickDrawDataset(hidden.root, "train")
    expect("torch.utils.data.dataset.Dataset" in fast.describe()["mro"],
           "InMemoryQuickDrawDataset must subclass Dataset")
    images, labels = fast.images, fast.labels
    expect(is_tensor(images) and images.dtype == torch.uint8 and tuple(images.shape) == (SPLITS["train"], 28, 28),
           "InMemoryQuickDrawDataset.images: expected a uint8 tensor (N, 28, 28)")
    expect(is_tensor(labels) and labels.dtype == torch.int64,
           "InMemoryQuickDrawDataset.labels: expected an int64 tensor")
    expect_close(images, hidden.train.images, "InMemoryQuickDrawDataset.images", atol=0)
    expect_close(labels, hidden.train.labels, "InMemoryQuickDrawDataset.labels", atol=0)


@check("test_inmemory_dataset")
def test_inmemory_items(student, hidden):
    fast = student.InMemoryQuickDrawDataset(hidden.root, "valid")
    expect(len(fast) == SPLITS["valid"], f"len: expected {SPLITS['valid']}, got {len(fast)}")
    for i in range(SPLITS["valid"]):
        image, label = expect_item(fast[i], f"in-memory dataset[{i}]")
        expect(label == int(hidden.valid.labels[i]),
               f"in-memory dataset[{i}]: expected label {int(hidden.valid.labels[i])}, got {label}")
        expect_close(image[0], hidden.valid.images[i] / 255.0, f"in-memory dataset[{i}]: pixels", atol=1e-6)


@check("test_inmemory_dataset")
def test_inmemory_batches(student, hidden):
    fast = student.InMemoryQuickDrawDataset(hidden.root, "test")
    images, labels = epoch(student.DataLoader(fast, batch_size=3), "DataLoader over InMemoryQuickDrawDataset")
    expect_close(images[:, 0], hidden.test.images / 255.0, "batches of InMemoryQuickDrawDataset: images", atol=1e-6)
    expect_close(labels, hidden.test.labels, "batches of InMemoryQuickDrawDataset: labels", atol=0)
