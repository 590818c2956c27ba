"""Custom Rasa NLU components for Chinese shopping text."""
