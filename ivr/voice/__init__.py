"""The webhooks Twilio calls during a call, each a thin view that returns a plan; answering.py
keeps the promise that a caller never hears an application error."""
