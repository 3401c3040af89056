"""The case workflow as data in one place: states, the allowed moves, and which need the lead's approval."""

from .choices import ApprovalKind, State

S = State
# (from, to) → the approval kind it needs, or None. Nothing else is allowed.
TRANSITIONS = {
    (S.INTAKE, S.ASSESSMENT): None,
    (S.ASSESSMENT, S.PLAN): None,
    (S.ASSESSMENT, S.INTAKE): None,
    (S.PLAN, S.IMPLEMENTATION): None,
    (S.PLAN, S.ASSESSMENT): None,
    (S.IMPLEMENTATION, S.REVIEW): None,
    (S.IMPLEMENTATION, S.PLAN): None,
    (S.REVIEW, S.IMPLEMENTATION): None,
    (S.REVIEW, S.PLAN): None,
    (S.REVIEW, S.ASSESSMENT): None,
    # Closing: normally after review; from intake or assessment when no protection need is found.
    (S.INTAKE, S.CLOSED): ApprovalKind.CLOSE,
    (S.ASSESSMENT, S.CLOSED): ApprovalKind.CLOSE,
    (S.REVIEW, S.CLOSED): ApprovalKind.CLOSE,
    # Reopening starts again with an assessment.
    (S.CLOSED, S.ASSESSMENT): ApprovalKind.REOPEN,
}

# Where an approved request takes the case.
APPROVAL_TARGET = {ApprovalKind.CLOSE: S.CLOSED, ApprovalKind.REOPEN: S.ASSESSMENT}


def moves_from(state) -> list[State]:
    """States reachable without approval."""
    return [to for (frm, to), kind in TRANSITIONS.items() if frm == state and kind is None]


def approval_kind_from(state):
    """The approval kind a case in ``state`` may request (close or reopen), or None."""
    for (frm, _to), kind in TRANSITIONS.items():
        if frm == state and kind is not None:
            return kind
    return None
