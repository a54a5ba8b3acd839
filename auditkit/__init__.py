"""auditkit: offline PCI DSS v4.0.1 evidence auditing for container platforms.

Data flows one way: ingest -> store -> evaluate -> report -> sign/verify.
See ARCHITECTURE.md for the map of modules.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
