"""The unit manager (單位業務管理者): approving and deactivating their institution's users."""
