"""Alerts when the trader is away: which events deserve a message (alerts.py), and the channels
(telegram.py, webhook.py) a dispatcher (dispatcher.py) delivers them to without ever blocking trading."""
