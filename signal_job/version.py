"""The job's version, on its own so that any module can name it without importing the package's face."""

__version__ = "0.1.0"
