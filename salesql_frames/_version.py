"""The package version: one home, read by the build and by the client's User-Agent."""

__version__ = "0.1.0"
