"""``autograder data quickdraw prepare|download|list``."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from autograder.paths import quickdraw_dir
from autograder.quickdraw import download
from autograder.quickdraw.prepare import Result, prepare_datasets
from autograder.quickdraw.sources import check_class_name, find_source
from autograder.quickdraw.spec import load_spec

SOURCE_HELP = (
    "folder of per-class .npz (key 'images', N x 28 x 28) or .npy (N x 784) files; default: "
    "$QUICKDRAW_SOURCE, else ../shared/quickdraw beside the course, else the download cache "
    "(missing classes are downloaded)"
)
QUICKDRAW_DESCRIPTION = """\
Google's Quick, Draw! drawings (28x28 grayscale, 0 = background, 255 = ink) for the course.

  prepare   write the homework and competition datasets (PNG + CSV) from a source
  download  fetch whole classes from Google's public bucket into the cache
  list      show the classes the resolved source offers

Data: "Quick, Draw! dataset by Google", CC BY 4.0,
https://github.com/googlecreativelab/quickdraw-dataset"""
PREPARE_DESCRIPTION = """\
Write the datasets described by data/quickdraw/datasets.json into OUT (default
data/quickdraw): OUT/homework/, OUT/competition/ and the instructor-only OUT/instructor/.
The seed (public, in the spec) draws what students receive with labels. Everything
instructor-only (the homework's held-out drawings, the competition's test draw, its
public/private split and the never-released verification set) is drawn from a secret that
the first run creates in OUT/instructor/secret (owner-only); back it up. The output depends
only on the seed, the secret, the spec and the source drawings, byte for byte: --secret-file
re-creates it elsewhere. A dataset that is already there with the same parameters is left
as it is ("up to date"). Anything else in the way stops the command unless --force is given."""


