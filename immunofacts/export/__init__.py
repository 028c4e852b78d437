"""Exports other tools read as they are: tidy tables (CSV, SQLite), ClaimReview, citations."""
