"""Runs: validate, send and retry from start to finish, each owning its lifecycle."""
