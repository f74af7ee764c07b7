"""The ccddpg benchmark (``sb3-ccddpg bench ccddpg``): see :mod:`sb3_ccddpg.studies.bench.ccddpg`."""

from sb3_ccddpg.studies.bench.ccddpg import main

if __name__ == "__main__":
    main()
