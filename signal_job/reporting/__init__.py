"""Reporting: the metrics documents, the log, and writing every output safely."""
