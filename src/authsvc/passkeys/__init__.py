"""Passkeys (WebAuthn Level 2, on py_webauthn): registration, passwordless sign-in, and a second
factor for the MFA grant and step-up."""
