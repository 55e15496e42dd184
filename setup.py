"""Packaging that pyproject.toml cannot say alone: the built-in suites and environment files.

The repository keeps `suites/`, `environments/`, `loadprofiles/` and `datasets/` at the top
level (that layout is fixed); the wheel ships them inside the packages as `harness.suites`,
`harness.environments`, `harness.loadprofiles` and `demostore.datasets`, so a
wheel-installed qgate runs its built-in suites (and `qgate init`) from any folder.
Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

SUITES = ["harness.suites", *(f"harness.suites.{p}" for p in find_packages("suites"))]

setup(
    packages=[*find_packages(include=["harness", "harness.*", "demostore", "demostore.*"]),
              *SUITES, "harness.environments", "harness.loadprofiles", "demostore.datasets"],
    package_dir={"harness.suites": "suites", "harness.environments": "environments",
                 "harness.loadprofiles": "loadprofiles", "demostore.datasets": "datasets"},
    package_data={"harness.environments": ["*.toml", "*.tsv", ".env.example"],
                  "demostore.datasets": ["*.yaml"],
                  "harness.loadprofiles": ["distributed/*.yml", "distributed/kubernetes/*"],
                  "harness.templates": ["*", "ci/*"],
                  "demostore": ["templates/*.html", "templates/**/*.html", "static/*"]},
)
