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


DOWNLOADING_LOADERS = ("load_imdb", "imdb_split", "review_datasets", "load_shakespeare")
DOWNLOADING_LOADERS += ("load_spa_eng", "load_fsdd")


def stored_full_mode_minutes(path: Path) -> float:
    """Minutes of the stored full-mode run, from the closing cell's summary line."""
    summary = "".join("".join(out.get("text", "")) for out in code_cells(path)[-1]["outputs"])
    minutes, seconds = re.search(r"in full mode .* in (\d+) min (\d+) s", summary).groups()
    return int(minutes) + int(seconds) / 60


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_setup_cell_clones_this_repository(path):
    setup = "".join(code_cells(path)[0]["source"])
    assert f'REPO_URL = "{REPO_URL}"' in setup
    assert "pip" not in setup, "the set-up cell must not reinstall Colab's TensorFlow"
    assert "requirements.txt" not in setup, "requirements.txt pins TensorFlow: not for Colab"
    assert "config = start_notebook(" in setup and "quick=QUICK_MODE" in setup
    extras = re.search(r"colab_extras=(\[.*?\])", setup)
    if extras:  # installs only the pinned extras Colab lacks, nothing of TensorFlow's
        extras = ast.literal_eval(extras.group(1))
        pinned = (ROOT / "requirements.txt").read_text().split()
        assert extras and all(extra in pinned for extra in extras), extras
        assert not any(re.match(r"(tensorflow|keras|numpy|jax|torch)\b", e) for e in extras)


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_setup_cell_says_how_long_full_mode_takes_and_how_to_run_quick_mode(path):
    setup = "".join(code_cells(path)[0]["source"])
    lines = setup.splitlines()
    assert "QUICK_MODE = False" in lines and "QUICK_MODE = True" in setup
    took = re.search(r"Full mode \(the default\) took (.+?) on a 2-core CPU", setup).group(1)
    measured = stored_full_mode_minutes(path)
    stated = 0 if took == "under a minute" else int(took.removesuffix(" min"))
    assert abs(stated - measured) <= 0.5, (
        f"the set-up cell says {took}, the run took {measured:.1f}"
    )
    code = "".join("".join(cell["source"]) for cell in code_cells(path))
    downloads = any(loader in code for loader in DOWNLOADING_LOADERS)
    assert any(line.startswith("DATA_IN_DRIVE = False") for line in lines) == downloads
    assert ("data_in_drive=DATA_IN_DRIVE" in setup) == downloads


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_setup_cell_refuses_a_tensorflow_older_than_the_tested_range(path, monkeypatch):
    from utils import environment

    old = {**environment.installed_versions(), "tensorflow": "2.15.0"}
    monkeypatch.setattr(environment, "installed_versions", lambda: old)
    monkeypatch.chdir(path.parent)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))  # the cell inserts the root
    setup = "".join(code_cells(path)[0]["source"])
    with pytest.raises(
        environment.UnsupportedEnvironmentError, match=r"TensorFlow 2\.15\.0 is older"
    ):
        exec(setup, {})


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


def regularizer_arguments(source: str) -> list[ast.expr]:
    """The values passed as ``regularizer=`` or ``*_regularizer=`` keywords in ``source``."""
    magics = "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )
    return [
        keyword.value
        for node in ast.walk(ast.parse(magics))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg and keyword.arg.endswith("regularizer")
    ]


def builds_a_regularizer(value: ast.expr) -> bool:
    """Whether a keyword value is None, a name Keras knows (``"l2"``) or an object built by a
    call (``L2(0.01)``, ``NormPreserving(0.01)``), also behind a factory or a condition."""
    if isinstance(value, ast.Constant):
        return value.value is None or isinstance(value.value, str)
    if isinstance(value, ast.IfExp):
        return builds_a_regularizer(value.body) and builds_a_regularizer(value.orelse)
    if isinstance(value, ast.Lambda):  # a factory, called once per model
        return builds_a_regularizer(value.body)
    return isinstance(value, ast.Call)


def test_regularizer_check_tells_a_function_from_a_regularizer_object():
    plain = "def f(w):\n    return 0.0\nkeras.layers.SimpleRNN(4, recurrent_regularizer=f)"
    factory = "layer(recurrent_regularizer=lambda: f)"
    built = "layer(kernel_regularizer=L2(0.01), recurrent_regularizer=lambda: Penalty(0.1))"
    assert not any(map(builds_a_regularizer, regularizer_arguments(plain)))
    assert not any(map(builds_a_regularizer, regularizer_arguments(factory)))
    assert all(map(builds_a_regularizer, regularizer_arguments(built)))
    assert all(map(builds_a_regularizer, regularizer_arguments("layer(regularizer=None)")))


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.stem)
def test_notebooks_pass_regularizer_objects_not_functions(path):
    # Keras 3.13 (Colab's) accepts only a keras.regularizers.Regularizer (or a name such as
    # "l2") where later versions also take a plain function: write penalties as Regularizers.
    for cell in code_cells(path):
        for value in regularizer_arguments("".join(cell["source"])):
            assert builds_a_regularizer(value), (
                f"{ast.unparse(value)!r} is not a keras.regularizers.Regularizer object: "
                "subclass keras.regularizers.Regularizer and pass an instance"
            )


def test_ci_tests_colabs_current_package_versions():
    from tools.colab_requirements import COLAB_FREEZE, OUTPUT, colab_requirements

    if not COLAB_FREEZE.is_file():
        pytest.skip(f"no copy of Colab's package list at {COLAB_FREEZE}")
    expected = colab_requirements(
        COLAB_FREEZE.read_text(encoding="utf-8"),
        (ROOT / "requirements.txt").read_text(encoding="utf-8"),
        f"shared/colab/{COLAB_FREEZE.name}",
    )
    assert OUTPUT.read_text(encoding="utf-8") == expected, (
        "Colab's package list changed: run `python tools/colab_requirements.py`"
    )


def test_colab_requirements_refuse_a_list_without_tensorflow():
    from tools.colab_requirements import colab_requirements, pinned_versions

    assert pinned_versions("ML_Dtypes==0.6.0\nkeras==3.13.2  # note\n-e git+x") == {
        "ml-dtypes": "0.6.0",
        "keras": "3.13.2",
    }
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="No pinned version of tensorflow"):
        colab_requirements("keras==3.13.2\n", requirements, "a list")


def test_readme_time_table_is_the_stored_runs():
    rows = re.findall(
        r"^\| (\d\d) \| \[(\d+ min \d+ s)\]\((\S+)\) \| \[(\d+ min \d+ s)\]\((\S+)\) \|$",
        README,
        re.M,
    )
    assert [row[0] for row in rows] == [path.name[:2] for path in NOTEBOOKS]
    for _, course_time, course, solutions_time, solutions in rows:
        for took, path in ((course_time, course), (solutions_time, solutions)):
            minutes, seconds = (int(part) for part in re.findall(r"\d+", took))
            assert stored_full_mode_minutes(ROOT / path) == minutes + seconds / 60, path
