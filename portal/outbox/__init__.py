"""The outbox: e-mail written in the transaction that decides to send it, sent by the worker."""
