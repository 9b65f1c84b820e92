"""Operations of the exam area, by topic: `plans` (subjects, plans, fees, sessions) and
`rooms` (exam rooms and their seats). Every rule lives in these modules."""
