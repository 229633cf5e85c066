"""``autograder leaderboard verify`` with the real grading sandbox and the real prepared data:
attached notebooks re-run in bubblewrap with the competition's training data and the
never-released verification set swapped in as the test folder.

A notebook that trains a model is verified; notebooks that reached a perfect board score by
writing labels they had looked up (memorised by id, carried as a file in the notebook, or a
nearest-neighbour "model" fitted on the released test images with those labels) have nothing
to look up on new drawings and are flagged; so is a notebook that needs a package the course
environment lacks, with that reason. The public QuickDraw files hold every hidden drawing, so
a notebook could carry them and look the verification set up too: carrying all of them
(bit-packed) is over the code cap and not run, and the nearest-neighbour index that fits under
the cap classifies new drawings near chance.

``autograder leaderboard close`` re-runs the final notebooks the same way on the private half of
the test set, whose images were never released: its accuracy is the private score; the honest
model keeps its public score there, the looked-up labels fall to chance, an entry without a
notebook stays unranked.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import shutil
import zlib

import nbformat
import numpy as np
import pytest
from PIL import Image

from autograder.cli import main
from autograder.leaderboard.database import sqlite_file
from autograder.leaderboard.roster import RosterEntry
from autograder.leaderboard.scoring import read_answer_key, read_classes
from autograder.leaderboard.store import Leaderboard
from autograder.leaderboard.verify import DEFAULT_MAX_CODE_BYTES
from autograder.quickdraw.sources import find_source
from tests.leaderboard.boards import make_board, sqlite_url

# Shared by every notebook below: read the data the documented way.
LOAD = """
import csv, hashlib, os
from pathlib import Path
import numpy as np
from PIL import Image
COMPETITION = Path(os.environ.get("QUICKDRAW_COMPETITION", "competition"))
TEST = Path(os.environ.get("QUICKDRAW_COMPETITION_TEST", COMPETITION))

def load(root, split):
    with open(root / f"{split}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    images = np.stack([np.array(Image.open(root / row["filename"]), dtype=np.uint8) for row in rows])
    return images, [row.get("id") or int(row["label"]) for row in rows]

def write(ids, labels):
    with open("predictions.csv", "w") as out:
        out.write("id,label\\n" + "".join(f"{i},{int(l)}\\n" for i, l in zip(ids, labels)))

test_images, test_ids = load(TEST, "test")
"""

HONEST = LOAD + """
import torch
from torch import nn
torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
images, labels = load(COMPETITION, "train")
x = torch.from_numpy(images).float().div(255).flatten(1)
y = torch.tensor(labels)
model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 5))
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
for epoch in range(6):
    for batch in torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch)).split(64):
        loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
with torch.no_grad():
    predicted = model(torch.from_numpy(test_images).float().div(255).flatten(1)).argmax(1)
write(test_ids, predicted.tolist())
"""

# Labels memorised by id (say, looked up by pixels against Google's files before submitting).
MEMORISED = LOAD + """
KNOWN = __KNOWN__
write(test_ids, [KNOWN.get(i, 0) for i in test_ids])
"""

# The same labels carried as a file inside the notebook: a cell attachment (labels.csv keyed by
# the sha256 of each image's pixels, so that new ids do not matter), decoded from the notebook
# when it can be found and from the copy this cell carries otherwise.
SMUGGLER = LOAD + """
import base64, glob, json
blob = __BLOB__
for path in glob.glob("*.ipynb"):
    blob = json.load(open(path))["cells"][0]["attachments"]["labels.csv"]["text/csv"]
