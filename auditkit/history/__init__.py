"""Across runs: diff, remediation plan, assessor samples, deadlines met."""
