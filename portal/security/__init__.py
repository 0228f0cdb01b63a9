"""Password hashing, protection of ID numbers, and HTTP security headers."""
