"""What a run looks like from its files: diagnosis of the training signals (and, later, the HTML report)."""
