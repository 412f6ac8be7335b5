"""Adapters: Slack (Bolt, HTTP and Socket Mode), the local console, the HTTP server and the CLI."""
