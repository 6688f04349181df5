"""Runs: every finished run kept in the run library; open one, compare two, export and import bundles."""
from ui.library import runs_page

runs_page()
