"""Sending: payloads, the HTTP client, pacing, answers, the journal; no sheets or results."""
