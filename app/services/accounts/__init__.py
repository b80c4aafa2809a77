"""Who may do what: portal users, the login throttle, projects and API credentials."""
