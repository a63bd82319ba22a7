"""The operator console: its ``/operator`` Socket.IO namespace (and, later, the web app)."""
