"""The language's errors. They carry what a caller needs to name the problem (the message, the 0-based position
in the text, or the variable) and nothing about HTTP or fields: each caller maps them to its own domain errors."""
from __future__ import annotations


class FormulaError(ValueError):
    """The text is not a formula, or breaks the language's rules (unknown name, arity, type); `position` is the
    0-based character offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)  # both in args, so the error pickles and compares as it was raised
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} (at position {self.position})"


class FormulaEvaluationError(FormulaError):
    """Evaluation failed at an operator or function: division by zero, a number out of range, a bad round()."""


class InvalidVariable(ValueError):
    """A variable's value is not a number the language accepts (a finite Decimal or an int; never a float or bool,
    whose binary fractions would make exact totals fail by an invisible epsilon)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(name, message)
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return f"variable {self.name!r} {self.message}"
