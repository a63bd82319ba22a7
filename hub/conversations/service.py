"""``Conversations``: the one face the rest of the hub and the packages see, composed of the
focused parts of this package (queries, posting, capacity, offers, moves, closing) over one
``Transitions``. It holds no logic of its own: each method is a part's, so callers keep one
object and each part stays small enough to read."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.conversations.capacity import Capacity
from hub.conversations.closing import Closing
from hub.conversations.moves import Moves
from hub.conversations.offers import Offers
from hub.conversations.posting import MAX_TEXT, Notices, Posting
from hub.conversations.queries import OPEN, Queries
from hub.conversations.sla import SlaClocks
from hub.conversations.transitions import Transitions
from hub.events import EventBus
from hub.files import Files
from hub.store import Store

if TYPE_CHECKING:  # the stream imports the transitions of this package: no cycle at run time
    from hub.stream import Stream

__all__ = ["MAX_TEXT", "OPEN", "Conversations"]

log = logging.getLogger("openlines.conversations")


class Conversations:
    """What staff and the system do with conversations, behind one set of access checks
    shared by REST and Socket.IO. The methods are the parts' own (bound here once)."""

    def __init__(self, store: Store, stream: Stream, bus: EventBus, files: Files) -> None:
        self.transitions = Transitions(store, bus)
        self.queries = Queries(store, stream)
        self.notices = Notices(stream, self.transitions)
        self.capacity = Capacity(store, self.transitions)
        self.offers = Offers(self.transitions, self.queries, self.capacity, self.notices)
        self.posting = Posting(self.queries, stream, files, self.offers.accept)
        self.moves = Moves(store, self.transitions, self.queries, self.notices, self.capacity)
        self.closing = Closing(store, self.transitions, self.queries)
        # response-time clocks (started and stopped by routing/sla.py)
        self.sla = SlaClocks(self.transitions)
        # the one change path (the CRM reaches it through the hub)
        self.transition = self.transitions.apply
        # reading
        self.load = self.queries.load
        self.line = self.queries.line
        self.get = self.queries.get
        self.search = self.queries.search
        self.messages = self.queries.messages
        # writing
        self.post = self.posting.post
        self.note = self.notices.note
        self.say = self.notices.say
        self.claim_after_hours = self.notices.claim_after_hours
        self.claim_queue_notice = self.notices.claim_queue_notice
        # capacity slots
        self.release_slot = self.capacity.release_slot
        # offers and assignment
        self.offer = self.offers.offer
        self.expire_offer = self.offers.expire_offer
        self.accept = self.offers.accept
        self.assign = self.offers.assign
        # moves
        self.transfer_to_user = self.moves.transfer_to_user
        self.transfer_to_line = self.moves.transfer_to_line
        self.return_to_queue = self.moves.return_to_queue
        self.invite = self.moves.invite
        self.join = self.moves.join
        self.take_over = self.moves.take_over
        self.cancel_transfer = self.moves.cancel_transfer
        self.leave = self.moves.leave
        self.pin = self.moves.pin
        self.time_answer = self.moves.time_answer
        self.pass_unanswered = self.moves.pass_unanswered
        self.pinned_operator = self.moves.pinned_operator
        # closing
        self.close = self.closing.close
        self.close_by_system = self.closing.close_by_system
        self.submit_csat = self.closing.submit_csat
        self.expire_csat = self.closing.expire_csat
