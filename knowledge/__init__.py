"""The policy knowledge base: data files, validation, regions, vocabulary and search.

This package knows nothing of Telegram or Redis: the bot, the console chat and the
tests all reach it through plain function calls.
"""
