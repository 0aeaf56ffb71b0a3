"""Write ``.ci/colab-requirements.txt``: Colab's default runtime, as CI installs it.

Colab publishes the ``pip freeze`` of its GPU runtime; ``../shared/colab/`` keeps a copy. CI
tests the course on the versions of that list for the packages the course imports and their
scientific dependencies, plus what the set-up cell installs on Colab itself (sacrebleu) and the
test tools, at requirements.txt's pins (they are not part of the runtime a learner uses).
Run it again whenever Colab's list changes; ``tests/test_repository.py`` fails while the file
and the list disagree:

    python tools/colab_requirements.py [path/to/latest-gpu-pip-freeze.txt]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLAB_FREEZE = ROOT.parent / "shared" / "colab" / "latest-gpu-pip-freeze.txt"
OUTPUT = ROOT / ".ci" / "colab-requirements.txt"
# What the course imports, and the scientific packages under them, at Colab's versions.
FROM_COLAB = (
    "tensorflow",
    "keras",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "scikit-learn",
    "statsmodels",
    "h5py",
    "protobuf",
    "ml-dtypes",
)
# What Colab lacks: the set-up cell's extra (sacrebleu) and the test tools, at our pins.
FROM_REQUIREMENTS = (
    "sacrebleu",
    "ipykernel",
    "nbconvert",
    "nbval",
    "pytest",
    "pytest-xdist",
    "ruff",
)


def normalised(name: str) -> str:
    """A package name as PyPI compares them (``ml_dtypes`` and ``ML-Dtypes`` are ``ml-dtypes``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_versions(text: str) -> dict[str, str]:
    """``{name: version}`` of every ``name==version`` line of a freeze or requirements file."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s#;]+)", line)
        if match:
            found[normalised(match[1])] = match[2]
    return found


def colab_requirements(freeze: str, requirements: str, source: str) -> str:
    """The text of ``.ci/colab-requirements.txt`` for Colab's ``freeze`` and our pins.

    Raises:
        ValueError: a package the course needs is missing from either list.
    """
    colab, ours = pinned_versions(freeze), pinned_versions(requirements)
    missing = [name for name in FROM_COLAB if name not in colab]
    missing += [name for name in FROM_REQUIREMENTS if name not in ours]
    if missing:
        raise ValueError(f"No pinned version of {', '.join(missing)} in the lists given.")
    lines = [
        "# Colab's default GPU runtime, as CI tests it: written by tools/colab_requirements.py",
        f"# from {source}; do not edit.",
        "# The packages the course imports, at Colab's versions:",
        *(f"{name}=={colab[name]}" for name in FROM_COLAB),
        "# What Colab lacks (the set-up cell's extra, the test tools), at requirements.txt's pins:",
        *(f"{name}=={ours[name]}" for name in FROM_REQUIREMENTS),
    ]
    return "\n".join(lines) + "\n"


def main(freeze_path: Path = COLAB_FREEZE) -> None:
    text = colab_requirements(
        freeze_path.read_text(encoding="utf-8"),
        (ROOT / "requirements.txt").read_text(encoding="utf-8"),
        f"shared/colab/{freeze_path.name}",
    )
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else COLAB_FREEZE)
