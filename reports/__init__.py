"""What a user gets per task: the action log, the CSV report and the JSON export file."""
