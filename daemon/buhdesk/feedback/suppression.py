"""Small-group suppression for survey figures (order 76, §5.2): a group with fewer answers than
the threshold is hidden, and complementary suppression hides more, so that no hidden group can be
computed from its parent's total minus the shown siblings, nor a hidden parent from its children.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Self


@dataclass
class Node:
    """A group in a hierarchy of totals (quarter → process → channel)."""

    label: str
    n: int
    children: list[Self] = field(default_factory=list)  # groups of the same kind
    hidden: bool = False
    primary: bool = False  # hidden because it is small (not only to protect another group)

    def walk(self) -> Iterator[Self]:
        yield self
        for child in self.children:
            yield from child.walk()


def suppress(root: Node, threshold: int) -> None:
    """Mark small groups hidden, then hide more until nothing hidden can be derived."""
    for node in root.walk():
        node.primary = node.hidden = 0 < node.n < threshold
    changed = True
    while changed:
        changed = any(_protect(node) for node in root.walk())


def _protect(node: Node) -> bool:
    """One rule, applied to one parent; True if it hid something."""
    if not node.children:
        return False
    hidden = [c for c in node.children if c.hidden]
    shown = sorted((c for c in node.children if not c.hidden), key=lambda c: (c.n, c.label))
    if node.hidden and shown and not hidden:
        shown[0].hidden = True  # else the hidden parent is the sum of its shown children
        return True
    if not node.hidden and len(hidden) == 1:
        if shown:
            shown[0].hidden = True  # else the hidden child is the parent minus its siblings
        else:
            node.hidden = True  # an only child equals its parent
        return True
    return False
