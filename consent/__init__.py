"""Consent ledger, derived consent state, the template gate and consent forms."""
