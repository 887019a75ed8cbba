"""The sync platform's formats: the export file and its JSON Schema."""
