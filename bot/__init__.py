"""The Telegram service around the knowledge engine: settings, dialogue, state, rendering."""
