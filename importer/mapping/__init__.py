"""Mapping: the column-mapping YAML, its model, applying it to a sheet, and suggesting one."""
