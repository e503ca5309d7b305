"""Sign-in, sign-out and failed sign-in, from Django's auth signals (filled in by the audit part)."""