def register(subparsers) -> None:
    """Add ``data quickdraw ...`` to the top-level parser."""
    data = subparsers.add_parser(
        "data",
        help="prepare the course's data sets",
        description="Prepare the course's data sets.",
    )
    kinds = data.add_subparsers(dest="data_command", metavar="DATA")
    kinds.required = True
    quickdraw = kinds.add_parser(
        "quickdraw",
        help="QuickDraw doodles: prepare the homework/competition datasets, download classes",
        description=QUICKDRAW_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = quickdraw.add_subparsers(dest="quickdraw_command", metavar="ACTION")
    actions.required = True
    _add_prepare(actions)
    _add_download(actions)
    _add_list(actions)


def _add_prepare(actions) -> None:
    """Add ``prepare``: write the datasets."""
    prepare = actions.add_parser(
        "prepare",
        help="write the homework/competition datasets (PNG + CSV) deterministically",
        description=PREPARE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prepare.add_argument(
        "dataset",
        metavar="{homework,competition,all}",
        help="which dataset to prepare (names come from the spec)",
    )
    prepare.add_argument(
        "--out", metavar="DIR", type=Path, help="output folder (default: data/quickdraw in the course)"
    )
    prepare.add_argument("--source", metavar="DIR", help=SOURCE_HELP)
    prepare.add_argument(
        "--seed", type=_seed, help="random seed for the splits (default: the spec's, 2019)"
    )
    prepare.add_argument(
        "--spec", metavar="FILE", help="dataset specification (default: data/quickdraw/datasets.json)"
    )
    prepare.add_argument(
        "--secret-file", metavar="FILE",
        help="the instructor secret to draw the hidden sets with (a copy of an OUT/instructor/secret); "
        "default: OUT/instructor/secret, created on first use",
    )
    prepare.add_argument(
        "--force",
        action="store_true",
        help="replace existing dataset folders that differ (only OUT/<dataset>/ and its "
        "instructor files are touched, never anything else in OUT)",
    )
    prepare.add_argument(
        "--download", action="store_true",
        help="take the drawings from the download cache and download the classes it lacks, even when "
        "an offline copy ($QUICKDRAW_SOURCE, ../shared/quickdraw) is found: for classes the offline "
        "copy does not have, e.g. --spec data/quickdraw/datasets-2019.json (the 2019 edition's classes)",
    )
    _add_download_options(prepare)
    prepare.set_defaults(func=run_prepare)


def _add_download(actions) -> None:
    """Add ``download``: fetch whole classes into the cache."""
    fetch = actions.add_parser(
        "download",
        help="download whole classes from Google's Quick, Draw! bucket into the cache",
        description="Download classes (numpy_bitmap/<CLASS>.npy, N x 784 uint8) into the cache, "
        "with a progress bar; each file is checked before it is kept, and classes already "
        "cached are skipped. Class names may contain spaces (quote them).",
    )
    fetch.add_argument("classes", nargs="+", metavar="CLASS", help="class name, e.g. cat or 'hot dog'")
    _add_download_options(fetch)
    fetch.set_defaults(func=run_download)


def _add_list(actions) -> None:
    """Add ``list``: the classes the source offers."""
    show = actions.add_parser(
        "list",
        help="list the classes the resolved source offers",
        description="Show where drawings come from and which classes (with counts) are there.",
    )
    show.add_argument("--source", metavar="DIR", help=SOURCE_HELP)
    _add_download_options(show)
    show.set_defaults(func=run_list)


def _add_download_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache", metavar="DIR", help="download cache (default: data/quickdraw/cache in the course)"
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help=f"where the .npy files live (default: ${download.BASE_URL_ENV} or {download.DEFAULT_BASE_URL})",
    )


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("the seed must be a non-negative integer")
    return value


def _shown(path: Path) -> str:
    """A path relative to the working directory when it lies below it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def run_prepare(args: argparse.Namespace) -> int:
    """Handler of ``prepare``."""
    started = time.perf_counter()
    spec = load_spec(args.spec)
    names = spec.names() if args.dataset == "all" else [spec.get(args.dataset).name]
    source = find_source(args.source, args.cache, args.base_url, download_missing=args.download)
    out = args.out or quickdraw_dir()
    print(f"Source: {source.describe()}")
    results = prepare_datasets(names, out, source, args.seed, spec=spec, force=args.force,
                               secret=args.secret_file)
    for result in results:
        _print_result(result, out)
    secret = results[0].secret if results else None
    if secret is not None and secret.path is not None:
        if secret.created:
            print(f"Instructor secret: created {_shown(secret.path)} (owner-only; never commit or hand it out; "
                  "keep a copy: --secret-file re-creates the hidden sets from it)")
        else:
            print(f"Instructor secret: {_shown(secret.path)}")
    seconds = time.perf_counter() - started
    if all(r.status == "up to date" for r in results):
        print(f"Everything up to date ({seconds:.1f} s).")
    else:
        print(f"Done in {seconds:.1f} s.")
    return 0


def _print_result(result: Result, out: Path) -> None:
    if result.status == "up to date":
        print(f"{result.name}: up to date in {_shown(result.path)}")
        return
    print(f"{result.name}: prepared in {_shown(result.path)} ({', '.join(result.classes)})")
    per = len(result.classes)
    for split in result.splits:
        each = f"{split.count // per} per class"
        if split.kind == "labeled":
            print(f"  {split.name:<12} {split.count:>6} images, labeled ({each})")
        elif split.kind == "unlabeled":
            print(
                f"  {split.name:<12} {split.count:>6} images, no labels ({each}); labels for the "
                f"instructor: {split.public} public, {split.count - split.public} private"
            )
        else:
            print(f"  {split.name:<12} {split.count:>6} images, instructor only ({each})")
    for file in result.instructor_files:
        print(f"  instructor-only: {_shown(Path(out) / file)}")


def run_download(args: argparse.Namespace) -> int:
    """Handler of ``download``."""
    cache = Path(args.cache) if args.cache else quickdraw_dir() / "cache"
    for name in args.classes:
        check_class_name(name)
        before = download.cached_count(name, cache)
        path = download.download_class(name, cache, args.base_url)
        count = download.check_bitmap_file(path, str(path))
        what = "already cached" if before is not None else "downloaded"
        print(f"{name}: {what}, {count} drawings in {_shown(path)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Handler of ``list``."""
    source = find_source(args.source, args.cache, args.base_url)
    print(f"Source: {source.describe()}")
    names = source.classes()
    for name in names:
        print(f"  {name:<20} {len(source.load(name)):>7} drawings")
    if not names:
        print("  (no classes yet)")
    if source.base_url:
        print(
            "Any Quick, Draw! class can be downloaded: autograder data quickdraw download CLASS "
            f"(names: {download.CATEGORIES_URL})"
        )
    return 0
