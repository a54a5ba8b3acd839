"""Signing: keys, the PAdES PDF signature, the DSSE manifest, the pack container."""
