"""Shared fixtures. Area-specific fixtures live in tests/<area>/conftest.py or named fixture modules."""
