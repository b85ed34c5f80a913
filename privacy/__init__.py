"""Privacy primitives: keys, pseudonymisation, scrubbing, vault, consent, DP (see DESIGN.md)."""

from privacy._keyring import SIGNING_KEY_ENV, load_or_create_signing_key, signing_key_path

__all__ = ["SIGNING_KEY_ENV", "load_or_create_signing_key", "signing_key_path"]
