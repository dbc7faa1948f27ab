"""enerflo-importer: push marketing lead sheets into Enerflo safely; library first, no CLI here."""

__version__ = "0.1.0"
