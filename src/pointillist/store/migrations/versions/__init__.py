"""Migration scripts, oldest first; each one names the revision it follows."""
