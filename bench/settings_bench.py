"""Settings for the benchmarks (`bench/reader.py`, `bench/submit.py`): the site's shared
settings, production-like where it matters for speed (DEBUG off, the same middleware, caches and
database options), plus a bench-only URLconf that adds the baseline views to compare against,
and a header naming the worker process (so the warm-up can reach every worker). Static files use
the plain storage, so no collectstatic is needed.

The feedback write limits are raised far above anything a run can reach, so that `submit.py`
measures submissions and not 429s. The limiter itself still runs on every write (an add and an
incr in the cache), as in production."""

from modelspec_site.settings.base import *  # noqa: F403
from modelspec_site.settings.base import MIDDLEWARE

DEBUG = False
ROOT_URLCONF = "bench.urls_bench"
MIDDLEWARE = ["bench.middleware.WorkerIdMiddleware", *MIDDLEWARE]
FEEDBACK_RATE_LIMITS = {
    "anonymous": "100000000/minute",
    "user": "100000000/minute",
    "staff": "100000000/minute",
}
