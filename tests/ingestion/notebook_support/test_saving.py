"""The project's notebooks are stored as `saving.as_stored` makes them, and the pre-save hook
keeps them so (in a real JupyterLab: `tests/notebooks/test_in_browser.py`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ingestion.notebook_support.saving import (
    JUPYTER_CONFIG,
    PROJECT_NOTEBOOKS,
    STORED_METADATA,
    as_stored,
    keep_as_stored,
)

NOTEBOOK_DIR = Path(__file__).resolve().parents[3] / "notebooks"
# What JupyterLab writes once a kernel of this project's Python has started.
LAB_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.12.7",
    },
}


@pytest.mark.parametrize("name", sorted(PROJECT_NOTEBOOKS))
def test_every_project_notebook_is_stored_as_the_hook_saves_it(name):
    stored = json.loads((NOTEBOOK_DIR / name).read_text())
    assert stored["metadata"] == STORED_METADATA
    assert as_stored(copy.deepcopy(stored)) == stored


def test_the_hook_puts_back_the_metadata_and_drops_outputs_of_project_notebooks_only():
    stored = json.loads((NOTEBOOK_DIR / "02_explore_metrics.ipynb").read_text())
    looked_at = copy.deepcopy(stored)
    looked_at["metadata"] = {**looked_at["metadata"], **LAB_METADATA}
    code = next(cell for cell in looked_at["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hello\\n"}]
    code["execution_count"] = 3
    code["metadata"]["execution"] = {"iopub.status.idle": "2026-12-07T18:00:00Z"}

    model = {"type": "notebook", "content": copy.deepcopy(looked_at)}
    keep_as_stored(model, "notebooks/02_explore_metrics.ipynb", contents_manager=None)
    assert model["content"] == stored

    mine = {"type": "notebook", "content": copy.deepcopy(looked_at)}  # a user's own notebook
    keep_as_stored(mine, "scratch/mine.ipynb", contents_manager=None)
    assert mine["content"] == looked_at


def test_the_jupyter_config_names_the_hook():
    config = json.loads(JUPYTER_CONFIG.read_text())
    hook = config["FileContentsManager"]["pre_save_hook"]
    module, name = hook.rsplit(".", 1)
    assert getattr(__import__(module, fromlist=[name]), name) is keep_as_stored
