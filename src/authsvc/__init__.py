"""authsvc: an async, standalone identity provider."""

__version__ = "0.1.0"
