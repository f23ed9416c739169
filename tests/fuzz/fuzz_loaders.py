"""Coverage-guided fuzzing of every file loader with atheris (libFuzzer): `make fuzz`.

An input's first byte picks the kind of file (IDX, gzip IDX, CSV, gzip CSV, NPZ, NPY,
model file, checkpoint, TOML search space, trials.jsonl) and whether the rest is the file
itself or content put into a valid gzip or zip container; the rest is the content. The
corpus starts from one valid file of each kind (tests/fuzz/targets.py). A loader must load
the file or raise LayerwiseError: any other exception is a finding, and so is an
allocation beyond the address-space limit set here (a header trusted before the length
check) or an input that runs past libFuzzer's -timeout (a hang).

    python tests/fuzz/fuzz_loaders.py -max_total_time=300 [CORPUS_DIR]
"""

import os
import resource
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["layerwise"]):
    from fuzz import targets

    import layerwise  # noqa: F401
    from layerwise.errors import LayerwiseError

MEMORY_LIMIT = 4 * 2**30  # address space: far more than any seed-sized input justifies
WORK = Path(tempfile.mkdtemp(prefix="layerwise-fuzz-"))


def test_one_input(data):
    decoded = targets.decode(data)
    if decoded is None:
        return
    kind, content = decoded
    path = WORK / f"input{targets.suffix(kind)}"
    path.write_bytes(content)
    try:
        targets.load(kind, path)
    except LayerwiseError:
        pass


def seed_corpus(folder):
    """One file per kind, and per container the content to put into one."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, content in targets.seeds(WORK).items():
        (folder / f"seed-{kind}").write_bytes(targets.encode(kind, content))
        if kind in targets.CONTAINERS:
            inner = targets.encode(kind, targets.inner(kind, content), inside=True)
            (folder / f"seed-{kind}-inner").write_bytes(inner)


def main():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    args = [a for a in sys.argv[1:] if a.startswith("-")]
    corpora = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not corpora:
        corpora = [os.environ.get("LAYERWISE_FUZZ_CORPUS", str(WORK / "corpus"))]
    seed_corpus(Path(corpora[0]))
    atheris.Setup([sys.argv[0], *args, *corpora], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
