"""The synthetic demo company, its personas and request history, and the local development server."""
