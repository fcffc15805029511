"""«ДелоПро» export-folder connector: packages in (card.xml, ЭОС СЭВ, МЭДО), answers out."""

from .answer import AnswerPackage, InReplyTo
from .card import Card, CardFile, Link, Person, Resolution
from .errors import DeloproUnavailable, PackageError
from .folder import ClaimedPackage, DeloproFolder, PackageRef
from .package import load_package
from .receipts import Receipt
from .safety import Limits

__all__ = [
    "AnswerPackage",
    "Card",
    "CardFile",
    "ClaimedPackage",
    "DeloproFolder",
    "DeloproUnavailable",
    "InReplyTo",
    "Limits",
    "Link",
    "PackageError",
    "PackageRef",
    "Person",
    "Receipt",
    "Resolution",
    "load_package",
]