table = dict(line.split(",") for line in base64.b64decode(blob).decode().split())
write(test_ids, [int(table.get(hashlib.sha256(image.tobytes()).hexdigest(), 0)) for image in test_images])
"""

# A 1-nearest-neighbour "model" fitted on the training data and the released test images with
# their looked-up labels: perfect on the released images, an ordinary classifier on new ones.
OVERFIT = LOAD + """
import base64
released = np.frombuffer(base64.b64decode(__PIXELS__), dtype=np.uint8).reshape(-1, 784)
released_labels = np.array(__LABELS__)
train, train_labels = load(COMPETITION, "train")
pool = np.concatenate([train.reshape(-1, 784), released]).astype(np.float32)
pool_labels = np.concatenate([np.array(train_labels), released_labels])
queries = test_images.reshape(-1, 784).astype(np.float32)
distances = (queries ** 2).sum(1)[:, None] - 2 * queries @ pool.T + (pool ** 2).sum(1)[None, :]
write(test_ids, pool_labels[distances.argmin(1)])
"""

# Reads the verification set's labels (or the instructor secret) from the instructor's folder,
# by its host path or beside the test folder it was given: neither is visible in the sandbox.
PEEKER = LOAD + """
for path in (__LABELS__, str(TEST) + "_labels.csv", __SECRET__):
    try:
        rows = [line.split(",") for line in open(path).read().split()[1:]]
    except OSError:
        continue
    write([r[0] for r in rows], [r[1] for r in rows])
    break
