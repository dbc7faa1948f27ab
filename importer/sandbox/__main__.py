"""`python -m importer.sandbox`: the very command `enerflo-import sandbox` runs."""

from importer.sandbox.command import sandbox_command

if __name__ == "__main__":
    sandbox_command(prog_name="python -m importer.sandbox")
