"""Scheduling services, split by topic: seats (排考), ticket_numbers (准考证号), proctors (监考人员)."""
