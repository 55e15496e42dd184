"""The fixture Oscar shop's settings on PostgreSQL (the database named by OSCAR_PG_DB)."""

import os

from settings import *  # noqa: F401,F403  (tests/e2e/oscarshop/settings.py)

DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
                         "NAME": os.environ["OSCAR_PG_DB"], "USER": "postgres",
                         "HOST": "127.0.0.1", "PORT": "5432"}}
