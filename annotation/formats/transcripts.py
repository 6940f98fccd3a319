"""Conversations as HH-RLHF transcripts (the `trl-standard`, `hh-rlhf` and `safe-rlhf` exports share it)."""

TRANSCRIPT_ROLES = {"system": "System", "user": "Human", "assistant": "Assistant"}


def transcript(messages: list[dict[str, str]]) -> str:
    """A conversation as an HH-RLHF transcript ending with the assistant's turn to speak."""
    turns = "".join(f"\n\n{TRANSCRIPT_ROLES[m['role']]}: {m['content']}" for m in messages)
    return turns + "\n\nAssistant:"
