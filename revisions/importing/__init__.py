"""Import a spec version: `parser` (pure markdown -> tree), `sync` (one transaction into the DB)."""

from .errors import SpecSyntaxError
from .parser import ParsedClause, ParsedSpec, parse_spec

__all__ = ["ParsedClause", "ParsedSpec", "SpecSyntaxError", "parse_spec"]
