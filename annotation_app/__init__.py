"""The annotation app: browser labelling, the voting ladder, people and groups, import and export."""
