"""Packaging that pyproject.toml cannot say alone: the built-in suites and environment files.

The repository keeps `suites/` and `environments/` at the top level (that layout is fixed);
the wheel ships them inside the package as `harness.suites` and `harness.environments`, so a
wheel-installed qgate runs its built-in suites (and `qgate demo`, `qgate init`) from any
folder. Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

SUITES = ["harness.suites", *(f"harness.suites.{p}" for p in find_packages("suites"))]

setup(
    packages=[*find_packages(include=["harness", "harness.*", "demostore", "demostore.*"]),
              *SUITES, "harness.environments"],
    package_dir={"harness.suites": "suites", "harness.environments": "environments"},
    package_data={"harness.environments": ["*.toml", ".env.example"],
                  "harness.templates": ["*", "ci/*"],
                  "demostore": ["templates/*.html", "templates/**/*.html", "static/*"]},
)