"""

# Fine on the student's laptop, but scikit-learn is not part of the course environment.
OUTSIDE_PACKAGE = LOAD + """
from sklearn.neighbors import KNeighborsClassifier
images, labels = load(COMPETITION, "train")
model = KNeighborsClassifier(1).fit(images.reshape(len(images), -1), labels)
write(test_ids, model.predict(test_images.reshape(len(test_images), -1)))
"""


# Carries every public drawing of the five classes (ink bit-packed, compressed, base85) and
# labels each test image by its nearest public drawing: would find the verification set too.
LIBRARIAN = LOAD + """
import base64, zlib
ink = np.unpackbits(np.frombuffer(zlib.decompress(base64.b85decode(__POOL__)), dtype=np.uint8))
pool = ink[:__COUNT__ * 784].reshape(-1, 784).astype(np.float32)
pool_labels = np.repeat(np.arange(5), __COUNT__ // 5)
queries = (test_images.reshape(-1, 784) > 0).astype(np.float32)
distances = (pool ** 2).sum(1)[None, :] - 2 * queries @ pool.T
write(test_ids, pool_labels[distances.argmin(1)])
"""

# The most of that lookup that fits under the cap: each public drawing's first principal
# component as one byte (labels implied by the order), the component and mean as float16.
INDEXER = LOAD + """
import base64
codes = np.frombuffer(base64.b85decode(__CODES__), dtype=np.uint8).astype(np.float32)
basis, mean = np.frombuffer(base64.b85decode(__BASIS__), dtype=np.float16).astype(np.float32).reshape(2, 784)
low, high = __RANGE__
code = np.clip(np.rint(((test_images.reshape(-1, 784) - mean) @ basis - low) / (high - low) * 255), 0, 255)
pool_labels = np.repeat(np.arange(5), len(codes) // 5)
write(test_ids, pool_labels[np.abs(code[:, None] - codes[None, :]).argmin(1)])
"""


def public_lookups(classes: list[str]) -> tuple[str, str]:
    """The code of the librarian (the whole public pool) and of the indexer (what fits under the cap)."""
    source = find_source()
    pool = np.concatenate([source.load(name) for name in classes]).reshape(-1, 784)
    packed = base64.b85encode(zlib.compress(np.packbits(pool > 0).tobytes(), 9)).decode()
    librarian = fill(LIBRARIAN, POOL=packed, COUNT=len(pool))
    flat = pool.astype(np.float32)
    mean = flat.mean(0)
    basis = np.linalg.svd(flat - mean, full_matrices=False)[2][0]
    projected = (flat - mean) @ basis
    low, high = float(projected.min()), float(projected.max())
    codes = np.clip(np.rint((projected - low) / (high - low) * 255), 0, 255).astype(np.uint8)
    indexer = fill(INDEXER, CODES=base64.b85encode(codes.tobytes()).decode(), RANGE=(low, high),
                   BASIS=base64.b85encode(np.stack([basis, mean]).astype(np.float16).tobytes()).decode())
    return librarian, indexer


def fill(code: str, **values) -> str:
    """``code`` with each ``__NAME__`` replaced by the literal of ``values[NAME]``."""
    for name, value in values.items():
        code = code.replace(f"__{name}__", repr(value))
    return code


def notebook(code: str, attachments: dict | None = None) -> bytes:
    intro = nbformat.v4.new_markdown_cell("My entry ![labels](attachment:labels.csv)")
    if attachments:
        intro["attachments"] = attachments
    return nbformat.writes(nbformat.v4.new_notebook(cells=[intro, nbformat.v4.new_code_cell(code)])).encode()


def released_test(quickdraw_root):
    """The released test images and, standing for a perfect lookup, their true labels."""
    competition = quickdraw_root / "competition"
    with open(quickdraw_root / "instructor" / "competition_labels.csv", newline="") as f:
        truth = {row["id"]: int(row["label"]) for row in csv.DictReader(f)}
    with open(competition / "test.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    images = np.stack([np.array(Image.open(competition / row["filename"])) for row in rows])
    return [row["id"] for row in rows], images, [truth[row["id"]] for row in rows]


def run_here(code: str, folder, quickdraw_root) -> bytes:
    """Run a notebook's code in this process on the released data (how its author made the submission)."""
    folder.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("QUICKDRAW_COMPETITION", str(quickdraw_root / "competition"))
        patch.delenv("QUICKDRAW_COMPETITION_TEST", raising=False)
        exec(compile(code, "notebook", "exec"), {})
    return (folder / "predictions.csv").read_bytes()


def entries_of(quickdraw_root, classes) -> dict[str, bytes]:
    """Every kind of entry, by name: six ways to cheat, two lookups of the public pool, one honest model."""
    ids, images, labels = released_test(quickdraw_root)
    instructor = quickdraw_root / "instructor"
    librarian, indexer = public_lookups(list(classes))
    assert len(librarian.encode()) > 20 * DEFAULT_MAX_CODE_BYTES and len(indexer.encode()) < DEFAULT_MAX_CODE_BYTES
    table = "".join(f"{hashlib.sha256(image.tobytes()).hexdigest()},{label}\n"
                    for image, label in zip(images, labels, strict=True))
    blob = base64.b64encode(table.encode()).decode()
    return {
        "memoriser": notebook(fill(MEMORISED, KNOWN=dict(zip(ids, labels, strict=True)))),
        "smuggler": notebook(fill(SMUGGLER, BLOB=blob), {"labels.csv": {"text/csv": blob}}),
        "overfitter": notebook(fill(OVERFIT, PIXELS=base64.b64encode(images.tobytes()).decode(), LABELS=labels)),
        "outsider": notebook(OUTSIDE_PACKAGE),
        "peeker": notebook(fill(PEEKER, LABELS=str(instructor / "competition_verification_labels.csv"),
                                SECRET=str(instructor / "secret"))),
        "indexer": notebook(indexer),
        "librarian": notebook(librarian),
        "honest": notebook(HONEST),
    }


@pytest.fixture(scope="module")
def entered(quickdraw_root, tmp_path_factory):
    """A board on the real competition with every entry of ``entries_of``, each having submitted what
    its notebook writes on the released test set (for the cheaters: every label right)."""
    folder = tmp_path_factory.mktemp("entered")
    ids, _, labels = released_test(quickdraw_root)
    perfect = ("id,label\n" + "".join(f"{i},{label}\n" for i, label in zip(ids, labels, strict=True))).encode()
    classes = read_classes(str(quickdraw_root / "competition" / "classes.txt"))
    entries = entries_of(quickdraw_root, classes)
    # the cheaters' notebooks write every label right; honest and librarian submit what theirs write;
    # the others claim the perfect file
    submitted = dict.fromkeys(entries, perfect)
    for name in ("memoriser", "smuggler", "overfitter", "honest", "librarian"):
        code = nbformat.reads(entries[name].decode(), as_version=4).cells[1].source
        submitted[name] = run_here(code, folder / name, quickdraw_root)
    assert all(submitted[name] == perfect for name in ("memoriser", "smuggler", "overfitter"))
    key = read_answer_key(quickdraw_root / "instructor" / "competition_labels.csv", classes)
    url = sqlite_url(folder)
    lb, tokens, _ = make_board(url, key, students=tuple(entries))
    for name, attached in entries.items():
        lb.submit(lb.authenticate(tokens[name]), submitted[name], notebook=attached)
    assert [row.student for row in lb.board(private=True)] == list(entries)  # none re-run yet: by time
    lb.dispose()
    return url


def verify_cli(url, quickdraw_root, capsys, *options) -> tuple[int, dict]:
    """``leaderboard verify --top 1 --force`` on the competition and the verification set: (status, outcomes)."""
    code = main(["leaderboard", "verify", "--top", "1", "--db", url, "--timeout", "300", "--json", "--force",
                 *options, "--competition-dir", str(quickdraw_root / "competition"),
                 "--verification-dir", str(quickdraw_root / "instructor" / "competition_verification")])
    outcomes = {o["student"]: o for o in json.loads(capsys.readouterr().out)}
    with capsys.disabled():
        print(f"\n{' '.join(options) or 'capped'}:\n" +
              "\n".join(f"{name}: {o['status']} - {o['detail']}" for name, o in outcomes.items()))
    return code, outcomes


def test_verify_swaps_in_the_verification_set(entered, quickdraw_root, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, outcomes = verify_cli(entered, quickdraw_root, capsys)
    assert code == 0 and {name: o["status"] for name, o in outcomes.items()} == {
        "memoriser": "not_reproducible", "smuggler": "not_reproducible", "overfitter": "not_reproducible",
        "outsider": "not_reproducible", "peeker": "not_reproducible", "librarian": "not_reproducible",
        "indexer": "not_reproducible", "honest": "verified"}, outcomes
    assert outcomes["memoriser"]["rerun_accuracy"] < 0.3  # nothing to look up: chance on the new drawings
    for name in ("smuggler", "overfitter", "librarian"):  # carried data: over the code cap, not run
        assert outcomes[name]["rerun_accuracy"] is None and "over the 32 KiB" in outcomes[name]["detail"], name
    # the index that fits under the cap is no lookup at all: far below an honest model on new drawings
    assert outcomes["indexer"]["rerun_accuracy"] < outcomes["honest"]["rerun_accuracy"] - 0.3, outcomes["indexer"]
    assert "No module named 'sklearn'" in outcomes["outsider"]["detail"]
    assert "only the course environment's packages" in outcomes["outsider"]["detail"]
    assert "no predictions.csv" in outcomes["peeker"]["detail"]
    honest = outcomes["honest"]
    assert honest["submitted_accuracy"] > 0.7 and abs(honest["rerun_accuracy"] - honest["submitted_accuracy"]) < 0.04
    assert "verification-set accuracy" in honest["detail"] and "99.9% confidence" in honest["detail"]


def test_without_the_cap_the_public_pool_would_be_verified(entered, quickdraw_root, tmp_path, capsys, monkeypatch):
    # Labels smuggled by image hash or a 1-NN on the released images find nothing on new drawings,
    # but the whole public pool finds the verification set too and is verified: the cap stops it.
    monkeypatch.chdir(tmp_path)
    code, uncapped = verify_cli(entered, quickdraw_root, capsys, "--max-code-kib", "4096")
    assert code == 0 and list(uncapped) == [
        "memoriser", "smuggler", "overfitter", "outsider", "peeker", "indexer", "librarian"]
    assert uncapped["smuggler"]["rerun_accuracy"] < 0.3 and 0.5 < uncapped["overfitter"]["rerun_accuracy"] < 0.95
    assert uncapped["librarian"]["status"] == "verified" and uncapped["librarian"]["rerun_accuracy"] > 0.94


def test_verify_without_a_verification_set_is_one_line(quickdraw_root, tmp_path, capsys):
    classes = read_classes(str(quickdraw_root / "competition" / "classes.txt"))
    key = read_answer_key(quickdraw_root / "instructor" / "competition_labels.csv", classes)
    url = sqlite_url(tmp_path)
    make_board(url, key)[0].dispose()
    code = main(["leaderboard", "verify", "--db", url, "--competition-dir", str(quickdraw_root / "competition"),
                 "--verification-dir", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "no verification set" in err and "prepare competition" in err


def test_close_reruns_the_final_notebooks_on_the_private_half(entered, quickdraw_root, tmp_path, capsys, monkeypatch):
    # on a copy of the board, with one more entrant who attached no notebook
    url = sqlite_url(tmp_path)
    shutil.copyfile(sqlite_file(entered), sqlite_file(url))
    lb = Leaderboard(url)
    [(_, token)] = lb.add_students([RosterEntry("bare")])
    ids, _, labels = released_test(quickdraw_root)
    lb.submit(lb.authenticate(token), ("id,label\n" + "".join(f"{i},{label}\n" for i, label in zip(ids, labels, strict=True))).encode())
    lb.dispose()
    monkeypatch.chdir(tmp_path)
    instructor = quickdraw_root / "instructor"
    code = main(["leaderboard", "close", "--db", url, "--json", "--timeout", "300", "--workers", "2",
                 "--competition-dir", str(quickdraw_root / "competition"),
                 "--private-dir", str(instructor / "competition_private")])
    outcomes = {o["student"]: o for o in json.loads(capsys.readouterr().out)["outcomes"]}
    with capsys.disabled():
        print("\nclose:\n" + "\n".join(f"{name}: {o['rank']} {o['status']} - {o['detail']}" for name, o in outcomes.items()))
    assert code == 0 and len(outcomes) == 9
    honest, memoriser = outcomes["honest"], outcomes["memoriser"]
    # the honest model scores on drawings it never saw as on the public half, and wins
    assert honest["rank"] == 1 and honest["status"] == "verified" and honest["rerun_accuracy"] > 0.7
    assert abs(honest["rerun_accuracy"] - honest["submitted_accuracy"]) < 0.04
    assert "private-half accuracy" in honest["detail"] and "99.9% confidence" in honest["detail"]
    # perfect on the public board by looked-up labels: chance on the private half, ranked below
    assert memoriser["submitted_accuracy"] == 1.0 and memoriser["rerun_accuracy"] < 0.3
    assert memoriser["status"] == "not_reproducible" and memoriser["rank"] > 1
    # no notebook, or one that does not run here: no private score, unranked
    for name in ("bare", "smuggler", "overfitter", "librarian", "outsider", "peeker"):
        assert outcomes[name]["rank"] is None and outcomes[name]["rerun_accuracy"] is None, name
    assert "no notebook" in outcomes["bare"]["detail"]
    assert main(["leaderboard", "board", "--private", "--db", url, "--json"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert board[0] == {**board[0], "rank": 1, "student": "honest", "state": "verified"}
    assert board[0]["score"] == pytest.approx(honest["rerun_accuracy"])
    assert [row["rank"] for row in board] == [1, 2, 3] + [None] * 6
    # a second close keeps the scores: only the unscored entries run again, and the board is unchanged
    assert main(["leaderboard", "close", "--db", url, "--json", "--competition-dir", str(quickdraw_root / "competition"),
                 "--private-dir", str(instructor / "competition_private")]) == 0
    again = json.loads(capsys.readouterr().out)["outcomes"]
    assert {o["student"] for o in again} == {"bare", "smuggler", "overfitter", "librarian", "outsider", "peeker"}
    assert main(["leaderboard", "board", "--private", "--db", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == board
