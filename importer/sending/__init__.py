"""Sending: payloads, the HTTP client, pacing, answers and the journal; no sheets, no results files."""
