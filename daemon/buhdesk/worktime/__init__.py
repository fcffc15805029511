"""Working time: the Russian production calendar, working hours and deadlines."""
