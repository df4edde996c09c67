"""Twilio's side: its REST API, its webhooks' parameters and signatures, its call statuses,
its alerts, wiring a number, and a phone that calls the app the way Twilio would."""
