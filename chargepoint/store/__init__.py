"""Durable state in sqlite3: transactions, the outbound queue, authorization, configuration."""
