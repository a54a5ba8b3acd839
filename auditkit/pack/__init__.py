"""The evidence pack: signing keys, PDF signature, signed manifest, archive, verify."""
