"""Errors of the «ДелоПро» connector: a bad package, or a folder that cannot be read now."""

from __future__ import annotations

from buhdesk.interfaces import SourceError

# Stable codes a human (and error.json) can rely on.
CODES = (
    "no_card",  # no card.xml / DocInfo.xml / passport.xml
    "unsupported_format",  # the card's root element or namespace is not one we read
    "unsupported_message",  # a native message that is not a document (report, receipt)
    "encoding",  # the card cannot be decoded in its declared encoding
    "xml_malformed",  # the XML is broken or cut short
    "xml_forbidden",  # DTD, entity declarations, external references
    "missing_field",  # a mandatory field is absent or empty
    "bad_value",  # a field does not hold what it must (date, size, role, …)
    "bad_reference",  # a file reference points to no resource
    "path_outside",  # a referenced path leaves the package
    "symlink",  # the package holds a symbolic link
    "special_file",  # the package holds a device, socket or pipe
    "name_undecodable",  # a file name is not valid text
    "file_missing",  # a referenced file is not in the package
    "size_mismatch",  # a file has another size than declared
    "hash_mismatch",  # a file has another SHA-256 than declared
    "too_many_files",
    "file_too_large",
    "package_too_large",
    "zip_invalid",  # damaged, encrypted or inconsistent zip
    "zip_bomb",  # compression ratio or unpacked size beyond the caps
    "envelope_missing",  # МЭДО envelope.ini absent
    "envelope_mismatch",  # envelope and passport disagree
)


class PackageError(Exception):
    """A package cannot be taken: ``code`` is stable, ``message`` is Russian and names the file."""

    def __init__(self, code: str, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.file = file

    def __repr__(self) -> str:
        return f"PackageError({self.code!r}, {self.message!r}, file={self.file!r})"


class DeloproUnavailable(SourceError):
    """The export folder cannot be listed or read now: no information, never "empty"."""
