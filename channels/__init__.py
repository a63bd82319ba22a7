"""Channel adapters: each package knows one platform and nothing of routing or CRM."""
