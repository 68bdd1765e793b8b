class SpecSyntaxError(ValueError):
    """The source cannot be imported. `line` is 1-based, or None when no line is to blame."""

    def __init__(self, message: str, *, line: int | None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)
