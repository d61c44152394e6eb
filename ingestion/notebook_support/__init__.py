"""What the notebooks call: a ready workspace, table inventories, frames, plots and the
headless runs that turn the notebooks into HTML reports. Needs the `notebooks` extra."""
