"""Masking personal data (objectors' and complainants' names and contacts) for those who may
know that someone objected or complained, but not who: 王五 → 王*, 13912345678 → 139****5678."""
from __future__ import annotations


def mask_name(name: str) -> str:
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_contact(contact: str) -> str:
    """A phone number keeps its first three and last four digits; anything shorter keeps one character."""
    contact = (contact or "").strip()
    if len(contact) >= 8:
        return contact[:3] + "****" + contact[-4:]
    return contact[:1] + "*" * max(len(contact) - 1, 1) if contact else ""
