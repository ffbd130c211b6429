"""The organizers' desk: a Telegram Mini App the bot serves, on the operations the chat uses."""
