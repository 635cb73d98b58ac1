"""Parsers: bytes in, canonical Arrow tables out, with line numbers; problems listed, not raised."""
