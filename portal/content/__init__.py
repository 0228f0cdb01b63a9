"""Public pages: home, announcements, downloads, Q&A, guides."""
