"""What a caller hears: the menu file, the journey through it, the prompts and their
recordings, and the plans that become TwiML."""
