"""Match pages: the match everyone sees, the two sides' actions, my matches, notifications."""
