"""Settings for `bench/reader.py`: the site's shared settings, production-like where it matters
for speed (DEBUG off, the same middleware, caches and database options), plus a bench-only
URLconf that adds a trivial view to compare against, and a header naming the worker process
(so the warm-up can reach every worker). Static files use the plain storage, so no
collectstatic is needed."""

from modelspec_site.settings.base import *  # noqa: F403
from modelspec_site.settings.base import MIDDLEWARE

DEBUG = False
ROOT_URLCONF = "bench.urls_bench"
MIDDLEWARE = ["bench.middleware.WorkerIdMiddleware", *MIDDLEWARE]
