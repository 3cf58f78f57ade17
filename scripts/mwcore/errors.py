"""Typed errors of the core. The CLI shell turns each into one line and exit 2."""

from __future__ import annotations


class MigrationWriterError(Exception):
    """A problem with the input (folder, file, arguments) that stops the run.

    The message is one complete sentence a user can act on.
    """


class UsageError(MigrationWriterError):
    """The command line asks for something that cannot be done."""


class FolderError(MigrationWriterError):
    """The migrations folder is missing, unreadable or not a folder."""


class FileReadError(MigrationWriterError):
    """A migration file cannot be read or decoded."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
