"""The provider's version, kept in one place for the provider info and the package."""

__version__ = "0.1.0"
