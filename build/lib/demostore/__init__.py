"""The qgate demo store: a reference Q-commerce storefront with switchable, real defects.

Importing this package is cheap; the web stack loads only when the store is built or served
(`demostore.app.create_app`, `python -m demostore serve`). Start one from Python with
`demostore.process.start_store`.
"""

from __future__ import annotations
