"""Pack: assemble a signed evidence pack (build) and verify one offline (verify)."""
