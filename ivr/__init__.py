"""Collections voice bot for Brazilian Portuguese on Asterisk."""
