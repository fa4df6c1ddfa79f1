"""Business logic of the annotation app; routes and the CLI call these, never the ORM directly."""
