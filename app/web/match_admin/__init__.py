"""Staff pages for running matches: the match list, bulk scheduling, the match control page."""
