"""Test-session settings."""

import torch as th

# The networks under test are small: one intra-op thread is as fast on 2 cores and does not oversubscribe
# the machine when other work runs beside the suite.
th.set_num_threads(1)
