"""``sb3-ccddpg figures``: see ``sb3-ccddpg figures --help`` and :mod:`sb3_ccddpg.studies.figures`."""

import sys

from sb3_ccddpg.cli import main

if __name__ == "__main__":
    main(["figures", *sys.argv[1:]])
