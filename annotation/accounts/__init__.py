"""Who may sign in and how: API tokens, and the lockout of repeated failed logins."""
