"""The portal administrator: staff accounts and the audit trail."""
