"""What is wrong with an import file, placed at a row and a column."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a file: where (row counted from 1 after the header, column) and what."""

    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self):
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class FileProblem(Exception):
    """The file cannot be read at all (size, encoding, syntax, columns)."""

    def __init__(self, message, row=None, column=None):
        super().__init__(message)
        self.issue = Issue(message, row, column)
