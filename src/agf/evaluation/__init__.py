"""Metrics, confusion matrices and the evaluate command."""
