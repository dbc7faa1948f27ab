"""`python -m importer`: the same entry point as the console script."""

from importer.cli import main

main()
