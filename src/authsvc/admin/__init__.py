"""Administration of users and service clients (contract: Admin)."""
