"""Redis key names of the consent package.

Every key of one business number (`phone_number_id`) carries the hash tag `{<phone_number_id>}`.
The ledger of a business number is one hash chain, so every append to it is serialised
anyway; keeping the chain, the per-contact state and the decision log in one Redis Cluster
slot lets one Lua script change all of them atomically. Contacts appear in key names only
as a subject id (a keyed hash of the E.164 number), never as a phone number.
"""

from __future__ import annotations


class ConsentKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def _tagged(self, business: str, suffix: str) -> str:
        return f"{self.prefix}consent:{{{business}}}:{suffix}"

    # Ledger of one business number.

    def ledger(self, business: str) -> str:
        """List of chained events as canonical JSON; an event's `seq` is its list index."""
        return self._tagged(business, "ledger")

    def ledger_head(self, business: str) -> str:
        """`<seq>:<event_hash>` of the newest event; absent before the first one."""
        return self._tagged(business, "ledger:head")

    def event_index(self, business: str) -> str:
        """Hash: event id -> seq."""
        return self._tagged(business, "ledger:index")

    def subject_events(self, business: str, subject: str) -> str:
        """List of the seqs of one contact's events, oldest first."""
        return self._tagged(business, f"subject:{subject}:events")

    def state(self, business: str, subject: str) -> str:
        """Hash: `<channel>:<purpose>` -> `<state>|<event_id>|<since_ms>`."""
        return self._tagged(business, f"subject:{subject}:state")

    def personal(self, business: str, subject: str) -> str:
        """Hash: event id -> JSON of the erasable personal fields and the salt of their digests."""
        return self._tagged(business, f"subject:{subject}:personal")

    def idempotency(self, business: str, token: str) -> str:
        """JSON list of the event ids written for one piece of evidence (a wamid, a webhook)."""
        return self._tagged(business, f"idem:{token}")

    def user_subject(self, business: str, user_id_digest: str) -> str:
        """Subject id of a business-scoped user id (username users arrive without a wa_id)."""
        return self._tagged(business, f"user:{user_id_digest}")

    def outbox(self, business: str) -> str:
        """Stream of new event ids, read by the CRM webhook sender."""
        return self._tagged(business, "outbox")

    def pending(self, business: str) -> str:
        """Sorted set of `<subject>:<purpose>:<given_event_id>` by confirmation deadline."""
        return self._tagged(business, "pending")

    def code(self, business: str, code: str) -> str:
        """JSON of a one-time opt-in code: subject, purposes and given event ids, deadline."""
        return self._tagged(business, f"code:{code}")

    def reply_sent(self, business: str, token: str) -> str:
        """Marker that the confirmation reply for one inbound wamid went out."""
        return self._tagged(business, f"replied:{token}")

    # Decision log of one business number.

    def decisions(self, business: str) -> str:
        """List of chained gate decisions as canonical JSON."""
        return self._tagged(business, "decisions")

    def decisions_head(self, business: str) -> str:
        return self._tagged(business, "decisions:head")

    def relied_on(self, business: str, event_id: str) -> str:
        """List of the seqs of allowed decisions that relied on one consent event."""
        return self._tagged(business, f"relied:{event_id}")

    # Global keys.

    @property
    def businesses(self) -> str:
        """Set of the business numbers that have a ledger."""
        return f"{self.prefix}consent:businesses"

    @property
    def suppressed(self) -> str:
        """Hash: subject id -> erasure time (ms); erased subjects keep being suppressed."""
        return f"{self.prefix}consent:suppressed"

    @property
    def texts(self) -> str:
        """Hash: text version id -> JSON of the immutable version."""
        return f"{self.prefix}consent:texts"

    @property
    def current_texts(self) -> str:
        """Hash: `<purpose>:<language>` -> current version id."""
        return f"{self.prefix}consent:texts:current"

    @property
    def text_counters(self) -> str:
        """Hash: `<purpose>:<language>` -> number of versions created."""
        return f"{self.prefix}consent:texts:counters"

    @property
    def template_categories(self) -> str:
        """Hash: template name -> Meta's current category."""
        return f"{self.prefix}consent:templates"

    @property
    def forms(self) -> str:
        """Hash: form id -> JSON of the form's purposes, business number and capture source."""
        return f"{self.prefix}consent:forms"

    @property
    def secret(self) -> str:
        """Generated secret for subject ids and form tokens when none is configured."""
        return f"{self.prefix}consent:secret"

    def form_nonce(self, nonce: str) -> str:
        """Marker that a form token was used once."""
        return f"{self.prefix}consent:form:nonce:{nonce}"

    def rate(self, scope: str, key: str, window: int) -> str:
        """Counter of one rate-limit window."""
        return f"{self.prefix}consent:rate:{scope}:{key}:{window}"

    @property
    def crm_cursor(self) -> str:
        """Hash: business number -> last outbox entry id acknowledged by the CRM endpoint."""
        return f"{self.prefix}consent:crm:cursor"
