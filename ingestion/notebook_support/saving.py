"""What a notebook of the project looks like when JupyterLab saves it: as it is stored.

Opening a notebook starts a kernel, and JupyterLab then rewrites the notebook's `kernelspec`
and `language_info` (with the Python version of whoever opened it) and autosaves: a look left
`git status` showing the notebook modified. The project's Jupyter configuration
(`jupyter_config.json` beside this module, which `salestalk up` and the README pass to
`jupyter lab --config`)
installs `keep_as_stored` as the server's pre-save hook: a project notebook is saved with the
metadata it is stored with and without outputs (the reports hold those), so a look, or a run,
changes nothing that git sees, while edits to cells are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingestion.notebook_support.html_reports import NOTEBOOKS

# The metadata every project notebook is stored with (a test checks the files carry it).
STORED_METADATA: dict[str, Any] = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
JUPYTER_CONFIG = Path(__file__).with_name("jupyter_config.json")  # `jupyter lab --config=`
PROJECT_NOTEBOOKS = frozenset(f"{stem}.ipynb" for stem, _ in NOTEBOOKS)


def as_stored(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook (nbformat's JSON) with the stored metadata and no outputs."""
    notebook["metadata"] = {**notebook.get("metadata", {}), **STORED_METADATA}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            cell.get("metadata", {}).pop("execution", None)  # timings JupyterLab may record
    return notebook


def keep_as_stored(model: dict[str, Any], path: str, **_: Any) -> None:
    """Jupyter server's pre-save hook (`FileContentsManager.pre_save_hook`): a project
    notebook is saved as stored; any other file as it is."""
    if model.get("type") == "notebook" and path.rsplit("/", 1)[-1] in PROJECT_NOTEBOOKS:
        as_stored(model["content"])
