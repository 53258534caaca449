"""The operator console: web pages served by the bot's own aiohttp app (see setup.py)."""
