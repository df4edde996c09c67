"""The website's chat (/chat/): a person writes instead of calling. It walks the same menu as
a call, keeps conversations and their sealed messages, and gives operators the chats of their
languages to take, one operator each."""
