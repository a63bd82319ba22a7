"""The website chat widget: its channel adapter and its ``/widget`` Socket.IO namespace."""
