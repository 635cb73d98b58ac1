"""CASS fixed-width ("HOT") files: declarative layouts, a vectorised reader and writer."""

from parsers.hot.layouts import FAMILIES, Family
from parsers.hot.reader import read_hot, read_hot_file
from parsers.hot.writer import write_hot

__all__ = ["FAMILIES", "Family", "read_hot", "read_hot_file", "write_hot"]
