"""Dataset readers, one module per dataset (as mirdata does): FMA, a manifest CSV, the built-in synthetic music."""

from agf.datasets.sources import load_source
from agf.datasets.tracks import Dataset, DatasetError, Problem, Track

__all__ = ["Dataset", "DatasetError", "Problem", "Track", "load_source"]
