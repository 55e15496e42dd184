"""Post-deploy smoke checks: declared per environment, run in parallel with async httpx.

Deliberately light: importing this package (and running `qgate smoke`) must not pull in
playwright, locust, sqlalchemy, zapv2 or Faker.
"""
