"""Validation: normalize and check mapped lead records before sending; no I/O but photos."""
