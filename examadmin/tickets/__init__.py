"""Admission tickets (准考证), room materials, check-in on exam day and the test-exam list."""
