"""The workspace server."""
