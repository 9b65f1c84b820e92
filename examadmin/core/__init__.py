"""What every area uses, and nothing area-specific."""
