"""The call log: every leg Twilio told us of in `calls`, every webhook in `call_events`,
written by a background thread so that no caller waits on it."""
