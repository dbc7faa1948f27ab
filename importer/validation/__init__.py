"""Validation: normalize and check mapped lead records before anything is sent; no I/O but photos."""
