"""X.509 helpers for the PDF signing chain: issuer checks and the manifest-key binding.

Pure ``cryptography`` code, shared by key generation and PDF signing/validation.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature

#: subjectAltName URI prefix in the leaf certificate that names the manifest key.
BINDING_URI_PREFIX = "urn:auditkit:manifest-key:sha256:"


def manifest_key_binding(cert: x509.Certificate) -> str | None:
    """Return the manifest-key fingerprint a leaf certificate vouches for, if any.

    Returns ``None`` when the certificate has no binding URI; a certificate
    with several different binding URIs is treated as having none.
    """
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    found = {
        uri[len(BINDING_URI_PREFIX) :]
        for uri in san.value.get_values_for_type(x509.UniformResourceIdentifier)
        if uri.startswith(BINDING_URI_PREFIX)
    }
    if len(found) != 1:
        return None
    return found.pop()


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key signed ``cert`` (names and signature checked)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_self_signed_ca(cert: x509.Certificate) -> bool:
    """True for a self-signed certificate with BasicConstraints CA=true."""
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
    return bool(ca) and issued_by(cert, cert)


def has_signing_key_usage(cert: x509.Certificate) -> bool:
    """True when the certificate allows digitalSignature and nonRepudiation."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bool(usage.digital_signature and usage.content_commitment)
