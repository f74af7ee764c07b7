"""``sb3-ccddpg compare``: see ``sb3-ccddpg compare --help`` and :mod:`sb3_ccddpg.studies.compare`."""

import sys

from sb3_ccddpg.cli import main

if __name__ == "__main__":
    main(["compare", *sys.argv[1:]])
