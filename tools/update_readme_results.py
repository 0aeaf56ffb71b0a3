"""Rewrite README.md's results section from the executed notebooks' ``results`` cells.

Run it after committing a notebook executed in full mode::

    python tools/update_readme_results.py

A test (``tests/test_repository.py``) fails while README.md and the notebooks disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: utils/ is found next to tools/

from utils.results import collect_results, readme_with_results  # noqa: E402


def main() -> None:
    """Replace the text between README.md's results markers with every notebook's table."""
    readme_path = ROOT / "README.md"
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    readme_path.write_text(
        readme_with_results(readme_path.read_text(encoding="utf-8"), collect_results(notebooks)),
        encoding="utf-8",
    )
    print(f"Updated {readme_path.name} from {len(notebooks)} notebooks.", file=sys.stderr)


if __name__ == "__main__":
    main()
