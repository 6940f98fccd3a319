"""Feedback kinds besides rankings (issue 11): scoring projects, edits, harm flags and dual preference.

settings.py checks the project settings, submission.py the fields of a submission, rows.py builds the
export rows (edit, rating and safe-rlhf pairs, SFT rows). Pure where it can be: no view imports here."""
