"""The shared vocabularies: one definition each, used by the NLU, the dialog flows, the database CHECK
constraints, the rules and the reports (docs/ARCHITECTURE.md, "Vocabularies").

Each is a ``StrEnum``: members compare equal to their string values, so rows, JSON and CLI options keep
plain strings while code names the members. Adding a value here and a migration that widens the CHECK
constraint is all a new outcome or review reason needs.
"""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    """What one debtor utterance means (NLU output)."""

    AFFIRM = "affirm"
    DENY = "deny"
    WRONG_PERSON = "wrong_person"
    """Not the debtor: a wrong number, or the person says they are someone else."""
    NOT_AVAILABLE = "not_available"
    """A third party says the debtor is out or cannot come to the phone."""
    PROMISE_TO_PAY = "promise_to_pay"
    ALREADY_PAID = "already_paid"
    CANNOT_PAY = "cannot_pay"
    NEGOTIATE = "negotiate"
    AGENT = "agent"
    """Asks for a human; wins over other intents in the same sentence."""
    CALLBACK = "callback"
    OPT_OUT = "opt_out"
    REPEAT = "repeat"
    DISPUTE = "dispute"
    HOLD = "hold"
    """"Um momento, vou chamar ela": someone goes to fetch the debtor; the bot waits (identity question only)."""
    DECEASED = "deceased"
    """The debtor is reported dead."""
    UNREACHABLE_PERSON = "unreachable_person"
    """The debtor is reported imprisoned or otherwise out of reach for a long time."""
    REFUSE_DATA = "refuse_data"
    """Will not give verification data on the phone (never "cannot pay")."""
    ASK_ROBOT = "ask_robot"
    ASK_WHO = "ask_who"
    """"Quem fala? / de onde? / qual empresa? / quem deseja?": answered with the creditor's name only."""
    ASK_CNPJ = "ask_cnpj"
    ASK_SOURCE = "ask_source"
    """"Como conseguiram meu número?"."""
    ASK_PROTOCOL = "ask_protocol"
    ASK_SCAM = "ask_scam"
    """"Isso é golpe?" asked as a question: not a dispute unless the debt is denied."""
    ASK_AMOUNT = "ask_amount"
    """"Qual é o valor mesmo?": the amount and due date again (after identity only)."""
    TOO_MANY_CALLS = "too_many_calls"
    """"Vocês ligam todo dia": an apology and the choice to stop the calls."""
    UNKNOWN = "unknown"


QUESTION_INTENTS: frozenset[Intent] = frozenset(
    {
        Intent.ASK_ROBOT,
        Intent.ASK_WHO,
        Intent.ASK_CNPJ,
        Intent.ASK_SOURCE,
        Intent.ASK_PROTOCOL,
        Intent.ASK_SCAM,
        Intent.ASK_AMOUNT,
        Intent.TOO_MANY_CALLS,
    }
)
"""Questions answered at any point of the call, after which the call goes back to where it was."""


class Asked(StrEnum):
    """What the bot just asked: the context the NLU reads an answer in ("sim" to a date question, "três"
    to "em quantas vezes?", relation words to "é Maria quem fala?")."""

    IDENTITY = "identity"
    HOLD = "hold"
    """Waiting while someone fetches the debtor."""
    VERIFY = "verify"
    YES_NO = "yes_no"
    DATE = "date"
    AMOUNT = "amount"
    INSTALLMENTS = "installments"
    CALLBACK = "callback"
    OPEN = "open"


class Outcome(StrEnum):
    """One per attempt. Dialer outcomes come from AMI; dialog outcomes from the conversation."""

    # dialer
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    """Also: the call service could not be reached, or the media leg never connected."""
    VOICEMAIL = "voicemail"
    # dialog
    PROMISE_TO_PAY = "promise_to_pay"
    PROPOSAL = "proposal"
    """The debtor offered terms the policy does not allow (e.g. a date past the promise window): a person decides."""
    TRANSFERRED = "transferred"
    CALLBACK_SCHEDULED = "callback_scheduled"
    ALREADY_PAID = "already_paid"
    CANNOT_PAY = "cannot_pay"
    DISPUTE = "dispute"
    OPT_OUT = "opt_out"
    WRONG_PARTY = "wrong_party"
    NOT_AVAILABLE = "not_available"
    DECEASED = "deceased"
    """A third party reported the debtor's death: no debt detail said, every call held by a review."""
    UNREACHABLE_PERSON = "unreachable_person"
    """A third party reported the debtor cannot be reached for a long time (e.g. imprisoned): held by a review."""
    NO_RESPONSE = "no_response"
    HUNG_UP = "hung_up"


DIALER_OUTCOMES: tuple[Outcome, ...] = (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED, Outcome.VOICEMAIL)
DIALOG_OUTCOMES: tuple[Outcome, ...] = tuple(o for o in Outcome if o not in DIALER_OUTCOMES)

RIGHT_PARTY_OUTCOMES: tuple[Outcome, ...] = (
    Outcome.PROMISE_TO_PAY,
    Outcome.PROPOSAL,
    Outcome.TRANSFERRED,
    Outcome.CALLBACK_SCHEDULED,
    Outcome.ALREADY_PAID,
    Outcome.CANNOT_PAY,
    Outcome.DISPUTE,
    Outcome.OPT_OUT,
)
"""Outcomes that mean the debtor in person was reached (right-party contact)."""


class AttemptState(StrEnum):
    """The ledger's life of one attempt."""

    LEASED = "leased"
    DIALING = "dialing"
    ANSWERED = "answered"
    ENDED = "ended"


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    DONE = "done"


class ReviewReason(StrEnum):
    """Why a person must look at a debtor (docs/ARCHITECTURE.md, "The vocabularies")."""

    ALREADY_PAID = "already_paid"
    DISPUTE = "dispute"
    DECEASED = "deceased"
    UNREACHABLE_PERSON = "unreachable_person"
    PROPOSAL = "proposal"
    SCAM_SUSPICION = "scam_suspicion"
    VERIFICATION_REFUSED = "verification_refused"
    TRANSFER_FAILED = "transfer_failed"


HOLDING_REVIEW_REASONS: frozenset[ReviewReason] = frozenset(
    {
        ReviewReason.ALREADY_PAID,
        ReviewReason.DISPUTE,
        ReviewReason.DECEASED,
        ReviewReason.UNREACHABLE_PERSON,
        ReviewReason.PROPOSAL,
        ReviewReason.SCAM_SUSPICION,
    }
)
"""An open review of one of these holds every call to the debtor for the same creditor (CDC art. 42)."""


class ReviewState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
