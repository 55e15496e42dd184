"""The fixture shop's data app: seed catalogue and a staging order-advance command."""

from django.apps import AppConfig


class ShopdataConfig(AppConfig):
    """Management commands only; no models."""

    name = "shopdata"
