"""The env benchmark (``sb3-ccddpg bench env``): see :mod:`sb3_ccddpg.bench.env`."""

from sb3_ccddpg.bench.env import main

if __name__ == "__main__":
    main()
