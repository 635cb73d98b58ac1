"""CASS fixed-width ("HOT") files: declarative layouts, a vectorised reader and writer."""

from casslink.parsers.hot.layouts import FAMILIES, Family
from casslink.parsers.hot.reader import read_hot, read_hot_file
from casslink.parsers.hot.writer import write_hot

__all__ = ["FAMILIES", "Family", "read_hot", "read_hot_file", "write_hot"]
