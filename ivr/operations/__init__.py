"""Running it in production: health and readiness, metrics, logs with numbers masked,
retention and re-encrypting the phone numbers under a new key."""
