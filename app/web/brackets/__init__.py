"""Bracket pages: generate, seed, rate and publish a tournament's bracket; the public drawing."""
