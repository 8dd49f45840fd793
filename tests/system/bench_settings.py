"""`make bench` only: the production settings, with the bare view added to the app's addresses."""

from ruxguide.settings import *  # noqa: F403

ROOT_URLCONF = "tests.system.bench_urls"
