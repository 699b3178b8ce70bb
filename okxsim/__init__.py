"""A local stand-in for OKX v5 (REST + public WebSocket on one port), wire-compatible with the real exchange."""
