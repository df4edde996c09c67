"""The Telegram bot: a person writes to the line from Telegram, walks the same journey as the
website's chat (ivr/chat) with reply keyboards, and talks to an operator in the same
conversations on the operators' page. Their Telegram id is kept like a phone number."""
