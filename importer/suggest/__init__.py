"""Suggesting a mapping: a starting mapping YAML from a sheet's headers and cells; sends nothing.

A tool beside the pipeline rather than a stage of it: it reads what the reading stage gives
and checks its draft against the mapping and validation stages.
"""

from importer.suggest.draft import suggest_mapping, write_suggestion

__all__ = ["suggest_mapping", "write_suggestion"]
