"""The feedback service with the board read part by part (board_profile.per_part_board, the implementation before
one round trip): board_rpc_bench.py's same-run reference. A benchmark module only, never deployed."""
from __future__ import annotations

from board_profile import per_part_board

from feedback.service import FeedbackService
from feedback.usecases import board
from feedback.usecases.common import subject_of


def _per_part(uow, actor, manager_id=None):
    return per_part_board(uow, actor, manager_id or subject_of(actor))


board.team_board = _per_part  # the service calls board.team_board at call time

__all__ = ["FeedbackService"]
