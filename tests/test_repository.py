"""Repository-level consistency: notebooks, README, the repository address and the results."""

import ast
import json
import re
import tomllib
from pathlib import Path

import pytest

from utils.results import collect_results, readme_with_results

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
REPO_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def code_cells(path: Path) -> list[dict]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_setup_cell_clones_this_repository(path):
    setup = "".join(code_cells(path)[0]["source"])
    assert f'REPO_URL = "{REPO_URL}"' in setup
    assert "pip install" not in setup, "the set-up cell must not reinstall Colab's TensorFlow"
    assert "requirements.txt" not in setup, "requirements.txt pins TensorFlow: not for Colab"
    if '"pip"' in setup:  # installs only the pinned extras Colab lacks, nothing of TensorFlow's
        assert setup.count('"pip"') == 1 and '"install", "-q", *COLAB_EXTRAS]' in setup
        extras = ast.literal_eval(re.search(r"COLAB_EXTRAS = (\[.*?\])", setup).group(1))
        pinned = (ROOT / "requirements.txt").read_text().split()
        assert extras and all(extra in pinned for extra in extras), extras
        assert not any(re.match(r"(tensorflow|keras|numpy|jax|torch)\b", e) for e in extras)
    assert "print_environment_report(config)" in setup


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_setup_cell_outside_the_repository_says_how_to_clone_it(
    path, tmp_path, monkeypatch
):
    setup = "".join(code_cells(path)[0]["source"])
    finding_utils = setup.split("sys.path.insert")[0]  # everything before utils is imported
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(f"git clone {REPO_URL}")):
        exec(finding_utils, {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_listed_in_readme_with_its_colab_badge(path):
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    colab = f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/{path.name}"
    assert f"(notebooks/{path.name})" in README, f"{path.name} is missing from the README table"
    assert colab in README, f"the README has no Colab link for {path.name} at {colab}"


def test_every_colab_link_in_readme_points_at_an_existing_notebook():
    links = re.findall(r"colab\.research\.google\.com/github/(\S+?)/blob/main/(\S+\.ipynb)", README)
    assert links
    for owner_repo, notebook in links:
        assert f"https://github.com/{owner_repo}" == REPO_URL
        assert (ROOT / notebook).is_file(), notebook


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed_in_order_without_errors(path):
    cells = [cell for cell in code_cells(path) if "".join(cell["source"]).strip()]
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), "restart the kernel and run all cells"
    for cell in cells:
        assert all(output["output_type"] != "error" for output in cell["outputs"])
    summary = "".join("".join(output.get("text", "")) for output in cells[-1]["outputs"])
    assert "Executed top to bottom in full mode" in summary, "commit the full-mode run"


def test_readme_results_match_the_notebooks():
    expected = readme_with_results(README, collect_results(NOTEBOOKS))
    assert expected == README, (
        "README results are stale: run `python tools/update_readme_results.py`"
    )
