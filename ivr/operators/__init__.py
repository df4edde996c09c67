"""The operators' desk: accounts, who is on duty, ringing operators for waiting callers,
claims, call backs, the audit log and the figures. Their web page is web/, and nothing but
the app factory imports it."""
