"""The quality benchmark (``sb3-ccddpg bench quality``): see :mod:`sb3_ccddpg.studies.bench.quality`."""

from sb3_ccddpg.studies.bench.quality import main

if __name__ == "__main__":
    main()
