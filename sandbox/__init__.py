"""A faithful local stand-in for LinkedIn's Lead Sync APIs (see README)."""
