"""The env benchmark (``sb3-ccddpg bench env``): see :mod:`sb3_ccddpg.studies.bench.env`."""

from sb3_ccddpg.studies.bench.env import main

if __name__ == "__main__":
    main()
