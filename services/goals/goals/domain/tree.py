"""The goal tree: company -> org unit -> person, any depth, across owners.

The tree is given as a mapping ``goal id -> parent id (or None)``. An id that appears only as a
parent (not as a key) is treated as outside the loaded part of the tree, so callers may pass just
the ancestor chain they loaded. All traversals are iterative: tree depth never hits the Python
recursion limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from goals.domain.decimals import ZERO, clamp01
from goals.domain.errors import Conflict, InvalidInput

Parents = Mapping[str, "str | None"]


class OwnerKind(StrEnum):
    PERSON = "person"
    ORG_UNIT = "org_unit"


@dataclass(frozen=True)
class Owner:
    kind: OwnerKind
    id: str


def _loop_error(start: str, parents: Parents) -> Conflict:
    """The error naming the loop reached by walking up from ``start`` (which must lead to one)."""
    path = [start]
    position = {start: 0}
    while (parent := parents.get(path[-1])) not in position:
        assert parent is not None, "the chain from start must loop"
        position[parent] = len(path)
        path.append(parent)
    return Conflict("the goal tree contains a cycle", field="parent_id", ids=path[position[parent] :])


def ancestors(goal_id: str, parents: Parents) -> list[str]:
    """Ancestors of ``goal_id``, nearest first. Raises Conflict (ids = the loop) if the chain loops."""
    chain: list[str] = []
    seen = {goal_id}
    current = parents.get(goal_id)
    while current is not None:
        if current in seen:
            raise _loop_error(goal_id, parents)
        chain.append(current)
        seen.add(current)
        current = parents.get(current)
    return chain


def check_reparent(goal_id: str, new_parent_id: str | None, parents: Parents) -> None:
    """Raise Conflict if making ``new_parent_id`` the parent of ``goal_id`` would close a loop.

    ``ids`` of the error is the loop: the goal, then the path from the new parent up to it.
    """
    if new_parent_id is None:
        return
    if new_parent_id == goal_id:
        raise Conflict("a goal cannot be its own parent", field="parent_id", ids=[goal_id])
    chain = ancestors(new_parent_id, parents)
    if goal_id in chain:
        path = [new_parent_id, *chain[: chain.index(goal_id)]]
        raise Conflict(
            f"goal {goal_id} is an ancestor of {new_parent_id}; re-parenting would make it its own ancestor",
            field="parent_id",
            ids=[goal_id, *path],
        )


def children_map(parents: Parents) -> dict[str, list[str]]:
    """Parent id -> sorted child ids (only parents that have children appear)."""
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    for ids in children.values():
        ids.sort()
    return children


def descendants(goal_id: str, parents: Parents) -> list[str]:
    """All goals below ``goal_id`` in pre-order (children sorted by id)."""
    children = children_map(parents)
    result: list[str] = []
    stack = list(reversed(children.get(goal_id, [])))
    seen = {goal_id}
    while stack:
        node = stack.pop()
        if node in seen:
            raise _loop_error(node, parents)
        seen.add(node)
        result.append(node)
        stack.extend(reversed(children.get(node, [])))
    return result


def roll_up(
    parents: Parents,
    own_progress: Mapping[str, Decimal],
    weights: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """Progress of every goal in ``parents``: leaves keep their own progress (0 when missing),
    a goal with children gets the weighted mean of its children's rolled-up progress.

    Children are weighted by ``weights`` (missing -> 0); when all children of a goal weigh 0 the
    plain mean is used, so a parent never loses its children's progress. Every result is in [0, 1]
    (inputs are clamped). Means are exact fractions, rounded to Decimal only on output, so a
    parent always lies between its children however deep the tree.
    """
    for goal_id, weight in weights.items():
        if weight < ZERO:
            raise InvalidInput(f"weights.{goal_id}", "must not be negative", ids=[goal_id])
    children = children_map(parents)
    exact: dict[str, Fraction] = {}
    roots = [g for g, p in parents.items() if p is None or p not in parents]
    # Post-order without recursion: a node is computed once all its children are.
    stack: list[tuple[str, bool]] = [(root, False) for root in sorted(roots, reverse=True)]
    while stack:
        node, expanded = stack.pop()
        kids = children.get(node, [])
        if not kids:
            exact[node] = Fraction(clamp01(own_progress.get(node, ZERO)))
        elif expanded:
            pairs = [(Fraction(weights.get(k, ZERO)), exact[k]) for k in kids]
            if not any(w for w, _ in pairs):
                pairs = [(Fraction(1), p) for _, p in pairs]
            exact[node] = sum((w * p for w, p in pairs), Fraction(0)) / sum((w for w, _ in pairs), Fraction(0))
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
    if len(exact) != len(parents):
        # A goal no root reaches sits on, or hangs below, a loop.
        raise _loop_error(min(set(parents) - set(exact)), parents)
    return {node: Decimal(value.numerator) / Decimal(value.denominator) for node, value in exact.items()}
